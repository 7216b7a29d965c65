"""From the database to the engine's plain facts: one child's record group, in a fixed number of queries."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date

from django.core.cache import cache
from django.db import connection

from agencies.models import Agency
from chronology.linkage import record_ids
from chronology.models import Child, Event
from thresholds.engine import ChildFacts, EventFacts

EMPTY = {"[]", "{}", "", None}


def _json(text, empty):
    # Most events carry no factors and no details: skip decoding those.
    return empty if text in EMPTY else json.loads(text)


def _rows(ids: list[int], after: int = 0) -> list[tuple]:
    """The event columns the engine reads, as plain rows: re-assessment reads thousands of them."""
    event = Event._meta.db_table
    agency = Agency._meta.db_table
    placeholders = ", ".join(["%s"] * len(ids))
    sql = (
        "SELECT e.child_id, e.id, e.occurred_on, a.code, e.type, CAST(e.factors AS TEXT), e.child_seen, "  # noqa: S608
        "e.information_source, CAST(e.details AS TEXT), e.amends_id, e.amendment_kind "
        f"FROM {event} e JOIN {agency} a ON a.id = e.agency_id WHERE e.child_id IN ({placeholders}) AND e.id > %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*ids, after])
        return cursor.fetchall()


def _event_facts(row: tuple, people: dict[int, list[str]]) -> EventFacts:
    """One row of `_rows` (without its child id) as the engine's facts."""
    pk, occurred_on, agency, kind, factors, seen, source, details, amends, amendment_kind = row
    return EventFacts(
        ref=str(pk),
        occurred_on=occurred_on if isinstance(occurred_on, date) else date.fromisoformat(occurred_on),
        agency=agency,
        type=kind,
        factors=tuple(_json(factors, [])),
        people_factors=tuple(people.get(pk, ())),
        child_seen=None if seen is None else bool(seen),
        source=source,
        details=_json(details, {}),
        amends=str(amends) if amends else None,
        amendment_kind=amendment_kind or "",
    )


# Events are never changed, so a child's facts only ever grow: keep them, and read only newer rows.
FACTS_CACHE_SECONDS = 6 * 60 * 60


def facts_for(child: Child) -> tuple[ChildFacts, list[EventFacts]]:
    """The child and every event of its record group (merged records included), as engine facts.

    Event refs are platform ids as text: reasons then link straight to the entries.
    """
    ids = record_ids(child)
    key = "engine-facts:" + ",".join(map(str, ids))
    cached = cache.get(key)
    last, known = cached if cached else (0, [])
    if cached and Event.objects.filter(child_id__in=ids, pk__lte=last).count() != len(known):
        # An event with a lower id committed after the cache was filled (ids are not commit order
        # across transactions): start again rather than miss it.
        cached, last, known = None, 0, []
    people: dict[int, list[str]] = defaultdict(list)
    through = Event.people.through.objects.filter(event__child_id__in=ids, event_id__gt=last).values_list(
        "event_id", "person__factors"
    )
    for event_id, factors in through:
        people[event_id].extend(factors or [])
    rows = _rows(ids, after=last)
    fresh = [_event_facts(row[1:], people) for row in rows]
    events = known + fresh
    if fresh or not cached:
        newest = max((row[1] for row in rows), default=last)
        cache.set(key, (newest, events), FACTS_CACHE_SECONDS)
    return (
        ChildFacts(
            ref=str(child.pk),
            date_of_birth=child.date_of_birth,
            not_independently_mobile=child.not_independently_mobile_recorded,
        ),
        events,
    )


def facts_for_many(children: list[Child]) -> dict[int, tuple[ChildFacts, list[EventFacts]]]:
    """Facts for many children at once (a whole area after a policy change), in a fixed number of queries."""
    if not children:
        return {}
    group: dict[int, int] = {c.pk: c.pk for c in children}  # record id -> the surviving child it belongs to
    frontier = [c.pk for c in children]
    while frontier:
        merged = list(Child.objects.filter(merged_into_id__in=frontier).values_list("pk", "merged_into_id"))
        for pk, into in merged:
            group[pk] = group[into]
        frontier = [pk for pk, _ in merged]
    people: dict[int, list[str]] = defaultdict(list)
    ids = list(group)
    for event_id, factors in Event.people.through.objects.filter(event__child_id__in=ids).values_list(
        "event_id", "person__factors"
    ):
        people[event_id].extend(factors or [])
    by_child: dict[int, list[EventFacts]] = defaultdict(list)
    for row in _rows(ids):
        by_child[group[row[0]]].append(_event_facts(row[1:], people))
    return {
        c.pk: (
            ChildFacts(
                ref=str(c.pk),
                date_of_birth=c.date_of_birth,
                not_independently_mobile=c.not_independently_mobile_recorded,
            ),
            by_child.get(c.pk, []),
        )
        for c in children
    }
