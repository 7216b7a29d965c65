from __future__ import annotations

from django.urls import path

from thresholds import views

urlpatterns = [
    path("thresholds/report", views.thresholds_report, name="thresholds-report"),
    path("children/<int:child_id>/indicated-level", views.level_history_page, name="level-history"),
]
