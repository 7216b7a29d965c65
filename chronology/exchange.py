"""Chronology exchange documents (`chronology-exchange/1`): check, import and export.

Import is all or nothing. The whole document is checked first (the contract's JSON Schema, the
references between its parts, NHS numbers and UPNs, the shared event rules of
`services.event_problems`, the actor's access) and every problem is reported with its place; only a
document without any is written, in one transaction. Identity is `source` + `ref`: importing the
same document again writes nothing, and a stored event is never changed (the sender amends it).
The export gives back every field an import gave, with the same value; what it adds is listed in
docs/exchange.md and recognised here, so that importing an export changes nothing.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import nhs_number
import structlog
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify
from jsonschema import Draft202012Validator
from stdnum.gb import upn as upn_number

from agencies import policy
from agencies.models import AccessChannel, Agency, Area, AuditEntry, Role, User
from agencies.services import Origin, access_log_record
from chronology import linkage, signals
from chronology.models import Child, ChildIdentifier, Event, Person
from chronology.services import CONTRACT_EVENT_FIELDS, JIGSAW_SOURCE, EventInput, event_problems, record_group

log = structlog.get_logger(__name__)

FORMAT = "chronology-exchange/1"
SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "chronology-exchange.schema.json"
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

Place = tuple[str | int, ...]


def place_text(place: Place) -> str:
    text = ""
    for part in place:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(document)"


@dataclass(frozen=True)
class Problem:
    place: Place
    message: str

    def __str__(self) -> str:
        return f"{place_text(self.place)}: {self.message}"

    def sort_key(self) -> tuple:
        return tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in self.place), self.message


class ImportRefused(Exception):
    """The document was refused whole. `problems` are every problem found, in order of place."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(set(problems), key=Problem.sort_key)
        super().__init__("\n".join(str(p) for p in self.problems))


# --- the contract's JSON Schema --------------------------------------------------------------------


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


_ENUM_LABELS = {
    "kind": "agency kind",
    "factors": "factor code",
    "date_precision": "date precision",
    "verified": "verification",
    "amendment_kind": "amendment kind",
    "injury_kind": "injury kind",
}
_TYPE_WORDS = {
    "string": "a string",
    "object": "an object",
    "array": "a list",
    "boolean": "true or false",
    "null": "null",
    "number": "a number",
    "integer": "a whole number",
}
_PATTERN_WORDS = {
    "nhs_number": "an NHS number (10 digits)",
    "upn": "a unique pupil number (13 characters)",
    "source": "a source name (lower-case letters, digits, '.', '_' or '-'; at most 64)",
}


def _schema_problem(error) -> Problem:
    place: Place = tuple(error.absolute_path)
    name = next((p for p in reversed(place) if isinstance(p, str)), "")
    value, kind = error.instance, error.validator
    if kind == "anyOf" and error.context:
        # One branch is only ever "or null": the other says what is wrong.
        useful = [e for e in error.context if e.validator != "type"]
        if useful:
            return _schema_problem(useful[0])
        expected = " or ".join(_TYPE_WORDS.get(e.validator_value, e.validator_value) for e in error.context)
        return Problem(place, f"must be {expected}")
    if kind == "required":
        missing = error.message.split("'")[1] if error.message.count("'") >= 2 else str(error.validator_value)
        return Problem((*place, missing), "required field missing")
    if kind == "enum":
        return Problem(
            place, f"unknown {_ENUM_LABELS.get(name, name.replace('_', ' '))} {json.dumps(value)}".replace('"', "'")
        )
    if kind == "const":
        return Problem(place, f"must be '{error.validator_value}'")
    if kind == "type":
        expected = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        return Problem(place, "must be " + " or ".join(_TYPE_WORDS.get(t, t) for t in expected))
    if kind == "format" or (kind == "pattern" and error.validator_value.startswith("^\\d{4}")):
        return Problem(place, f"'{value}' is not a real date (YYYY-MM-DD)")
    if kind == "pattern":
        return Problem(place, f"'{value}' is not {_PATTERN_WORDS.get(name, 'in the expected form')}")
    if kind in {"minLength", "minItems"}:
        return Problem(place, "must not be empty")
    if kind == "maxLength":
        return Problem(place, f"longer than {error.validator_value} characters")
    if kind == "uniqueItems":
        return Problem(place, "a value is given twice")
    if kind == "minimum":
        return Problem(place, f"must be at least {error.validator_value}")
    if kind == "maximum":
        return Problem(place, f"must be at most {error.validator_value}")
    return Problem(place, error.message)


