"""Replay: the dates on which a child's indicated level or set of flags changed, time-driven changes included.

Between two dates on which nothing happens (no event, no window closing, no interview falling due)
the only thing that moves is recency decay, which only lowers the score; so the state is assessed
on every date where something can happen, and any change between two such dates is found by
bisection.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from thresholds.engine.facts import ChildFacts, EventFacts
from thresholds.engine.policy import Policy
from thresholds.engine.rules import _date, assess


def _candidates(child: ChildFacts, events: Sequence[EventFacts], until: date, policy: Policy) -> list[date]:
    r = policy.rules
    windows = {params[key] for params in r.values() for key in params if key.endswith("window_days")}
    windows |= {
        r["rising_concern"]["recent_days"],
        r["rising_concern"]["recent_days"] + r["rising_concern"]["prior_days"],
    }
    not_seen = {r["child_not_seen"]["under_5_days"], r["child_not_seen"]["over_5_days"]}
    days: set[date] = set()
    for e in events:
        days.add(e.occurred_on)
        for window in windows | not_seen:
            days.add(e.occurred_on + timedelta(days=window + 1))
        if e.type == "missing_episode":
            returned = _date(e.details.get("returned_on")) or e.occurred_on
            days.add(returned + timedelta(days=r["missing_return_interview_overdue"]["hours"] // 24 + 1))
    fifth = (
        child.date_of_birth.replace(year=child.date_of_birth.year + 5)
        if not (child.date_of_birth.month == 2 and child.date_of_birth.day == 29)
        else date(child.date_of_birth.year + 5, 3, 1)
    )
    days.add(fifth)
    days.add(child.date_of_birth + timedelta(days=int(r["non_mobile_bruising"]["under_months"] * 30.44) + 1))
    first = min(e.occurred_on for e in events)
    return sorted(d for d in days if first <= d <= until)


def timeline(child: ChildFacts, events: Sequence[EventFacts], until: date, policy: Policy) -> list[dict]:
    """[{"date", "level", "flags"}] for each date the level or the set of flags changed, in date order."""
    if not events:
        return []
    ordered = sorted(events, key=lambda e: e.occurred_on)
    cache: dict[date, tuple[int, tuple[str, ...]]] = {}

    def state(day: date) -> tuple[int, tuple[str, ...]]:
        if day not in cache:
            result = assess(child, [e for e in ordered if e.occurred_on <= day], day, policy)
            cache[day] = (result.level, tuple(sorted(result.flags)))
        return cache[day]

    rows: list[dict] = []
    previous = None
    previous_day = None
    for day in _candidates(child, ordered, until, policy):
        current = state(day)
        if previous is not None and previous_day is not None and current != previous:
            # something changed between previous_day and day: find each change by bisection
            low = previous_day
            while state(day) != state(low):
                lo, hi = low, day
                while (hi - lo).days > 1:
                    mid = lo + timedelta(days=(hi - lo).days // 2)
                    if state(mid) == state(low):
                        lo = mid
                    else:
                        hi = mid
                rows.append({"date": hi.isoformat(), "level": state(hi)[0], "flags": list(state(hi)[1])})
                low = hi
        elif previous is None:
            rows.append({"date": day.isoformat(), "level": current[0], "flags": list(current[1])})
        previous, previous_day = current, day
    return rows
