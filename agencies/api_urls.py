"""This app's REST API endpoints, under /api/v1/."""

from __future__ import annotations

from django.urls import path

from agencies import api

urlpatterns = [
    path("access-log", api.AccessLogList.as_view(), name="api-access-log"),
]
