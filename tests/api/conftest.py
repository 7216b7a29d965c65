"""The REST API as agencies' systems call it: a real key in the Authorization header and X-Acting-User."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from agencies.apikeys import api_key_create


class AgencySystem:
    """An agency's system: its key, calling on behalf of one person at a time."""

    def __init__(self, agency, scopes=("read", "write")):
        self.api_key, self.key = api_key_create(agency=agency, name=f"{agency.name} system", scopes=list(scopes))
        self.client = APIClient()

    def headers(self, acting, extra=None) -> dict:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {self.key}"}
        if acting is not None:
            headers["HTTP_X_ACTING_USER"] = getattr(acting, "username", acting)
        for name, value in (extra or {}).items():
            headers["HTTP_" + name.upper().replace("-", "_")] = value
        return headers

    def get(self, url, *, acting, params=None, headers=None):
        return self.client.get(url, params or {}, **self.headers(acting, headers))

    def post(self, url, body=None, *, acting, headers=None, raw: bytes | None = None):
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.generic("POST", url, data, content_type="application/json", **self.headers(acting, headers))


@pytest.fixture
def system_a(alice):
    """Agency A's system (alice's agency), with read and write scopes."""
    return AgencySystem(alice.agency)


@pytest.fixture
def system_a_read_only(alice):
    return AgencySystem(alice.agency, scopes=("read",))


@pytest.fixture
def system_b(bob):
    """Agency B's system (bob's agency: no involvement with kit)."""
    return AgencySystem(bob.agency)
