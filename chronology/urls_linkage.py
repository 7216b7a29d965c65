"""Likely matches, merges and unmerges. Included from chronology/urls.py."""

from __future__ import annotations

from django.urls import path

from chronology import linkage_views

urlpatterns = [
    path("children/matches", linkage_views.match_review, name="match-review"),
    path("children/<int:child_id>/merges", linkage_views.child_merges, name="child-merges"),
]
