"""/api/: the versioned endpoints under /api/v1/, the OpenAPI schema and its readable page (assets served here)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.utils.csp import CSP
from django.views.decorators.csp import csp_override
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

v1 = [
    path("", include("chronology.api_urls")),
    path("", include("chronology.api_batch_urls")),
    path("", include("thresholds.api_urls")),
    path("", include("escalation.api_urls")),
    path("", include("agencies.api_urls")),
]

docs = SpectacularSwaggerSplitView.as_view(url_name="api-schema")
# Swagger UI sets style attributes from its script: the page may, and only this page. Scripts stay 'self'.
DOCS_CSP = {**settings.SECURE_CSP, "style-src": [CSP.SELF, CSP.UNSAFE_INLINE]}

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", login_not_required(SpectacularAPIView.as_view()), name="api-schema"),
    path("docs/", login_not_required(csp_override(DOCS_CSP)(docs)), name="api-docs"),
]
