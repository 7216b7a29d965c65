"""Throttling per API key (the key's own rate, or JIGSAW_API_RATE), and per user for the browser's calls."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from agencies.models import ApiKey


class PerKeyThrottle(SimpleRateThrottle):
    scope = "api"

    def allow_request(self, request, view):
        key = request.auth
        self.rate = (key.rate if isinstance(key, ApiKey) and key.rate else None) or settings.JIGSAW_API_RATE
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_rate(self):
        return settings.JIGSAW_API_RATE

    def get_cache_key(self, request, view):
        key = request.auth
        ident = f"key:{key.pk}" if isinstance(key, ApiKey) else f"user:{request.user.pk}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
