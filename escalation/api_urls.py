"""This app's REST API endpoints, under /api/v1/."""

from __future__ import annotations

from django.urls import path

from escalation import api

urlpatterns = [
    path("alerts", api.AlertList.as_view(), name="api-alerts"),
    path("alerts/<int:alert_id>/acknowledgement", api.AlertAcknowledge.as_view(), name="api-alert-acknowledge"),
]
