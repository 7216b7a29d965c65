from __future__ import annotations

from django.urls import path

from thresholds import views

urlpatterns = [
    path("thresholds/report", views.thresholds_report, name="thresholds-report"),
]
