"""This app's REST API endpoints, under /api/v1/."""

from __future__ import annotations

urlpatterns: list = []