def schema_problems(document: Any) -> list[Problem]:
    return [_schema_problem(error) for error in _validator().iter_errors(document)]


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


# --- export -----------------------------------------------------------------------------------------


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


def _event_people(event_ids: list[int]) -> dict[int, list[tuple[int, str]]]:
    """Each event's people, in the order the sender gave them (the link rows are written in that order)."""
    people: dict[int, list[tuple[int, str]]] = defaultdict(list)
    through = Event.people.through.objects
    for start in range(0, len(event_ids), _BATCH):
        rows = through.filter(event_id__in=event_ids[start : start + _BATCH]).order_by("pk")
        for event_id, person_id, ref in rows.values_list("event_id", "person_id", "person__ref"):
            people[event_id].append((person_id, ref))
    return people


# --- import -----------------------------------------------------------------------------------------


# The summary's shape is fixed, zeros included, so tools can read it without guessing.
SUMMARY_SHAPE = {
    "areas": ("created",),
    "agencies": ("created", "unchanged"),
    "children": ("created", "linked", "unchanged"),
    "people": ("created", "linked", "unchanged"),
    "events": ("created", "unchanged"),
}


@dataclass
class ImportSummary:
    source: str
    counts: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    match_candidates: int = 0

    def as_dict(self) -> dict[str, Any]:
        counts = {name: {s: self.counts[name][s] for s in states} for name, states in SUMMARY_SHAPE.items()}
        return {"source": self.source, **counts, "match_candidates": self.match_candidates}


