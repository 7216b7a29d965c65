"""Import, first half: check the whole document against the contract and what is stored, and plan the writing."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import fields
from datetime import date
from functools import cached_property

import nhs_number
from django.utils import timezone
from django.utils.text import slugify
from stdnum.gb import upn as upn_number

from agencies import policy
from agencies.models import Agency, Area, Role, User
from chronology import linkage
from chronology.exchange.contract import (
    _BATCH,
    ADDED_FIELDS,
    AGENCY_FIELDS,
    AGENCY_KEEPS_EXTRA,
    CHILD_FIELDS,
    PERSON_FIELDS,
    SOURCE_PATTERN,
    _event_people,
    event_values,
    given_fields,
    parse_timestamp,
    person_document,
)
from chronology.exchange.plans import (
    _MISSING,
    ImportSummary,
    _ChildPlan,
    _EventPlan,
    _PersonPlan,
    _plan_area,
    _same,
    _surviving,
    _unknown,
)
from chronology.exchange.problems import Place, Problem
from chronology.models import Child, ChildIdentifier, Event, Person
from chronology.services import CONTRACT_EVENT_FIELDS, JIGSAW_SOURCE, EventInput, event_problems, record_group

# Looked up once per key of every event: a set, not the contract's list.
_EVENT_FIELDS = frozenset(CONTRACT_EVENT_FIELDS)
# The order `event_input` gives EventInput's fields in: a change to EventInput that breaks it stops the import here.
_EVENT_INPUT_ORDER = (
    "occurred_on",
    "agency",
    "type",
    "summary",
    "date_precision",
    "factors",
    "action_taken",
    "child_seen",
    "child_seen_alone",
    "child_voice",
    "information_source",
    "verified",
    "significant",
    "sharing",
    "details",
    "people",
    "amends",
    "amendment_reason",
    "amendment_kind",
    "recorded_by",
    "recorded_at",
    "extra",
)
if tuple(f.name for f in fields(EventInput))[: len(_EVENT_INPUT_ORDER)] != _EVENT_INPUT_ORDER:
    raise ImportError("chronology.services.EventInput's fields moved: make _EVENT_INPUT_ORDER and event_input agree")


class _Planner:
    """Every problem of the document, and what to write if there is none. `_Importer` writes it."""

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
        # One date for the whole document: asking the clock and the time zone for each event cost more than the rules.
        self.today = timezone.localdate()
        # Every ref given, even on a line with a schema problem: that line is reported once, not again as unknown.
        self.child_refs = {c.get("ref") for c in document["children"] if isinstance(c, dict)}

    @cached_property
    def given(self) -> set[tuple[str, str, str]]:
        # Asked only about a ref that is not found: most documents never need it.
        return {
            (name, self.origin(item), item.get("ref"))
            for name in ("people", "events")
            for item in self.doc.get(name) or []
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
        # One pass over the lines for what the checks ask of all of them (a document may hold tens of thousands).
        keys: dict[int, tuple[str, str]] = {}
        index: dict[tuple[str, str], int] = {}
        amended, codes, people = set(), set(), set()
        origin, source = self.origin, self.source
        for i, item in items:
            key = keys[i] = (origin(item) if "origin_source" in item else source, item["ref"])
            if key in index:
                self.problem(("events", i, "ref"), f"event '{key[1]}' is given twice")
            else:
                index[key] = i
            if isinstance(target := item.get("amends"), str):
                amended.add((key[0], target))
            codes.add(item["agency"])
            for ref in item.get("people", ()):
                people.add((key[0], ref))
        stored = self.stored_events(set(index) | amended)
        stored_people = _event_people([e.pk for e in stored.values()])
        for agency in Agency.objects.filter(code__in=codes - set(self.agencies)).select_related("area"):
            self.agencies[agency.code] = agency
            self.agency_area[agency.code] = agency.area
        self.load_people(people)
        documents = dict(items)
        new: dict[int, _EventPlan] = {}
        check_event = self.check_event
        for i, item in items:
            if index[keys[i]] != i:
                continue
            plan = check_event(i, item, index, stored, stored_people, documents)
            if plan is not None:
                new[i] = plan
        for plan in new.values():
            if not isinstance(plan.amends, int):
                continue
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
        data = self.event_input(item, agency, stand_in)
        on = child.child if child.child.pk else Child(pk=child.key)
        for name, messages in event_problems(data, child=on, today=self.today).items():
            if name == "amends" and isinstance(target, str) and amends is None:
                continue  # already reported: the entry it amends is unknown
            for message in messages:
                self.problem((*place, name), message)
        if recorded_at is None and "recorded_at" in item:
            data.extra["recorded_at"] = None  # given as null: kept as given, see event_values
        return _EventPlan(i, self.new_event(source, item, data, recorded_at, amends), child, people, amends)

    def event_input(self, item: dict, agency: Agency, amends: Event | None) -> EventInput:
        """A line as the event service takes it, for the rules every event meets (`services.event_problems`).
        Made for every line of a document, so given by position (`_EVENT_INPUT_ORDER`), which costs less than half
        of naming each field."""
        get = item.get
        return EventInput(
            date.fromisoformat(item["occurred_on"]),
            agency,
            item["type"],
            item["summary"],
            get("date_precision", "day"),
            list(get("factors", ())),
            get("action_taken", ""),
            get("child_seen"),
            get("child_seen_alone"),
            get("child_voice", ""),
            get("source", "practitioner"),
            get("verified", "unverified"),
            get("significant", False),
            get("sharing", "all"),
            dict(get("details", {})),
            [],
            amends,
            get("amendment_reason", ""),
            get("amendment_kind", ""),
            get("recorded_by", ""),
            None,
            _unknown(item, _EVENT_FIELDS),
        )

    def new_event(self, source: str, item: dict, data: EventInput, recorded_at, amends) -> Event:
        """The event to write for a checked line (not saved here)."""
        return Event(
            source_system=source,
            ref=item["ref"],
            occurred_on=data.occurred_on,
            date_precision=data.date_precision,
            agency=data.agency,
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

    def event_differences(self, item: dict, event: Event, child: _ChildPlan | None, people: list[str]) -> list[str]:
        values = event_values(event, child_ref=item["child"], people_refs=people)
        names = (set(item) & set(CONTRACT_EVENT_FIELDS) | set(given_fields(event))) - {"child"}
        differences = [n for n in names if n not in item or not _same(n, item[n], values[n])]
        if child is not None and (not child.child.pk or event.child_id not in self.group(child.child)):
            differences.append("child")
        given = _unknown(item, _EVENT_FIELDS)
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
