"""The escalation module's clock. Services take `now`; tasks take `at` (an ISO timestamp) so a test moves
the clock in the worker too. Nothing else here reads the time."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    return timezone.now()


def parse(at: str | None) -> datetime:
    """The moment a task was told to act at, or now."""
    if not at:
        return now()
    moment = datetime.fromisoformat(at)
    if timezone.is_naive(moment):
        raise ValueError("a task's time must carry its offset")
    return moment