def document_parse(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportRefused(
            [Problem((), f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")]
        ) from exc


def chronology_import(*, actor: User, document: Any) -> ImportSummary:
    """Check `document` whole, then write all of it in one transaction. Raises `ImportRefused`."""
    problems = schema_problems(document)
    if (
        not isinstance(document, dict)
        or not all(isinstance(document.get(k), list) for k in ("agencies", "children", "events"))
        or not isinstance(document.get("people", []), list)
        or not isinstance(document.get("source"), str)
    ):
        raise ImportRefused(problems)
    # Lines with a schema problem are not checked further: their shape cannot be trusted.
    bad = {p.place[:2] for p in problems if len(p.place) >= 2}
    with transaction.atomic():
        importer = _Importer(actor=actor, document=document, bad=bad, problems=problems)
        importer.check()
        if importer.problems:
            raise ImportRefused(importer.problems)
        summary = importer.write()
    log.info(
        "chronology_imported",
        source=summary.source,
        actor=actor.pk,
        **{f"{k}_{s}": n for k, v in summary.counts.items() for s, n in v.items()},
    )
    return summary


_MISSING = object()


def _surviving(child: Child) -> Child:
    while child.merged_into_id:
        child = child.merged_into
    return child


def _unknown(item: dict, known: list[str]) -> dict:
    return {k: v for k, v in item.items() if k not in known and k not in ADDED_FIELDS}


def _same(name: str, given: Any, stored: Any) -> bool:
    if name == "recorded_at" and isinstance(given, str) and isinstance(stored, str):
        return parse_timestamp(given) == parse_timestamp(stored)
    return type(given) is type(stored) and given == stored


@dataclass
class _ChildPlan:
    index: int
    ref: str
    child: Child  # stored, or new: saved when the document is written
    status: str  # created | linked | unchanged
    key: int  # the child's id, or a provisional negative id for a new child
    record: dict
    area: Area | None = None


def _plan_area(plan: _ChildPlan) -> Area | None:
    return plan.child.area if plan.child.pk else plan.area


@dataclass
class _PersonPlan:
    person: Person
    children: list[_ChildPlan]


@dataclass
class _EventPlan:
    index: int
    event: Event
    plan: _ChildPlan
    people: list[Person | _PersonPlan]
    amends: int | Event | None  # the index of a new event in the document, or a stored event


class _Importer:
    def __init__(self, *, actor: User, document: dict, bad: set, problems: list[Problem]):
        self.actor, self.doc, self.bad, self.problems = actor, document, bad, list(problems)
        self.source: str = document["source"]
        self.summary = ImportSummary(source=self.source)
        self.areas: dict[str, Area | None] = {}
        self.new_areas: list[Area] = []
        self.agencies: dict[str, Agency] = {}
        self.agency_area: dict[str, Area | None] = {}
        self.new_agencies: list[tuple[int, Agency]] = []
        self.children: dict[str, _ChildPlan] = {}
        self.people: dict[tuple[str, str], _PersonPlan] = {}
        self.stored_people: dict[tuple[str, str], Person] = {}
        self.events: list[_EventPlan] = []
        self.groups: dict[int, list[int]] = {}
        # Every ref given, even on a line with a schema problem: that line is reported once, not again as unknown.
        self.child_refs = {c.get("ref") for c in document["children"] if isinstance(c, dict)}
        self.given = {
            (name, self.origin(item), item.get("ref"))
            for name in ("people", "events")
            for item in document.get(name) or []
            if isinstance(item, dict) and isinstance(item.get("ref"), str)
        }

    def problem(self, place: Place, message: str) -> None:
        self.problems.append(Problem(place, message))

    def items(self, name: str):
        for i, item in enumerate(self.doc.get(name) or []):
            if (name, i) not in self.bad and isinstance(item, dict):
                yield i, item

    def origin(self, item: dict) -> str:
        origin = item.get("origin_source")
        return origin if isinstance(origin, str) and SOURCE_PATTERN.match(origin) else self.source

    def check(self) -> None:
        for name in ("people", "events"):
            for i, item in self.items(name):
                origin = item.get("origin_source", self.source)
                if not (isinstance(origin, str) and SOURCE_PATTERN.match(origin)):
                    self.problem((name, i, "origin_source"), "must be a source name (see docs/exchange.md)")
                    self.bad.add((name, i))
        self.check_agencies()
        self.check_children()
        self.check_people()
        self.check_events()
        self.place_new_records()
        self.check_access()

    def area(self, name: str, place: Place) -> Area | None:
        if name not in self.areas:
            code = slugify(name)[:40]
            area = Area.objects.filter(name__iexact=name).first() or Area.objects.filter(code=code).first()
            if area is None and (not code or len(name) > 100):
                self.problem(place, "an area name needs a letter or digit and at most 100 characters")
            elif area is None:
                area = Area(name=name, code=code)
                self.new_areas.append(area)
            self.areas[name] = area
        return self.areas[name]

    def check_agencies(self) -> None:
        items = list(self.items("agencies"))
        stored = {
            a.code: a for a in Agency.objects.filter(code__in=[a["code"] for _, a in items]).select_related("area")
        }
        for i, item in items:
            code, place = item["code"], ("agencies", i)
            if code in self.agencies:
                self.problem((*place, "code"), f"agency '{code}' is given twice")
                continue
            extra = _unknown(item, AGENCY_FIELDS)
            agency = stored.get(code)
            if agency is not None:
                if agency.kind != item["kind"]:
                    self.problem(
                        (*place, "kind"), f"agency '{code}' is stored as '{agency.kind}', not '{item['kind']}'"
                    )
                self.agency_area[code] = agency.area
                self.summary.counts["agencies"]["unchanged"] += 1
            else:
                if len(code) > 60:
                    self.problem((*place, "code"), "a new agency's code must be at most 60 characters")
                for key in extra if not AGENCY_KEEPS_EXTRA else ():
                    self.problem((*place, key), "unknown agency fields cannot be kept yet: refused rather than dropped")
                agency = Agency(code=code, name=item["name"], kind=item["kind"])
                if AGENCY_KEEPS_EXTRA:
                    agency.extra = extra
                self.agency_area[code] = self.area(item["area"], (*place, "area")) if "area" in item else None
                self.new_agencies.append((i, agency))
            self.agencies[code] = agency

    def check_children(self) -> None:
        items = list(self.items("children"))
        identifiers = {
            i.ref: i
            for i in ChildIdentifier.objects.filter(
                source=self.source, ref__in=[c["ref"] for _, c in items]
            ).select_related("child")
        }
        by_number: dict[tuple[str, str], _ChildPlan] = {}
        for i, item in items:
            ref, place = item["ref"], ("children", i)
            if ref in self.children:
                self.problem((*place, "ref"), f"child '{ref}' is given twice")
                continue
            nhs = (item.get("nhs_number") or "").replace(" ", "")
            upn = item.get("upn") or ""
            if nhs and not nhs_number.is_valid(nhs):
                self.problem((*place, "nhs_number"), f"'{item['nhs_number']}' is not a valid NHS number (check digit)")
                nhs = ""
            if upn and not upn_number.is_valid(upn):
                self.problem((*place, "upn"), f"'{upn}' is not a valid unique pupil number (check letter)")
                upn = ""
            record = {k: v for k, v in item.items() if k not in ADDED_FIELDS}
            twin = by_number.get(("nhs", nhs)) or by_number.get(("upn", upn))
            if self.source == JIGSAW_SOURCE:
                # The platform's own export names children without a sender's identifier by their id.
                child = Child.objects.filter(pk=int(ref)).first() if ref.isdigit() else None
                if child is None:
                    self.problem((*place, "ref"), f"no child with the platform id '{ref}' (source 'jigsaw')")
                    continue
                plan = _ChildPlan(i, ref, _surviving(child), "unchanged", 0, record)
            elif ref in identifiers:
                stored = identifiers[ref].record
                for key in sorted(set(record) | set(stored)):
                    if record.get(key, _MISSING) != stored.get(key, _MISSING):
                        self.problem(
                            (*place, key),
                            f"differs from the stored child '{self.source}:{ref}': "
                            "an import never changes a stored child",
                        )
                plan = _ChildPlan(i, ref, _surviving(identifiers[ref].child), "unchanged", 0, record)
            elif twin is not None:
                plan = _ChildPlan(i, ref, twin.child, "linked", twin.key, record, twin.area)
            elif (match := linkage.child_with_identifiers(nhs_number=nhs, upn=upn)) is not None:
                plan = _ChildPlan(i, ref, match, "linked", 0, record)
            else:
                child = Child(
                    given_name=item.get("given_name") or "",
                    family_name=item.get("family_name") or "",
                    date_of_birth=date.fromisoformat(item["date_of_birth"]),
                    sex=item.get("sex") or "",
                    nhs_number=nhs,
                    upn=upn.upper(),
                    extra=_unknown(item, CHILD_FIELDS),
                    not_independently_mobile_recorded=item.get("not_independently_mobile"),
                )
                area = self.area(item["area"], (*place, "area")) if "area" in item else None
                plan = _ChildPlan(i, ref, child, "created", -(i + 1), record, area)
            plan.key = plan.key or plan.child.pk
            for number in (("nhs", nhs), ("upn", upn)):
                if number[1]:
                    by_number.setdefault(number, plan)
            self.children[ref] = plan

    def child_refs_of(self, refs: list, place: Place) -> list[_ChildPlan]:
        plans = []
        for k, ref in enumerate(refs):
            if ref in self.children:
                plans.append(self.children[ref])
            elif ref not in self.child_refs:
                self.problem((*place, k), f"unknown child '{ref}'")
        return plans

    def load_people(self, keys: set[tuple[str, str]]) -> None:
        by_source = defaultdict(list)
        for source, ref in keys - set(self.stored_people):
            by_source[source].append(ref)
        for source, refs in by_source.items():
            for start in range(0, len(refs), _BATCH):
                for person in Person.objects.filter(source=source, ref__in=refs[start : start + _BATCH]):
                    self.stored_people[(person.source, person.ref)] = person

    def check_people(self) -> None:
        items = list(self.items("people"))
        self.load_people({(self.origin(p), p["ref"]) for _, p in items})
        for j, item in items:
            key, place = (self.origin(item), item["ref"]), ("people", j)
            if key in self.people:
                self.problem((*place, "ref"), f"person '{key[1]}' is given twice")
                continue
            children = self.child_refs_of(item.get("children", []), (*place, "children"))
            person = self.stored_people.get(key)
            if person is not None:
                stored = person_document(person, child_refs=[], source=key[0])
                for name in sorted(set(item) - ADDED_FIELDS - {"children"}):
                    if not _same(name, item[name], stored.get(name, _MISSING)):
                        self.problem(
                            (*place, name),
                            f"differs from the stored person '{key[0]}:{key[1]}': "
                            "an import never changes a stored person",
                        )
            elif key[0] == JIGSAW_SOURCE:
                self.problem((*place, "ref"), "people recorded on the platform (source 'jigsaw') are never imported")
            else:
                born = item.get("date_of_birth")
                person = Person(
                    source=key[0],
                    ref=key[1],
                    role=item["role"],
                    given_name=item.get("given_name") or "",
                    family_name=item.get("family_name") or "",
                    date_of_birth=date.fromisoformat(born) if born else None,
                    factors=list(item.get("factors", [])),
                    extra=_unknown(item, PERSON_FIELDS),
                )
            self.people[key] = _PersonPlan(person, children)

    def check_events(self) -> None:
        items = list(self.items("events"))
        index: dict[tuple[str, str], int] = {}
        for i, item in items:
            key = (self.origin(item), item["ref"])
            if key in index:
                self.problem(("events", i, "ref"), f"event '{key[1]}' is given twice")
            index.setdefault(key, i)
        wanted = set(index) | {(self.origin(e), e["amends"]) for _, e in items if isinstance(e.get("amends"), str)}
        stored = self.stored_events(wanted)
        stored_people = _event_people([e.pk for e in stored.values()])
        codes = {e["agency"] for _, e in items} - set(self.agencies)
        for agency in Agency.objects.filter(code__in=codes).select_related("area"):
            self.agencies[agency.code] = agency
            self.agency_area[agency.code] = agency.area
        self.load_people({(self.origin(e), ref) for _, e in items for ref in e.get("people", [])})
        documents = dict(items)
        new: dict[int, _EventPlan] = {}
        for i, item in items:
            if index.get((self.origin(item), item["ref"])) != i:
                continue
            plan = self.check_event(i, item, index, stored, stored_people, documents)
            if plan is not None:
                new[i] = plan
        for plan in new.values():
            seen, step = {plan.index}, plan.amends
            while isinstance(step, int) and step in new:
                if step in seen:
                    self.problem(("events", plan.index, "amends"), "the amendments form a loop")
                    break
                seen.add(step)
                step = new[step].amends
        self.events = list(new.values())

    def stored_events(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], Event]:
        by_source = defaultdict(list)
        for source, ref in keys:
            by_source[source].append(ref)
        found = {}
        for source, refs in by_source.items():
            for start in range(0, len(refs), _BATCH):
                rows = Event.objects.filter(source_system=source, ref__in=refs[start : start + _BATCH])
                for event in rows.select_related("agency", "amends"):
                    found[(source, event.ref)] = event
        return found

    def check_event(self, i, item, index, stored, stored_people, documents) -> _EventPlan | None:
        source, place = self.origin(item), ("events", i)
        child = self.children.get(item["child"])
        if child is None and item["child"] not in self.child_refs:
            self.problem((*place, "child"), f"unknown child '{item['child']}'")
        agency = self.agencies.get(item["agency"])
        if agency is None:
            self.problem((*place, "agency"), f"unknown agency '{item['agency']}': not in the document, not stored")
        people: list[Person | _PersonPlan] = []
        for k, ref in enumerate(item.get("people", [])):
            found = self.people.get((source, ref)) or self.stored_people.get((source, ref))
            if found is None:
                if ("people", source, ref) not in self.given:
                    self.problem((*place, "people", k), f"unknown person '{ref}'")
            elif ref in item["people"][:k]:
                self.problem((*place, "people", k), f"person '{ref}' is given twice")
            else:
                people.append(found)
        amends: int | Event | None = None
        if isinstance(target := item.get("amends"), str):
            amends = index.get((source, target), stored.get((source, target)))
            if target == item["ref"]:
                self.problem((*place, "amends"), "an event cannot amend itself")
            elif amends is None and ("events", source, target) not in self.given:
                self.problem((*place, "amends"), f"unknown event '{target}' of source '{source}'")
            elif isinstance(amends, int) and (source, target) in stored:
                amends = stored[(source, target)]
        recorded_at = item.get("recorded_at")
        if isinstance(recorded_at, str) and parse_timestamp(recorded_at) is None:
            self.problem((*place, "recorded_at"), f"'{recorded_at}' is not a timestamp with a time zone")
        if (source, item["ref"]) in stored:
            event = stored[(source, item["ref"])]
            for name in self.event_differences(item, event, child, [r for _, r in stored_people[event.pk]]):
                self.problem(
                    (*place, name),
                    f"differs from the stored event '{source}:{item['ref']}': events are "
                    "never changed; send an amendment",
                )
            self.summary.counts["events"]["unchanged"] += 1
            return None
        if source == JIGSAW_SOURCE:
            self.problem((*place, "ref"), "events recorded on the platform (source 'jigsaw') are never imported")
            return None
        if child is None or agency is None:
            return None
        stand_in = amends
        if isinstance(amends, int):
            target_child = self.children.get(documents[amends]["child"])
            stand_in = Event(child_id=target_child.key if target_child else 0)
        data = EventInput(
            occurred_on=date.fromisoformat(item["occurred_on"]),
            agency=agency,
            type=item["type"],
            summary=item["summary"],
            date_precision=item.get("date_precision", "day"),
            factors=list(item.get("factors", [])),
            action_taken=item.get("action_taken", ""),
            child_seen=item.get("child_seen"),
            child_seen_alone=item.get("child_seen_alone"),
            child_voice=item.get("child_voice", ""),
            information_source=item.get("source", "practitioner"),
            verified=item.get("verified", "unverified"),
            significant=item.get("significant", False),
            sharing=item.get("sharing", "all"),
            details=dict(item.get("details", {})),
            amends=stand_in,
            amendment_reason=item.get("amendment_reason", ""),
            amendment_kind=item.get("amendment_kind", ""),
            recorded_by=item.get("recorded_by", ""),
            extra=_unknown(item, CONTRACT_EVENT_FIELDS),
        )
        on = child.child if child.child.pk else Child(pk=child.key)
        for name, messages in event_problems(data, child=on).items():
            if name == "amends" and isinstance(target, str) and amends is None:
                continue  # already reported: the entry it amends is unknown
            for message in messages:
                self.problem((*place, name), message)
        if recorded_at is None and "recorded_at" in item:
            data.extra["recorded_at"] = None  # given as null: kept as given, see event_values
        event = Event(
            source_system=source,
            ref=item["ref"],
            occurred_on=data.occurred_on,
            date_precision=data.date_precision,
            agency=agency,
            type=data.type,
            factors=data.factors,
            summary=data.summary,
            action_taken=data.action_taken,
            child_seen=data.child_seen,
            child_seen_alone=data.child_seen_alone,
            child_voice=data.child_voice,
            information_source=data.information_source,
            verified=data.verified,
            significant=data.significant,
            sharing=data.sharing,
            recorded_at=parse_timestamp(recorded_at) if recorded_at else None,
            recorded_by=data.recorded_by,
            recorded_by_user=None,
            amendment_reason=data.amendment_reason,
            amendment_kind=(data.amendment_kind or "correction") if amends is not None else "",
            details=data.details,
            extra=data.extra,
            given_fields=[f for f in CONTRACT_EVENT_FIELDS if f in item],
        )
        return _EventPlan(i, event, child, people, amends)

    def event_differences(self, item: dict, event: Event, child: _ChildPlan | None, people: list[str]) -> list[str]:
        values = event_values(event, child_ref=item["child"], people_refs=people)
        names = (set(item) & set(CONTRACT_EVENT_FIELDS) | set(given_fields(event))) - {"child"}
        differences = [n for n in names if n not in item or not _same(n, item[n], values[n])]
        if child is not None and (not child.child.pk or event.child_id not in self.group(child.child)):
            differences.append("child")
        given = _unknown(item, CONTRACT_EVENT_FIELDS)
        kept = {k: v for k, v in event.extra.items() if k not in values}
        differences += [k for k in set(given) | set(kept) if given.get(k, _MISSING) != kept.get(k, _MISSING)]
        return differences

    def group(self, child: Child) -> list[int]:
        if child.pk not in self.groups:
            self.groups[child.pk] = record_group(child)
        return self.groups[child.pk]

    def place_new_records(self) -> None:
        """A new child without an area takes the area of the agency of its first event; a new agency without
        one, the area of the first child whose events it records. Neither guess is made across areas."""
        first_agency: dict[int, str] = {}
        first_child: dict[str, _ChildPlan] = {}
        for plan in self.events:
            first_agency.setdefault(plan.plan.key, plan.event.agency.code)
            first_child.setdefault(plan.event.agency.code, plan.plan)
        for plan in self.children.values():
            if plan.status == "created" and plan.area is None and "area" not in plan.record:
                plan.area = self.agency_area.get(first_agency.get(plan.key, ""))
                if plan.area is None:
                    self.problem(
                        ("children", plan.index, "area"),
                        "needed for a new child: give the area, or an event by an agency with an area",
                    )
        for i, agency in self.new_agencies:
            if self.agency_area[agency.code] is None and "area" not in self.doc["agencies"][i]:
                owner = first_child.get(agency.code)
                self.agency_area[agency.code] = area = _plan_area(owner) if owner else None
                if area is None:
                    self.problem(("agencies", i, "area"), f"needed for new agency '{agency.code}': give the area")

    def check_access(self) -> None:
        actor = self.actor
        if policy.is_system(actor):
            return
        lead_of = (
            actor.agency.area_id
            if actor.is_active and actor.agency_id and actor.has_role(Role.AREA_SAFEGUARDING_LEAD)
            else None
        )
        for plan in self.children.values():
            place = ("children", plan.index)
            if plan.child.pk:
                access = policy.access_for(actor, plan.child)
                if access is None or not access.can_write:
                    self.problem(place, f"'{actor.username}' may not record information for this child")
            elif plan.status == "created" and (plan.area is None or not plan.area.pk or plan.area.pk != lead_of):
                self.problem(
                    place,
                    f"'{actor.username}' may not create a child record here: only the system account "
                    "or a safeguarding lead for the child's area can",
                )

    # --- writing: only once nothing is wrong ---

    def write(self) -> ImportSummary:
        now, counts = timezone.now(), self.summary.counts
        for area in self.new_areas:
            area.save()
            counts["areas"]["created"] += 1
        for _, agency in self.new_agencies:
            agency.area = self.agency_area[agency.code]
            agency.save()
            counts["agencies"]["created"] += 1
        touched: dict[int, dict[str, Any]] = {}
        created = []
        for plan in self.children.values():
            if plan.status == "created":
                plan.child.area = plan.area
                plan.child.save()
                created.append(plan.child)
            counts["children"][plan.status] += 1
        ChildIdentifier.objects.bulk_create(
            [
                ChildIdentifier(child=plan.child, source=self.source, ref=plan.ref, record=plan.record)
                for plan in self.children.values()
                if plan.status != "unchanged"
            ]
        )
        for plan in self.children.values():
            if plan.status != "unchanged":
                touched.setdefault(plan.child.pk, {"source": self.source, "identifier": plan.status})
        self.write_people(touched)
        self.write_events(now, touched)
        self.summary.match_candidates = sum(len(linkage.likely_matches_queue(child) or []) for child in created)
        AuditEntry.objects.bulk_create(
            [
                AuditEntry(
                    at=now,
                    user=self.actor,
                    action="import",
                    child_id=child_id,
                    target=f"source {self.source}",
                    detail=detail,
                )
                for child_id, detail in sorted(touched.items())
            ]
        )
        child_ids = sorted(touched)
        if child_ids:
            actor = self.actor
            signals.events_written.send(sender=Event, child_ids=child_ids, actor=actor)
            transaction.on_commit(lambda: signals.events_recorded.send(sender=Event, child_ids=child_ids, actor=actor))
        return self.summary

    def write_people(self, touched: dict[int, dict[str, Any]]) -> None:
        counts = self.summary.counts["people"]
        new = [plan.person for plan in self.people.values() if plan.person.pk is None]
        Person.objects.bulk_create(new)
        counts["created"] += len(new)
        through = Person.children.through
        linked = set(
            through.objects.filter(person_id__in=[p.person.pk for p in self.people.values()]).values_list(
                "person_id", "child_id"
            )
        )
        links = []
        for plan in self.people.values():
            added = False
            for child in {c.child.pk: c.child for c in plan.children}.values():
                if (plan.person.pk, child.pk) not in linked:
                    links.append(through(person_id=plan.person.pk, child_id=child.pk))
                    linked.add((plan.person.pk, child.pk))
                    touched.setdefault(child.pk, {"source": self.source})
                    touched[child.pk]["people_linked"] = touched[child.pk].get("people_linked", 0) + 1
                    added = True
            if plan.person not in new:
                counts["linked" if added else "unchanged"] += 1
        through.objects.bulk_create(links)

    def write_events(self, now: datetime, touched: dict[int, dict[str, Any]]) -> None:
        plans = {plan.index: plan for plan in self.events}
        depth: dict[int, int] = {}

        def depth_of(plan: _EventPlan) -> int:
            if plan.index not in depth:
                target = plans.get(plan.amends) if isinstance(plan.amends, int) else None
                depth[plan.index] = depth_of(target) + 1 if target else 0
            return depth[plan.index]

        # An amendment needs the id of the entry it amends: write the entries before their amendments.
        for level in sorted({depth_of(plan) for plan in plans.values()}):
            layer = [plan for plan in plans.values() if depth_of(plan) == level]
            for plan in layer:
                plan.event.child = plan.plan.child
                plan.event.recorded_at = plan.event.recorded_at or now
                if plan.amends is not None:
                    plan.event.amends = plans[plan.amends].event if isinstance(plan.amends, int) else plan.amends
            Event.objects.bulk_create([plan.event for plan in layer], batch_size=_BATCH)
        rows = [
            Event.people.through(event_id=plan.event.pk, person_id=getattr(person, "person", person).pk)
            for plan in sorted(plans.values(), key=lambda p: p.index)
            for person in plan.people
        ]
        Event.people.through.objects.bulk_create(rows, batch_size=_BATCH)
        self.summary.counts["events"]["created"] += len(plans)
        for plan in plans.values():
            detail = touched.setdefault(plan.event.child_id, {"source": self.source})
            detail["events_created"] = detail.get("events_created", 0) + 1
