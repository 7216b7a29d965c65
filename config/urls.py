from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from config import health, views

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("accessibility", views.accessibility, name="accessibility"),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("", include("agencies.urls")),
    path("", include("chronology.urls")),
    path("", include("thresholds.urls")),
    path("", include("escalation.urls")),
    path("", include("coregroups.urls")),
]

handler404 = "api.base.not_found"
handler500 = "api.base.server_error"
