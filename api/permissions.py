"""Scopes: a key with only the read scope reads; writing needs the write scope. The access policy decides the
rest, for the acting person, in the selectors and services every view calls."""

from __future__ import annotations

from rest_framework import permissions

from agencies.models import ApiKey, ApiScope

READS = {"GET", "HEAD", "OPTIONS"}


class ScopeAllows(permissions.BasePermission):
    message = "This API key's scope does not allow it."

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        key = request.auth
        if not isinstance(key, ApiKey):
            return True  # the browser's own session: the access policy alone decides
        needed = ApiScope.READ if request.method in READS and not getattr(view, "writes", False) else ApiScope.WRITE
        if needed not in key.scopes:
            self.message = f"This API key has no {needed} scope."
            return False
        return True
