"""The chronology's REST API endpoints, under /api/v1/."""

from __future__ import annotations

from django.urls import path

from chronology import api

urlpatterns = [
    path("children/<int:child_id>", api.ChildDetail.as_view(), name="api-child-detail"),
]
