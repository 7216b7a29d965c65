"""Batch import of exchange documents through the REST API, under /api/v1/."""

from __future__ import annotations

urlpatterns: list = []
