"""The chronology's REST API endpoints, under /api/v1/."""

from __future__ import annotations

from django.urls import path

from chronology import api

urlpatterns = [
    path("children", api.ChildSearch.as_view(), name="api-children"),
    path("children/<int:child_id>", api.ChildDetail.as_view(), name="api-child-detail"),
    # GET: the chronology; POST: record an event on it.
    path("children/<int:child_id>/events", api.ChildEvents.as_view(), name="api-chronology"),
    path("events/<int:event_id>", api.EventDetail.as_view(), name="api-event-detail"),
    path("events/<int:event_id>/amendments", api.EventAmendments.as_view(), name="api-event-amend"),
]
