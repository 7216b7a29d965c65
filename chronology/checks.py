"""Checks later modules add to recording in the platform (the chronology never imports them).

A check is `fn(*, actor, child, data) -> dict[field, message]`; `event_record` runs every check and
refuses the entry, changing nothing, if any answers. Imports never run them: an imported entry is
history, and history is never refused.
"""

from __future__ import annotations

from collections.abc import Callable

_checks: list[Callable] = []


def register(check: Callable) -> Callable:
    if check not in _checks:
        _checks.append(check)
    return check


def problems(*, actor, child, data) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for check in _checks:
        for name, message in (check(actor=actor, child=child, data=data) or {}).items():
            found.setdefault(name, []).append(message)
    return found
