from __future__ import annotations

import time

import pytest
from celery.exceptions import TimeoutError as CeleryTimeout
from django.core.cache import cache

from config import health
from config.tasks import worker_heartbeat

pytestmark = pytest.mark.external


def test_a_real_worker_runs_the_heartbeat_and_healthz_sees_it(celery_worker_process, anonymous, db):
    process, log = celery_worker_process
    cache.delete(health.HEARTBEAT_KEY)
    before = time.time()
    result = worker_heartbeat.delay()
    try:
        stamp = result.get(timeout=90)
    except CeleryTimeout:
        pytest.fail(f"the worker ran no heartbeat (alive: {process.poll() is None}):\n{log.read_text()[-3000:]}")
    assert stamp >= before
    assert cache.get(health.HEARTBEAT_KEY) == stamp

    response = anonymous.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["broker"] == {"ok": True, "mode": "redis"}
    assert body["worker"]["ok"] is True
    assert body["worker"]["heartbeat_age_seconds"] < 90


def test_beat_schedules_the_heartbeat_often_enough():
    from config.celery import app

    entry = app.conf.beat_schedule["worker-heartbeat"]
    assert entry["task"] == worker_heartbeat.name
    from django.conf import settings

    assert entry["schedule"] * 2 <= settings.JIGSAW_HEARTBEAT_MAX_AGE_SECONDS
