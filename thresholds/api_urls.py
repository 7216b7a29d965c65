"""This app's REST API endpoints, under /api/v1/."""

from __future__ import annotations

from django.urls import path

from thresholds import api

urlpatterns = [
    path("children/<int:child_id>/assessment", api.ChildAssessment.as_view(), name="api-assessment"),
    path("children/<int:child_id>/timeline", api.ChildTimeline.as_view(), name="api-timeline"),
]
