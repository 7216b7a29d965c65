"""/api/: the versioned endpoints under /api/v1/, the OpenAPI schema and its readable page (assets served here)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

v1 = [
    path("", include("chronology.api_urls")),
    path("", include("thresholds.api_urls")),
    path("", include("escalation.api_urls")),
    path("", include("agencies.api_urls")),
]

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", login_not_required(SpectacularAPIView.as_view()), name="api-schema"),
    path("docs/", login_not_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")), name="api-docs"),
]
