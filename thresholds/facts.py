"""From the database to the engine's plain facts: one child's record group, in a fixed number of queries."""

from __future__ import annotations

from collections import defaultdict

from chronology.linkage import record_ids
from chronology.models import Child, Event
from thresholds.engine import ChildFacts, EventFacts

EVENT_FIELDS = (
    "pk",
    "occurred_on",
    "agency__code",
    "type",
    "factors",
    "child_seen",
    "information_source",
    "details",
    "amends_id",
    "amendment_kind",
)


def facts_for(child: Child) -> tuple[ChildFacts, list[EventFacts]]:
    """The child and every event of its record group (merged records included), as engine facts.

    Event refs are platform ids as text: reasons then link straight to the entries.
    """
    ids = record_ids(child)
    people: dict[int, list[str]] = defaultdict(list)
    through = Event.people.through.objects.filter(event__child_id__in=ids).values_list("event_id", "person__factors")
    for event_id, factors in through:
        people[event_id].extend(factors or [])
    events = [
        EventFacts(
            ref=str(pk),
            occurred_on=occurred_on,
            agency=agency,
            type=kind,
            factors=tuple(factors or ()),
            people_factors=tuple(people.get(pk, ())),
            child_seen=seen,
            source=source,
            details=details or {},
            amends=str(amends) if amends else None,
            amendment_kind=amendment_kind or "",
        )
        for pk, occurred_on, agency, kind, factors, seen, source, details, amends, amendment_kind in (
            Event.objects.filter(child_id__in=ids).values_list(*EVENT_FIELDS)
        )
    ]
    return (
        ChildFacts(
            ref=str(child.pk),
            date_of_birth=child.date_of_birth,
            not_independently_mobile=child.not_independently_mobile_recorded,
        ),
        events,
    )
