from __future__ import annotations

import time

import pytest
from django.core.cache import cache

from config import health


def test_healthz_needs_no_sign_in_and_reveals_no_records(anonymous, db, settings):
    settings.REDIS_URL = ""
    response = anonymous.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["broker"] == {"ok": True, "mode": "in-process"}
    assert body["worker"]["mode"] == "in-process"
    assert set(body) == {"status", "database", "broker", "worker"}
    assert response["Cache-Control"].startswith("max-age=0")


def test_healthz_reports_an_unreachable_broker(anonymous, db, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = anonymous.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["broker"]["ok"] is False
    assert body["worker"]["ok"] is False


@pytest.mark.external
def test_healthz_reports_a_stale_heartbeat_on_redis(anonymous, db, settings):
    assert settings.REDIS_URL, "this test needs REDIS_URL (make test sets it)"
    health.record_heartbeat(now=time.time() - settings.JIGSAW_HEARTBEAT_MAX_AGE_SECONDS - 60)
    body = anonymous.get("/healthz").json()
    assert body["broker"] == {"ok": True, "mode": "redis"}
    assert body["worker"]["ok"] is False
    assert body["worker"]["heartbeat_age_seconds"] > settings.JIGSAW_HEARTBEAT_MAX_AGE_SECONDS

    cache.delete(health.HEARTBEAT_KEY)
    body = anonymous.get("/healthz").json()
    assert body["worker"]["error"] == "no heartbeat yet"
