"""Batch import of exchange documents through the REST API, under /api/v1/."""

from __future__ import annotations

from django.urls import path

from chronology import api_batch

urlpatterns = [
    path("imports", api_batch.ImportCreate.as_view(), name="api-import-create"),
    path("imports/<uuid:import_id>", api_batch.ImportDetail.as_view(), name="api-import-detail"),
]
