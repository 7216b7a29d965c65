"""The thresholds engine: events scored per second on one core, and one child re-assessed end to end.

The engine is timed on a generated 2,000-event chronology (the shared generator), in process, as the
best of 5 runs of 20 assessments. Re-assessing one child runs `child_reassess` (database to stored
snapshot, on the configured database) 30 times after 3 to warm up, in three cases: just after a new
event was recorded for the child (what a worker does after every recording; the event is recorded
outside the timing), when nothing is new (the nightly pass), and in a process that has not seen
the child before (its facts are read whole).
"""

from __future__ import annotations

import statistics
import time
from datetime import date

from bench.bench_chronology import _generator


def run():
    from agencies.policy import system_user
    from chronology.exchange import chronology_import
    from chronology.models import ChildIdentifier
    from thresholds import engine, services
    from thresholds.facts import facts_for

    document = _generator().build(2000, "engine")
    chronology_import(actor=system_user(), document=document)
    child = ChildIdentifier.objects.get(source="bench-engine", ref="engine").child
    child_facts, events = facts_for(child)
    policy = engine.default_policy()
    as_of = date(2025, 1, 1)

    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(20):
            engine.assess(child_facts, events, as_of, policy)
        best = min(best, (time.perf_counter() - start) / 20)
    rows = [
        ("engine: events scored per second (one core)", int(len(events) / best), "events/s", "200,000 or more"),
        ("engine: one assessment of 2,000 events", round(best * 1000, 2), "ms", ""),
    ]

    from chronology.models import Event
    from chronology.services import EventInput, event_record
    from thresholds.facts import facts_cache_clear

    agency = Event.objects.filter(child=child).first().agency
    day = date(2024, 1, 1)

    def new_event():
        nonlocal day
        day = day.replace(day=day.day % 28 + 1)
        event_record(
            actor=system_user(),
            child=child,
            data=EventInput(
                occurred_on=day,
                agency=agency,
                type="school_absence",
                summary="Absent one day; parent rang to say unwell.",
            ),
        )

    for case, before, target in (
        ("after one new event", new_event, "under 20 ms"),
        ("nothing new", None, ""),
        ("in a process that has not seen the child", facts_cache_clear, ""),
    ):
        for _ in range(3):
            services.child_reassess(child_id=child.pk)
        times = []
        for _ in range(30):
            if before:
                before()
            start = time.perf_counter()
            services.child_reassess(child_id=child.pk)
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        rows.append(
            (
                f"re-assess one child of 2,000 events, database to snapshot, {case}: median",
                round(statistics.median(times), 1),
                "ms",
                target,
            )
        )
        rows.append(
            (f"re-assess one child, {case}: 95th percentile", round(times[int(len(times) * 0.95)], 1), "ms", "")
        )

    start = time.perf_counter()
    engine.timeline(child_facts, [e for e in events if e.occurred_on.year <= 2013], date(2013, 12, 31), policy)
    rows.append(
        ("timeline replay of the first two years (about 330 events)", round(time.perf_counter() - start, 2), "s", "")
    )
    return rows
