"""Export: a child's chronology as an exchange document, as the actor may read it."""

from __future__ import annotations

import structlog
from django.db import transaction
from django.db.models import Q

from agencies import policy
from agencies.models import AccessChannel, User
from agencies.services import Origin, access_log_record
from chronology.exchange.contract import (
    FORMAT,
    _event_people,
    agency_document,
    child_from_model,
    event_document,
    person_document,
)
from chronology.models import Child, ChildIdentifier, Event, Person
from chronology.services import JIGSAW_SOURCE, record_group

# The logger keeps the name it had before the module became a package: log lines are found by it.
log = structlog.get_logger("chronology.exchange")


def chronology_export(*, actor: User, child: Child, source: str | None = None, ref: str | None = None) -> dict:
    """The child's document as `actor` may read it; one access-log row. `Child.DoesNotExist` if not readable."""
    while child.merged_into_id:
        child = child.merged_into
    access = policy.access_for(actor, child)
    if access is None:
        raise Child.DoesNotExist
    with transaction.atomic():
        access_log_record(
            user=actor,
            child=child,
            access=access,
            what="chronology export",
            origin=Origin(channel=AccessChannel.EXPORT),
        )
        group = record_group(child)
        identifiers = list(ChildIdentifier.objects.filter(child_id__in=group).order_by("pk"))
        source = source or (identifiers[0].source if identifiers else JIGSAW_SOURCE)
        mine = [i for i in identifiers if i.source == source]
        identifier = next((i for i in mine if i.ref == ref), mine[0] if mine else None)
        child_doc = {**identifier.record, "id": child.pk} if identifier else {**child_from_model(child), "id": child.pk}
        child_ref = child_doc["ref"]
        events = list(Event.objects.filter(child_id__in=group).select_related("agency__area", "amends"))
        event_people = _event_people([e.pk for e in events])
        person_ids = {pid for refs in event_people.values() for pid, _ in refs}
        people = Person.objects.filter(Q(children__in=group) | Q(pk__in=person_ids)).distinct()
        linked = set(Person.children.through.objects.filter(child_id__in=group).values_list("person_id", flat=True))
        agencies = {e.agency.code: e.agency for e in events}
        document = {
            "format": FORMAT,
            "source": source,
            "agencies": [agency_document(agencies[code]) for code in sorted(agencies)],
            "children": [child_doc],
            "people": [
                person_document(p, child_refs=[child_ref] if p.pk in linked else [], source=source) for p in people
            ],
            "events": [
                event_document(e, child_ref=child_ref, people_refs=[r for _, r in event_people[e.pk]], source=source)
                for e in events
            ],
        }
    log.info("chronology_exported", child=child.pk, actor=actor.pk, events=len(events))
    return document
