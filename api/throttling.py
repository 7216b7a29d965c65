"""Throttling per API key (the key's own rate, or JIGSAW_API_RATE), and per person for the browser's calls.

A counter per caller and fixed window (Redis INCR in production): constant work per call whatever the rate.
DRF's own throttle keeps a list of every call's time in the window, which at hundreds of calls a second costs
more than the call it guards. A fixed window lets a caller reach at most twice the rate across a window's edge.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from agencies.models import ApiKey

_parse = SimpleRateThrottle.parse_rate


class PerKeyThrottle(BaseThrottle):
    def allow_request(self, request, view) -> bool:
        key = request.auth
        ident = f"key:{key.pk}" if isinstance(key, ApiKey) else f"user:{request.user.pk}"
        window = throttle_window(ident, key.rate if isinstance(key, ApiKey) else "")
        self.duration, self.retry_after = window.duration, window.retry_after
        return _count(window.counter, window.ttl) <= window.allowed

    def wait(self) -> float:
        return max(1.0, self.retry_after)


@dataclass(frozen=True)
class Window:
    counter: str  # the cache key counting this caller's calls in the current window
    allowed: int
    duration: int
    ttl: int
    retry_after: float


def throttle_window(ident: str, rate: str) -> Window:
    """The current window of a caller's rate (`rate`, or JIGSAW_API_RATE when empty). api.reads counts in it too."""
    allowed, duration = _parse(None, rate or settings.JIGSAW_API_RATE)
    now = time.time()
    window = int(now // duration)
    return Window(
        counter=f"api-throttle:{ident}:{duration}:{window}",
        allowed=allowed,
        duration=duration,
        ttl=duration + 1,
        retry_after=(window + 1) * duration - now,
    )


_redis_client = None


def redis_client():
    """The default cache's Redis client, kept for the process; None when the cache is not Redis."""
    global _redis_client
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return None
    if _redis_client is None:
        _redis_client = backend._cache.get_client(write=True)
    return _redis_client


def _count(counter: str, ttl: int) -> int:
    """This call's number in its window. With Redis, one round trip (INCR, and the expiry set once) on a client
    kept for the process; otherwise the cache's add and incr."""
    client = redis_client()
    if client is not None:
        key = caches["default"].make_and_validate_key(counter)
        pipe = client.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, ttl, nx=True)
        return pipe.execute()[0]
    cache.add(counter, 0, timeout=ttl)
    try:
        return cache.incr(counter)
    except ValueError:  # expired between add and incr: this call starts the window again
        cache.set(counter, 1, timeout=ttl)
        return 1
