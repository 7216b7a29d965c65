"""The contract's names and fields, and the contract form of stored records.

The export writes stored records in this form; a re-import compares the document against it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from agencies.models import Agency
from chronology.models import Child, Event, Person

FORMAT = "chronology-exchange/1"
CHILD_FIELDS = [
    "ref",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "nhs_number",
    "upn",
    "area",
    "not_independently_mobile",
]
PERSON_FIELDS = ["ref", "role", "given_name", "family_name", "date_of_birth", "children", "factors"]
AGENCY_FIELDS = ["code", "name", "kind", "area"]
# Fields the export adds (docs/exchange.md). The importer honours `origin_source` for identity and
# never keeps any of them as unknown keys.
ADDED_FIELDS = {"id", "origin_source"}
SOURCE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
AGENCY_KEEPS_EXTRA = any(f.name == "extra" for f in Agency._meta.get_fields())
_BATCH = 500


# --- the contract form of stored records (export, and comparison on re-import) ----------------------


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_timestamp(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else None


def event_values(event: Event, *, child_ref: str, people_refs: list[str]) -> dict[str, Any]:
    """Every contract field of a stored event, as the contract writes it."""
    values = {
        "ref": event.ref,
        "child": child_ref,
        "occurred_on": event.occurred_on.isoformat(),
        "date_precision": event.date_precision,
        "agency": event.agency.code,
        "type": event.type,
        "factors": list(event.factors),
        "summary": event.summary,
        "action_taken": event.action_taken,
        "child_seen": event.child_seen,
        "child_seen_alone": event.child_seen_alone,
        "child_voice": event.child_voice,
        "source": event.information_source,
        "verified": event.verified,
        "significant": event.significant,
        "sharing": event.sharing,
        "recorded_at": utc_text(event.recorded_at),
        "recorded_by": event.recorded_by,
        "amends": event.amends.ref if event.amends_id else None,
        "amendment_reason": event.amendment_reason,
        "amendment_kind": event.amendment_kind,
        "people": people_refs,
        "details": event.details,
    }
    # A field given as null that the model cannot hold as null (recorded_at) is kept as given in extra.
    values.update({k: v for k, v in event.extra.items() if k in values})
    return values


def given_fields(event: Event) -> list[str]:
    # Events recorded on the platform list every field as given; "" is no amendment kind in the contract.
    return [name for name in event.given_fields if name != "amendment_kind" or event.amendment_kind]


def event_document(event: Event, *, child_ref: str, people_refs: list[str], source: str) -> dict[str, Any]:
    values = event_values(event, child_ref=child_ref, people_refs=people_refs)
    document = {name: values[name] for name in given_fields(event)}
    document.update({k: v for k, v in event.extra.items() if k not in values})
    document.setdefault("recorded_at", values["recorded_at"])
    document["id"] = event.pk
    if event.source_system != source:
        document["origin_source"] = event.source_system
    return document


def person_document(person: Person, *, child_refs: list[str], source: str) -> dict[str, Any]:
    document = {
        "ref": person.ref,
        "role": person.role,
        "given_name": person.given_name,
        "family_name": person.family_name,
        "date_of_birth": person.date_of_birth.isoformat() if person.date_of_birth else None,
        "children": child_refs,
        "factors": list(person.factors),
        **person.extra,
        "id": person.pk,
    }
    if person.source != source:
        document["origin_source"] = person.source
    return document


def agency_document(agency: Agency) -> dict[str, Any]:
    document = {"code": agency.code, "name": agency.name, "kind": agency.kind, "area": agency.area.name}
    if AGENCY_KEEPS_EXTRA:
        document.update(agency.extra)
    return document


def child_from_model(child: Child) -> dict[str, Any]:
    return {
        "ref": str(child.pk),
        "given_name": child.given_name,
        "family_name": child.family_name,
        "date_of_birth": child.date_of_birth.isoformat(),
        "sex": child.sex or None,
        "nhs_number": child.nhs_number or None,
        "upn": child.upn or None,
        "area": child.area.name,
        "not_independently_mobile": child.not_independently_mobile_recorded,
        **child.extra,
    }


def _event_people(event_ids: list[int]) -> dict[int, list[tuple[int, str]]]:
    """Each event's people, in the order the sender gave them (the link rows are written in that order)."""
    people: dict[int, list[tuple[int, str]]] = defaultdict(list)
    through = Event.people.through.objects
    for start in range(0, len(event_ids), _BATCH):
        rows = through.filter(event_id__in=event_ids[start : start + _BATCH]).order_by("pk")
        for event_id, person_id, ref in rows.values_list("event_id", "person_id", "person__ref"):
            people[event_id].append((person_id, ref))
    return people
