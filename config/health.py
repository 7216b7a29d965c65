"""`/healthz`: is the database answering, is the broker answering, when did a worker last run a task.

It reveals nothing about any child or user, so it needs no sign-in; a load balancer and the
container health checks call it. It answers 200 when all is well and 503 otherwise.
"""

from __future__ import annotations

import time
from typing import Any

import redis
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

HEARTBEAT_KEY = "worker-heartbeat"


def record_heartbeat(*, now: float | None = None) -> float:
    connection.ensure_connection()
    stamp = time.time() if now is None else now
    cache.set(HEARTBEAT_KEY, stamp, timeout=None)
    return stamp


def _check_database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return {"ok": False, "vendor": connection.vendor, "error": type(exc).__name__}
    return {"ok": True, "vendor": connection.vendor}


def _check_broker() -> dict[str, Any]:
    if not settings.REDIS_URL:
        return {"ok": True, "mode": "in-process"}
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
    except redis.RedisError as exc:
        return {"ok": False, "mode": "redis", "error": type(exc).__name__}
    return {"ok": True, "mode": "redis"}


def _check_worker(broker_ok: bool) -> dict[str, Any]:
    if not settings.REDIS_URL:
        return {"ok": True, "mode": "in-process", "heartbeat_age_seconds": None}
    if not broker_ok:
        return {"ok": False, "mode": "celery", "heartbeat_age_seconds": None, "error": "broker unreachable"}
    stamp = cache.get(HEARTBEAT_KEY)
    if stamp is None:
        return {"ok": False, "mode": "celery", "heartbeat_age_seconds": None, "error": "no heartbeat yet"}
    age = max(0.0, time.time() - float(stamp))
    limit = settings.JIGSAW_HEARTBEAT_MAX_AGE_SECONDS
    return {"ok": age <= limit, "mode": "celery", "heartbeat_age_seconds": round(age, 1), "max_age": limit}


@login_not_required
@never_cache
@require_GET
def healthz(request):
    database = _check_database()
    broker = _check_broker()
    worker = _check_worker(broker["ok"])
    ok = database["ok"] and broker["ok"] and worker["ok"]
    body = {"status": "ok" if ok else "unhealthy", "database": database, "broker": broker, "worker": worker}
    return JsonResponse(body, status=200 if ok else 503)
