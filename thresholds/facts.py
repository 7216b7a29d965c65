"""From the database to the engine's plain facts: one child's record group, in a fixed number of queries."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from datetime import date

from django.db import connection
from django.db.models import Count, Sum

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


# Events are never changed and people's factors are never edited, so a child's facts only ever grow.
# Each process keeps the facts of the children it assessed last, in memory (decoding them from a
# shared cache costs more than reading the rows again), and reads only the rows it has not seen.
# The kept facts are checked against the database every time by the count and the sum of the event
# ids: a later commit of a lower id, or a kept event whose transaction rolled back, fails the check.
FACTS_CACHE_CHILDREN = 256


@dataclass(slots=True)
class _Known:
    newest: int  # the highest event id read
    total: int  # the sum of the event ids read
    events: list[EventFacts]


_known: OrderedDict[tuple[int, ...], _Known] = OrderedDict()
_known_lock = threading.Lock()


def facts_cache_clear() -> None:
    with _known_lock:
        _known.clear()


def _fingerprint(ids: list[int]) -> tuple[int, int]:
    found = Event.objects.filter(child_id__in=ids).aggregate(n=Count("pk"), total=Sum("pk"))
    return found["n"], found["total"] or 0


def facts_for(child: Child) -> tuple[ChildFacts, list[EventFacts]]:
    """The child and every event of its record group (merged records included), as engine facts.

    Event refs are platform ids as text: reasons then link straight to the entries.
    """
    ids = record_ids(child)
    key = tuple(ids)
    with _known_lock:
        known = _known.get(key)
    if known is not None:
        count, total = _fingerprint(ids)
        if (count, total) != (len(known.events), known.total):
            rows = _rows(ids, after=known.newest)
            grown = (len(known.events) + len(rows), known.total + sum(row[1] for row in rows))
            if grown == (count, total):
                known = _Known(
                    newest=max(row[1] for row in rows),
                    total=total,
                    events=known.events + _facts(rows, fresh=len(rows) <= 500, ids=ids),
                )
            else:
                known = None
    if known is None:
        events = _facts(_rows(ids), fresh=False, ids=ids)
        refs = [int(e.ref) for e in events]
        known = _Known(newest=max(refs, default=0), total=sum(refs), events=events)
    with _known_lock:
        _known[key] = known
        _known.move_to_end(key)
        while len(_known) > FACTS_CACHE_CHILDREN:
            _known.popitem(last=False)
    events = known.events
    return (
        ChildFacts(
            ref=str(child.pk),
            date_of_birth=child.date_of_birth,
            not_independently_mobile=child.not_independently_mobile_recorded,
        ),
        events,
    )


def _facts(rows: list[tuple], *, fresh: bool, ids: list[int] = ()) -> list[EventFacts]:
    """Rows as engine facts, with the factors of the people each event names. A few fresh rows look
    their people up by event; a whole record group by child."""
    if not rows:
        return []
    through = Event.people.through.objects
    if fresh:
        through = through.filter(event_id__in=[row[1] for row in rows])
    else:
        through = through.filter(event__child_id__in=ids)
    people: dict[int, list[str]] = defaultdict(list)
    for event_id, factors in through.values_list("event_id", "person__factors"):
        people[event_id].extend(factors or [])
    return [_event_facts(row[1:], people) for row in rows]


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
