"""Batch import through the REST API: an exchange document written as one agency, checked whole, written in bulk.

What a document means is the exchange importer's (`chronology.exchange`): the same checks (the contract's JSON
Schema, the references, `services.event_problems` and the vocabulary, the access policy) and the same all or
nothing. On top of it a key writes only as its agency: the document names no other agency and creates none, every
event is that agency's, and the platform sets the recorder (the acting person) and the time of recording.

What differs is the writing, so that a large document is written at the speed agencies' systems send. Children and
people are written once their checks pass; the events then go to the database while they are still being checked
(on PostgreSQL by COPY, with ids taken from the table's sequence beforehand, so amendments can name the entries they
amend), and the database works through them while Python checks the next. A problem found anywhere stops the
writing and rolls all of it back. One audit entry and one re-assessment due row are written per child, not per
event; the re-assessments themselves follow in the background (`chronology.signals`).
"""

from __future__ import annotations

import contextlib
import gc
import json
import select
from collections import defaultdict
from typing import Any

import psycopg
import structlog
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from psycopg import pq
from psycopg.copy import LibpqWriter

from agencies import policy
from agencies.models import Agency, ApiKey, AuditEntry, Involvement, Role, User
from chronology import linkage, signals
from chronology.exchange import ImportRefused, ImportSummary, Problem, place_text, schema_problems
from chronology.exchange.contract import _BATCH, SOURCE_PATTERN
from chronology.exchange.plans import _EventPlan
from chronology.exchange.validation import no_year_zero
from chronology.exchange.writing import _Importer
from chronology.models import BatchImport, Child, ChildIdentifier, Event, Person, SourceAgency
from chronology.services import (
    CONTRACT_EVENT_FIELDS,
    JIGSAW_SOURCE,
    EventInput,
    _recorded_by,
    amendment_allowed,
    event_problems,
)

log = structlog.get_logger(__name__)

# Set by the platform for every event sent with a key: the acting person, and the time it was written.
PLATFORM_FIELDS = ("recorded_by", "recorded_at")
# How often a running import says how far it has checked (for the status resource).
PROGRESS_EVERY = 5000
_PROGRESS_KEY = "batch-import-progress:{}"
# Refs asked about in one query when looking for events already stored (SQLite takes at most 999 parameters).
_PROBE = 900
# The refs go as one JSON text (formatting tens of thousands of them as an array parameter costs more than the
# lookup), joined to the events, so that each is looked up once whichever plan PostgreSQL takes. (`ref = ANY(array
# of the JSON's elements)` is not: an array the planner cannot see is searched line by line for every stored event
# of the source it filters, minutes for a second import of 50,000 events.)
_STORED_REFS = (
    "SELECT e.ref FROM jsonb_array_elements_text(%s::jsonb) AS r(ref)"
    " JOIN chronology_event e ON e.source_system = %s AND e.ref = r.ref"
)

_CONTENT = (
    "source_system",
    "ref",
    "occurred_on",
    "date_precision",
    "agency_id",
    "type",
    "factors",
    "summary",
    "action_taken",
    "child_seen",
    "child_seen_alone",
    "child_voice",
    "information_source",
    "verified",
    "significant",
    "sharing",
    "recorded_at",
    "recorded_by",
    "recorded_by_user_id",
    "amendment_reason",
    "amendment_kind",
    "details",
    "extra",
    "given_fields",
    "stored_at",
)


# --- before anything is queued: a key writes only as its agency ------------------------------------------------


def writing_agency(*, actor: User, api_key: ApiKey | None) -> Agency:
    """The agency a document is written as: the key's, or (from the browser) the person's own."""
    if api_key is not None:
        return api_key.agency
    if actor.agency_id is None:
        raise PermissionDenied("Only people of an agency send exchange documents: events are recorded as an agency.")
    return actor.agency


def agency_problems(document: Any, *, agency: Agency) -> list[Problem]:
    """What a document may not say when written as `agency`: another agency, a new agency, the recorder or the
    time of recording. Every line is looked at; lines of the wrong shape are left to the schema."""
    problems = []
    if not isinstance(document, dict):
        return [Problem((), "must be an exchange document: a JSON object (see docs/exchange.md)")]
    source = document.get("source")
    if isinstance(source, str) and source and _sent_for_another_agency(source, agency):
        # A source is one system, whose refs name its records: one agency's key may not send as another's system
        # (its refs would take, or clash with, the records that system sends).
        problems.append(
            Problem(("source",), f"'{source}' is the system another agency's records came from: send as your own")
        )
    agencies = document.get("agencies")
    for i, item in enumerate(agencies if isinstance(agencies, list) else ()):
        if isinstance(item, dict) and item.get("code") != agency.code:
            problems.append(
                Problem(
                    ("agencies", i, "code"),
                    f"a document sent with this key is written as '{agency.code}' only: it may list no other "
                    "agency, and creating agencies is refused",
                )
            )
    events = document.get("events")
    for i, item in enumerate(events if isinstance(events, list) else ()):
        if not isinstance(item, dict):
            continue
        if "agency" in item and item["agency"] != agency.code:
            problems.append(
                Problem(
                    ("events", i, "agency"),
                    f"'{item['agency']}' is not this key's agency: events sent with it are recorded for "
                    f"'{agency.code}' only",
                )
            )
        for name in PLATFORM_FIELDS:
            if name in item:
                problems.append(
                    Problem(
                        ("events", i, name),
                        "set by the platform (the acting person, and the time the import is written): leave it out",
                    )
                )
    return problems


def _sent_for_another_agency(source: str, agency: Agency) -> bool:
    if source == JIGSAW_SOURCE:  # the platform's own records, every agency's
        return True
    return SourceAgency.objects.filter(source=source).exclude(agency=agency).exists()


def problems_by_place(problems: list[Problem]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for problem in sorted(set(problems), key=Problem.sort_key):
        found.setdefault(place_text(problem.place), []).append(problem.message)
    return found


# --- queueing and reading an import --------------------------------------------------------------------------------


def batch_import_queue(
    *, actor: User, agency: Agency, api_key: ApiKey | None, document: dict, text: str
) -> BatchImport:
    """Keep the document and queue its import once the caller's transaction commits."""
    events = document.get("events")
    job = BatchImport.objects.create(
        agency=agency,
        requested_by=actor,
        api_key=api_key,
        source=document["source"] if isinstance(document.get("source"), str) else "",
        document=text,
        events_total=len(events) if isinstance(events, list) else 0,
        created_at=timezone.now(),
    )
    pk = str(job.pk)

    def queue():
        from chronology.tasks import batch_import_run as task

        try:
            task.delay(pk)
        except Exception as exc:  # the broker is down: the sweep queues it again
            log.warning("batch_import_not_queued", batch_import=pk, error=type(exc).__name__)

    transaction.on_commit(queue)
    log.info("batch_import_queued", batch_import=pk, agency=agency.code, actor=actor.pk, events=job.events_total)
    return job


def batch_import_get(*, actor: User, api_key: ApiKey | None, import_id) -> BatchImport:
    """An import, for its caller (the same key, or the same person) and the people of its agency.
    `BatchImport.DoesNotExist` for anyone else, as for an import that does not exist."""
    job = BatchImport.objects.defer("document").filter(pk=import_id).first()  # polled: never the document
    if job is None:
        raise BatchImport.DoesNotExist
    same_key = api_key is not None and job.api_key_id == api_key.pk
    if not (same_key or job.requested_by_id == actor.pk or (actor.agency_id and job.agency_id == actor.agency_id)):
        raise BatchImport.DoesNotExist
    return job


def results_shown(results: dict | None) -> dict | None:
    """An import's results as the status resource shows them: each record on its own."""
    if results is None:
        return None
    events = results["events"]
    return {
        **results,
        "events": [
            {"ref": ref, "outcome": outcome, "id": pk}
            for ref, outcome, pk in zip(events["ref"], events["outcome"], events["id"], strict=True)
        ],
    }


def events_checked(job: BatchImport) -> int:
    if job.state in (BatchImport.State.DONE, BatchImport.State.REFUSED):
        return job.events_total
    if job.state == BatchImport.State.RUNNING:
        return min(cache.get(_PROGRESS_KEY.format(job.pk), 0), job.events_total)
    return 0


# --- the task ----------------------------------------------------------------------------------------------------


def batch_import_run(*, import_id) -> str:
    """Run a queued import (the Celery task's body). Safe to run twice: an import runs to its end once."""
    with transaction.atomic():
        job = BatchImport.objects.select_for_update().only("state", "started_at").filter(pk=import_id).first()
        if job is None or job.state not in (BatchImport.State.QUEUED, BatchImport.State.RUNNING):
            return job.state if job else "missing"
        job.state, job.started_at = BatchImport.State.RUNNING, timezone.now()
        job.save(update_fields=["state", "started_at"])
    try:
        with _no_collection(), transaction.atomic():
            job = (
                BatchImport.objects.select_for_update(of=("self",))
                .select_related("agency__area", "requested_by__agency")
                .get(pk=job.pk)
            )
            if job.state != BatchImport.State.RUNNING:
                return job.state  # another worker ran it while this one waited
            importer = _import(job)
            summary = importer.summary
            BatchImport.objects.filter(pk=job.pk).update(
                state=BatchImport.State.DONE,
                counts=summary.as_dict(),
                results=importer.outcome,
                problems=[],
                document="",
                finished_at=timezone.now(),
            )
            # Let the document go while collection is held off: every object made since would otherwise be walked
            # by the first collection after (a tenth of a second and more for 50,000 lines), and then freed anyway.
            importer = None
    except ImportRefused as refused:
        _finish(
            job,
            BatchImport.State.REFUSED,
            [{"place": place_text(p.place), "message": p.message} for p in refused.problems],
        )
        log.info("batch_import_refused", batch_import=str(job.pk), problems=len(refused.problems))
        return BatchImport.State.REFUSED
    except Exception:
        log.exception("batch_import_failed", batch_import=str(job.pk))
        message = "the import stopped on the platform and nothing was written: send the document again"
        _finish(job, BatchImport.State.FAILED, [{"place": "(document)", "message": message}])
        return BatchImport.State.FAILED
    finally:
        cache.delete(_PROGRESS_KEY.format(job.pk))
    log.info(
        "batch_import_done",
        batch_import=str(job.pk),
        source=summary.source,
        actor=job.requested_by_id,
        **{f"{k}_{s}": n for k, v in summary.counts.items() for s, n in v.items()},
    )
    return BatchImport.State.DONE


@contextlib.contextmanager
def _no_collection():
    """The parsed document is millions of objects, and Python's full collections walk every one of them, dozens
    of times in a large import: they are held off until the import is written (reference counting still frees).
    Whatever is still held when they are allowed again is walked once, so the caller lets the document go first."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _finish(job: BatchImport, state: str, problems: list[dict]) -> None:
    with transaction.atomic():
        BatchImport.objects.filter(pk=job.pk).update(
            state=state, problems=problems, document="", finished_at=timezone.now()
        )


def _import(job: BatchImport) -> _BatchImporter:
    try:
        document = json.loads(job.document)
    except json.JSONDecodeError as exc:  # the view parsed it: only a document changed since can be refused here
        raise ImportRefused([Problem((), f"not valid JSON: {exc.msg}")]) from exc
    if "\\u0000" in job.document and _has_nul(document):  # PostgreSQL stores no NUL character, in text or JSON
        raise ImportRefused([Problem((), "contains the character \\u0000 (NUL), which cannot be stored: remove it")])
    problems = schema_problems(document, native_dates=no_year_zero(job.document))
    problems += agency_problems(document, agency=job.agency)
    if (
        not isinstance(document, dict)
        or not all(isinstance(document.get(k), list) for k in ("agencies", "children", "events"))
        or not isinstance(document.get("people", []), list)
        or not isinstance(document.get("source"), str)
    ):
        raise ImportRefused(problems)
    # Lines with a problem of shape or agency are not checked further, as in the importer.
    bad = {p.place[:2] for p in problems if len(p.place) >= 2}
    importer = _BatchImporter(
        actor=job.requested_by, agency=job.agency, job=job, document=document, bad=bad, problems=problems
    )
    importer.run()
    return importer


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


# --- the importer, writing as it checks ----------------------------------------------------------------------------


class _BatchImporter(_Importer):
    def __init__(self, *, actor: User, agency: Agency, job: BatchImport | None, **kwargs):
        super().__init__(actor=actor, **kwargs)
        self.agency, self.job = agency, job
        self.now = timezone.now()
        self.recorded_by = _recorded_by(actor)[: Event._meta.get_field("recorded_by").max_length]
        self.access: dict[int, policy.Access] = {}
        self.stored: dict[tuple[str, str], Event] = {}
        self.sink: _CopySink | _BulkSink | None = None
        self.created_children: list = []
        self.person_outcomes: dict[tuple[str, str], str] = {}
        self.checked = 0
        self.outcome: dict[str, Any] | None = None  # results(), once written
        self.encode = _as_is
        self._given: dict[tuple, Any] = {}  # the fields each shape of line gives, encoded

    def run(self) -> ImportSummary:
        """Check the whole document and write it, or raise `ImportRefused` (the caller's transaction rolls back)."""
        own_source_valid = isinstance(self.source, str) and SOURCE_PATTERN.match(self.source)
        for name in ("people", "events"):
            for i, item in self.items(name):
                if own_source_valid and "origin_source" not in item:
                    continue  # the line is of the document's own source, a valid name
                origin = item.get("origin_source", self.source)
                if not (isinstance(origin, str) and SOURCE_PATTERN.match(origin)):
                    self.problem((name, i, "origin_source"), "must be a source name (see docs/exchange.md)")
                    self.bad.add((name, i))
        self.check_agencies()
        self.check_children()
        self.check_people()
        self.place_new_children()
        self.check_access()
        touched: dict[int, dict[str, Any]] = {}
        if not self.problems:
            touched = self.write_records()
        with self.event_sink() as self.sink:
            self.check_events()
            if self.problems:
                # Raised inside: a COPY under way is abandoned rather than finished.
                raise ImportRefused(self.problems)
            # What needs only Python, while PostgreSQL writes the last rows sent (the ids of a COPY are known).
            self.count_events(touched)
            if isinstance(self.sink, _CopySink):
                self.outcome = self.results()
        if self.outcome is None:
            self.outcome = self.results()
        self.finish(touched)
        return self.summary

    # --- checking: the importer's, with what a key may not do ---

    def place_new_children(self) -> None:
        """A new child without an area is in the area of the agency writing its events (the importer's rule, with
        every event this agency's); a child no event names still needs its area."""
        named = None  # the children the events name: looked for only when a new child needs its area
        for plan in self.children.values():
            if plan.status == "created" and plan.area is None and "area" not in plan.record:
                if named is None:
                    named = {e.get("child") for _, e in self.items("events")}
                plan.area = self.agency.area if plan.ref in named else None
                if plan.area is None:
                    self.problem(
                        ("children", plan.index, "area"),
                        "needed for a new child: give the area, or an event by an agency with an area",
                    )
        for i, agency in self.new_agencies:  # never: only the key's own agency may be listed, and it exists
            self.problem(("agencies", i, "code"), f"creating agency '{agency.code}' is refused")

    def check_access(self) -> None:
        """The importer's access check (agencies.policy, for every stored child at once), keeping each child's
        access: recording through an involvement keeps it active, as recording in the browser does."""
        actor = self.actor
        lead_of = (
            actor.agency.area_id
            if actor.is_active and actor.agency_id and actor.has_role(Role.AREA_SAFEGUARDING_LEAD)
            else None
        )
        answers = policy.access_for_many(actor, [plan.child for plan in self.children.values() if plan.child.pk])
        for plan in self.children.values():
            place = ("children", plan.index)
            if plan.child.pk:
                access = answers[plan.child.pk]
                if access is None or not access.can_write:
                    self.problem(place, f"'{actor.username}' may not record information for this child")
                else:
                    self.access[plan.child.pk] = access
            elif plan.status == "created" and (plan.area is None or not plan.area.pk or plan.area.pk != lead_of):
                self.problem(
                    place,
                    f"'{actor.username}' may not create a child record here: only the system account "
                    "or a safeguarding lead for the child's area can",
                )

    def stored_events(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], Event]:
        # Nearly every event of a batch is new: ask which refs are stored before loading any.
        by_source = defaultdict(list)
        for source, ref in keys:
            by_source[source].append(ref)
        existing = set()
        for source, refs in by_source.items():
            if connection.vendor == "postgresql":
                # One parameter: tens of thousands of IN parameters cost more to send than to look up.
                with connection.cursor() as cursor:
                    cursor.execute(_STORED_REFS, [json.dumps(refs), source])
                    existing.update((source, ref) for (ref,) in cursor.fetchall())
                continue
            for start in range(0, len(refs), _PROBE):
                rows = Event.objects.filter(source_system=source, ref__in=refs[start : start + _PROBE])
                existing.update((source, ref) for ref in rows.values_list("ref", flat=True))
        self.stored = super().stored_events(existing) if existing else {}
        return self.stored

    def event_differences(self, item, event, child, people) -> list[str]:
        if event.agency_id != self.agency.pk:
            # Say no more about another agency's event than that the ref is taken.
            return ["agency"]
        # The platform set the recorder and the time; the sender never gives them.
        return [name for name in super().event_differences(item, event, child, people) if name not in PLATFORM_FIELDS]

    def check_event(self, i, item, index, stored, stored_people, documents) -> _EventPlan | None:
        plan = self.plain_event(i, item, stored)
        if plan is None:
            plan = super().check_event(i, item, index, stored, stored_people, documents)
            if plan is not None and isinstance(plan.amends, Event):
                try:
                    amendment_allowed(actor=self.actor, original=plan.amends)
                except PermissionDenied as exc:
                    self.problem(("events", i, "amends"), str(exc))
        if plan is not None and self.sink is not None and not self.problems:
            self.sink.add(plan)
        self.checked += 1
        if self.job is not None and self.checked % PROGRESS_EVERY == 0:
            cache.set(_PROGRESS_KEY.format(self.job.pk), self.checked, 3600)
        return plan

    def plain_event(self, i: int, item: dict, stored) -> _EventPlan | None:
        """Most lines are a new event of the document's own source, for a child of the document, amending nothing:
        checked here by the rules every event meets without the importer's general path. Anything else, or any
        problem, goes down the general path, which finds and words every problem as the importer does."""
        source = self.source
        if "origin_source" in item or "recorded_at" in item or isinstance(item.get("amends"), str):
            return None
        child, agency = self.children.get(item["child"]), self.agencies.get(item["agency"])
        if child is None or agency is None or (source, item["ref"]) in stored or source == JIGSAW_SOURCE:
            return None
        people: list = []
        refs = item.get("people")
        if refs:
            for ref in refs:
                found = self.people.get((source, ref)) or self.stored_people.get((source, ref))
                if found is None:
                    return None
                people.append(found)
            if len(set(refs)) != len(refs):
                return None
        data = self.event_input(item, agency, None)
        if event_problems(data, child=child.child if child.child.id else Child(pk=child.key), today=self.today):
            return None
        return _EventPlan(i, self.new_event(source, item, data, None, None), child, people, None)

    def new_event(self, source: str, item: dict, data: EventInput, recorded_at, amends) -> tuple:
        # A row, not a model instance: building 50,000 instances costs more than writing them. JSON is given as the
        # sink writes it.
        encode, now = self.encode, self.now
        return (
            source,
            item["ref"],
            data.occurred_on,
            data.date_precision,
            data.agency.id,
            data.type,
            encode(data.factors),
            data.summary,
            data.action_taken,
            data.child_seen,
            data.child_seen_alone,
            data.child_voice,
            data.information_source,
            data.verified,
            data.significant,
            data.sharing,
            now,
            self.recorded_by,
            self.actor.id,
            data.amendment_reason,
            (data.amendment_kind or "correction") if amends is not None else "",
            encode(data.details),
            encode(data.extra),
            self.given_fields(item),
            now,
        )

    def given_fields(self, item: dict):
        """The fields the line gave (with the platform's), as the sink writes them. One sending system gives the
        same fields in the same order, line after line."""
        keys = tuple(item)
        found = self._given.get(keys)
        if found is None:
            found = self.encode([f for f in CONTRACT_EVENT_FIELDS if f in item or f in PLATFORM_FIELDS])
            self._given[keys] = found
        return found

    # --- writing ---

    def write_records(self) -> dict[int, dict[str, Any]]:
        """Children and people, before the events that name them."""
        counts = self.summary.counts["children"]
        for plan in self.children.values():
            if plan.status == "created":
                plan.child.area = plan.area
                plan.child.save()
                self.created_children.append(plan.child)
            counts[plan.status] += 1
        for plan in self.children.values():
            plan.key = plan.child.pk  # a new child's provisional key is its id from now on
        ChildIdentifier.objects.bulk_create(
            [
                ChildIdentifier(child=plan.child, source=self.source, ref=plan.ref, record=plan.record)
                for plan in self.children.values()
                if plan.status != "unchanged"
            ]
        )
        touched: dict[int, dict[str, Any]] = {}
        for plan in self.children.values():
            if plan.status != "unchanged":
                touched.setdefault(plan.child.pk, {"source": self.source, "identifier": plan.status})
        self.write_people(touched)
        return touched

    def write_people(self, touched: dict[int, dict[str, Any]]) -> None:
        counts = self.summary.counts["people"]
        new = [plan.person for plan in self.people.values() if plan.person.pk is None]
        fresh = {id(person) for person in new}
        Person.objects.bulk_create(new, batch_size=_BATCH)
        through = Person.children.through
        person_ids = [plan.person.pk for plan in self.people.values()]
        linked = set()
        for start in range(0, len(person_ids), _BATCH):
            rows = through.objects.filter(person_id__in=person_ids[start : start + _BATCH])
            linked.update(rows.values_list("person_id", "child_id"))
        links = []
        for key, plan in self.people.items():
            added = False
            for child in {c.child.pk: c.child for c in plan.children}.values():
                if (plan.person.pk, child.pk) not in linked:
                    links.append(through(person_id=plan.person.pk, child_id=child.pk))
                    linked.add((plan.person.pk, child.pk))
                    detail = touched.setdefault(child.pk, {"source": self.source})
                    detail["people_linked"] = detail.get("people_linked", 0) + 1
                    added = True
            outcome = "created" if id(plan.person) in fresh else "linked" if added else "unchanged"
            counts[outcome] += 1
            self.person_outcomes[key] = outcome
        through.objects.bulk_create(links, batch_size=_BATCH)

    @contextlib.contextmanager
    def event_sink(self):
        if self.problems:
            yield None  # nothing is written: the rest is only checked
            return
        count = len(self.doc["events"])
        sink = _CopySink(count) if connection.vendor == "postgresql" else _BulkSink()
        self.encode, self._given = sink.encode, {}
        with sink:
            yield sink

    def count_events(self, touched: dict[int, dict[str, Any]]) -> None:
        self.summary.counts["events"]["created"] += len(self.events)
        for plan in self.events:
            detail = touched.setdefault(plan.plan.child.id, {"source": self.source})
            detail["events_created"] = detail.get("events_created", 0) + 1

    def finish(self, touched: dict[int, dict[str, Any]]) -> None:
        """After the events: who was touched, the audit trail, and the announcement (re-assessments due)."""
        source, agency = _CONTENT.index("source_system"), _CONTENT.index("agency_id")
        SourceAgency.record({(plan.event[source], plan.event[agency]) for plan in self.events})
        self.summary.match_candidates = sum(
            len(linkage.likely_matches_queue(child) or []) for child in self.created_children
        )
        batch = {"batch_import": str(self.job.pk)} if self.job is not None else {}
        AuditEntry.objects.bulk_create(
            [
                AuditEntry(
                    at=self.now,
                    user=self.actor,
                    action="import",
                    child_id=child_id,
                    target=f"source {self.source}",
                    detail={**detail, **batch},
                )
                for child_id, detail in sorted(touched.items())
            ],
            batch_size=_BATCH,
        )
        involvements = {a.involvement.pk for pk, a in self.access.items() if pk in touched and a.involvement}
        if involvements:
            Involvement.objects.filter(pk__in=involvements).update(last_activity_at=self.now)
        child_ids = sorted(touched)
        if child_ids:
            actor = self.actor
            signals.events_written.send(sender=Event, child_ids=child_ids, actor=actor)
            transaction.on_commit(lambda: signals.events_recorded.send(sender=Event, child_ids=child_ids, actor=actor))

    def results(self) -> dict[str, Any]:
        """What happened to each child, person and event of the document, in its order, with the platform's ids.
        The events' are kept as three lists (`results_shown` gives them line by line): a third of the size to
        store, for tens of thousands of lines."""
        children = [
            {"ref": plan.ref, "outcome": plan.status, "id": plan.child.pk}
            for plan in sorted(self.children.values(), key=lambda p: p.index)
        ]
        people = [
            {"ref": ref, "outcome": self.person_outcomes[(source, ref)], "id": plan.person.pk}
            for (source, ref), plan in self.people.items()
        ]
        created = {plan.index: self.sink.id_of(plan) for plan in self.events} if self.sink else {}
        events: dict[str, list] = {"ref": [], "outcome": [], "id": []}
        for i, item in self.items("events"):
            events["ref"].append(item["ref"])
            if i in created:
                events["outcome"].append("created")
                events["id"].append(created[i])
            else:
                stored = self.stored.get((self.origin(item), item["ref"]))
                events["outcome"].append("unchanged")
                events["id"].append(stored.pk if stored else None)
        return {"children": children, "people": people, "events": events}


# --- where checked events go ---------------------------------------------------------------------------------------


def _as_is(value):
    return value


def _people_rows(plan: _EventPlan, event_id: int) -> list:
    through = Event.people.through
    return [through(event_id=event_id, person_id=getattr(p, "person", p).pk) for p in plan.people]


class _CopySink:
    """PostgreSQL: COPY, fed while the document is still being checked. Ids come from the table's sequence
    beforehand, one per line of the document, so an amendment names its entry before that entry is written.

    The events go by COPY while Python checks the next lines; an event's people are copied at the end. Where the
    database checks their keys per row (below), they go in chunks of `CHUNK` rows, one COPY each: the chunk's end
    is sent without waiting, and PostgreSQL checks its keys while Python checks the next lines (kept until it has
    finished). Where the import checks them, there is one COPY.

    Foreign keys are checked in one of two ways, both before commit and both holding the rows they name as the
    database's own checks do (FOR KEY SHARE: until the import commits, nobody deletes a child, an agency, a person
    or an entry that it names):
    - Per import, where the connection may (`_replication_role`): the COPY is written as a replica writes
      (`session_replication_role`), which fires none of the database's per-row key checks, and the import checks
      each key once: every child, agency, recorder, amended entry and person its rows name is locked, and one that
      does not exist refuses the whole import. The same guarantee as the per-row checks, for a few queries instead
      of three for every row. It needs a superuser or, on PostgreSQL 15 and later, `GRANT SET ON PARAMETER
      session_replication_role` (docs/operations.md), and no trigger on the tables written that a replica would
      skip (the append-only trigger fires always).
    - Per row otherwise, by the database: the keys to the child, the agency and the recorder are made IMMEDIATE
      for the import, so each chunk's are checked as it ends, while Python checks the next lines; an amendment's
      key to its entry stays deferred, as it may name a later line.

    A COPY holds the connection: any query the checking makes meanwhile (an amendment's record group, a stored
    event's child) first waits for the chunk under way, and the next lines start another. A query that writes ends
    the replica writing first, so that it and every later row meet the database's own checks."""

    CHUNK = 1000
    # How many lines are checked between two looks at whether PostgreSQL has finished the chunk before.
    LOOK_EVERY = 50

    def __init__(self, count: int):
        self.count = count
        self.people: list = []
        self.copy = self.copying = self.cursor = None
        self.in_copy = 0  # rows written to the COPY under way
        self.chunk = self.CHUNK  # rows per COPY
        self.ending = False  # a chunk's end was sent; its result is not yet read
        self.held: list[tuple] = []  # rows checked while PostgreSQL finishes a chunk
        self.immediate = ""
        self._json: dict[Any, bytes] = {}
        meta = Event._meta
        known = {"id", "child_id", "amends_id", *_CONTENT}
        # A column added to events later is written with its default, until this code names it.
        self.defaults = [f for f in meta.concrete_fields if f.attname not in known]
        columns = [meta.get_field(name).column for name in ("id", "child_id", "amends_id", *_CONTENT)]
        columns += [f.column for f in self.defaults]
        quote = connection.ops.quote_name
        self.columns = columns
        # Binary COPY: PostgreSQL parses no text for dates, times, numbers and booleans.
        self.statement = (
            f"COPY {quote(meta.db_table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN (FORMAT BINARY)"
        )
        self.tail = tuple(
            self.encode(f.get_default()) if f.get_internal_type() == "JSONField" else f.get_default()
            for f in self.defaults
        )
        # Checked per import: for each key to another table, its place in a row and the ids the rows name.
        by_column = {f.column: f for f in meta.concrete_fields}
        self.keys = [
            (position, by_column[column], set())
            for position, column in enumerate(columns)
            if by_column[column].many_to_one and by_column[column].related_model is not Event
        ]
        self.amended: set[int] = set()  # the entries amended, stored or of this document
        self.by_import = False  # the rows are being written as a replica writes
        self.check_keys = False  # the import checks its keys (the database may not have)

    def __enter__(self):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [Event._meta.db_table])
            (sequence,) = cursor.fetchone()
            # One row (an array) rather than one per id: a third less time for tens of thousands.
            cursor.execute(
                "SELECT ARRAY(SELECT nextval(%s::regclass) FROM generate_series(1, %s))", [sequence, self.count]
            )
            (self.ids,) = cursor.fetchone()
            cursor.execute(_COLUMN_TYPES, [Event._meta.db_table])
            found = dict(cursor.fetchall())
            # A jsonb value is sent as `encode` makes it (the binary form: a version byte, then the text), so psycopg
            # is told it is bytes, which it sends as they are.
            self.types = ["bytea" if found[c] == "jsonb" else found[c] for c in self.columns]
            role, allowed = _replication_role(cursor)
            # A session that already writes as a replica (set by whoever runs it) fires no key checks either.
            self.check_keys = role != "origin" or allowed
            if allowed and role == "origin":
                cursor.execute("SET LOCAL session_replication_role = replica")
                self.by_import = True
                # No key is checked as a chunk ends: one COPY, which PostgreSQL never waits between.
                self.chunk = max(self.count, 1)
            elif not self.check_keys:
                cursor.execute(_KEYS_CHECKED_BY_CHUNK, [Event._meta.db_table])
                self.immediate = ", ".join(connection.ops.quote_name(name) for (name,) in cursor.fetchall())
                if self.immediate:
                    cursor.execute(f"SET CONSTRAINTS {self.immediate} IMMEDIATE")
        self.pgconn = connection.connection.pgconn
        self.hook = connection.execute_wrapper(self._before_query)
        self.hook.__enter__()
        return self

    def __exit__(self, kind, value, traceback):
        self.hook.__exit__(kind, value, traceback)
        if kind is not None:
            # Nothing is kept: a COPY under way is abandoned, a chunk's end awaited (the connection must be free for
            # the rollback), and its outcome ignored.
            if self.copy is not None:
                self._end(kind, value, traceback)
            with contextlib.suppress(Exception):
                self._wait()
            return
        self._flush()
        if self.immediate:
            with connection.cursor() as cursor:  # the rest of the transaction as it was
                cursor.execute(f"SET CONSTRAINTS {self.immediate} DEFERRED")
        through = Event.people.through._meta
        if self.people:
            quote = connection.ops.quote_name
            columns = ", ".join(quote(through.get_field(name).column) for name in ("event", "person"))
            with (
                connection.cursor() as cursor,
                cursor.cursor.copy(f"COPY {quote(through.db_table)} ({columns}) FROM STDIN") as copy,
            ):
                for row in self.people:
                    copy.write_row(row)
        self._leave_replica()
        if self.check_keys:
            # A people link's key to its event names a row written above, in the same `add` as the link.
            table = Event._meta.db_table
            named = [(table, field, ids) for _, field, ids in self.keys]
            named.append((table, Event._meta.get_field("amends"), self.amended))
            named.append((through.db_table, through.get_field("person"), {person for _, person in self.people}))
            with connection.cursor() as cursor:
                for table, field, ids in named:
                    _hold_keys(cursor, table, field, ids)

    def _before_query(self, execute, sql, params, many, context):
        self._flush()
        if self.by_import and sql.lstrip()[:6].upper() != "SELECT":
            self._leave_replica()
        return execute(sql, params, many, context)

    def _leave_replica(self) -> None:
        """Write as the application again: triggers and the database's key checks fire for whatever follows (rows
        written from now on are checked both ways)."""
        if self.by_import:
            self.by_import = False
            with connection.connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = origin")

    def id_of(self, plan: _EventPlan) -> int:
        return self.ids[plan.index]

    def add(self, plan: _EventPlan) -> None:
        amends = plan.amends
        amends_id = self.ids[amends] if isinstance(amends, int) else amends.pk if amends is not None else None
        # `.id`, not `.pk`: read for every line, and the property costs more than the attribute.
        row = (self.ids[plan.index], plan.plan.child.id, amends_id, *plan.event, *self.tail)
        if plan.people:
            self.people += [(row[0], getattr(p, "person", p).id) for p in plan.people]
        if self.check_keys:
            for position, _, ids in self.keys:
                ids.add(row[position])
            if amends_id is not None:
                self.amended.add(amends_id)
        if self.ending:
            held = self.held
            held.append(row)
            # Looked at now and then (cheap, but not free); waited for only when a whole chunk is held.
            if len(held) % self.LOOK_EVERY and len(held) < self.chunk:
                return
            if len(held) < self.chunk and not self._finished():
                return
            self._wait()
            self._write(held)
            self.held = []
            return
        self._write((row,))

    def _write(self, rows) -> None:
        if self.copy is None:
            self.cursor = connection.connection.cursor()
            # Bytes as they are, by psycopg's own dumper for them (the one registered for bytea also takes its
            # `Binary` wrapper, in Python, for every value).
            self.cursor.adapters.register_dumper(bytes, _BYTES)
            self.copying = self.cursor.copy(self.statement, writer=_EndUnawaited(self.cursor))
            self.copy = self.copying.__enter__()
            self.copy.set_types(self.types)
        for row in rows:
            self.copy.write_row(row)
        self.in_copy += len(rows)
        if self.in_copy >= self.chunk:
            self._end()

    def _end(self, kind=None, value=None, traceback=None) -> None:
        """End the COPY under way without waiting for PostgreSQL to finish it (its keys are checked then); or,
        given the exception that stops the import, abandon it (psycopg waits for that)."""
        copying, cursor, self.copy, self.copying, self.cursor = self.copying, self.cursor, None, None, None
        try:
            copying.__exit__(kind, value, traceback)
        finally:
            cursor.close()
        self.in_copy, self.ending = 0, kind is None

    def _finished(self) -> bool:
        """Whether PostgreSQL has finished the chunk whose end was sent (never waits)."""
        self.pgconn.consume_input()
        return not self.pgconn.is_busy()

    def _wait(self) -> None:
        """Wait for the chunk whose end was sent, and raise its error if it had one."""
        if not self.ending:
            return
        self.ending = False
        pgconn = self.pgconn
        pgconn.consume_input()
        while pgconn.is_busy():
            select.select([pgconn.socket], [], [])
            pgconn.consume_input()
        error = None
        while (result := pgconn.get_result()) is not None:
            if result.status != pq.ExecStatus.COMMAND_OK and error is None:
                error = psycopg.errors.error_from_result(result, encoding=connection.connection.info.encoding)
        if error is not None:
            raise error

    def _flush(self) -> None:
        """Every row checked so far written, and the connection free for a query."""
        if self.copy is not None:
            self._end()
        self._wait()
        if self.held:
            held, self.held = self.held, []
            self._write(held)
            if self.copy is not None:
                self._end()
            self._wait()

    def encode(self, value) -> bytes:
        """JSON as binary COPY takes it for a jsonb column: the format's version (1), then the text. Factors and
        given fields are a few lists, repeated line after line; details and unknown fields are mostly empty."""
        if not value:
            return _EMPTY_LIST if isinstance(value, list) else _EMPTY_OBJECT
        if isinstance(value, list):
            key = tuple(value)
            found = self._json.get(key)
            if found is None:
                found = self._json[key] = b"\x01" + json.dumps(value).encode()
            return found
        return b"\x01" + json.dumps(value).encode()


_EMPTY_LIST, _EMPTY_OBJECT = b"\x01[]", b"\x01{}"
_BYTES = psycopg.postgres.adapters.get_dumper(bytes, psycopg.adapt.PyFormat.BINARY)
_COLUMN_TYPES = """
    SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
    WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
"""


def _replication_role(cursor) -> tuple[str, bool]:
    """The session's replication role, and whether the import may write as a replica: the connection may set the
    role, and no trigger on the tables written would be skipped (one that fires only for the application)."""
    if connection.pg_version < 150000:  # no SET privilege on parameters before 15: superusers only
        cursor.execute(
            "SELECT current_setting('session_replication_role'), rolsuper FROM pg_roles WHERE rolname = current_user"
        )
    else:
        cursor.execute(
            "SELECT current_setting('session_replication_role'),"
            " has_parameter_privilege('session_replication_role', 'SET')"
        )
    role, allowed = cursor.fetchone()
    if allowed:
        cursor.execute(_TRIGGERS_A_REPLICA_SKIPS, [Event._meta.db_table, Event.people.through._meta.db_table])
        allowed = cursor.fetchone()[0] == 0
    return role, bool(allowed)


_TRIGGERS_A_REPLICA_SKIPS = """
    SELECT count(*) FROM pg_trigger
    WHERE tgrelid IN (%s::regclass, %s::regclass) AND NOT tgisinternal AND tgenabled = 'O'
"""


def _hold_keys(cursor, table: str, field, ids: set) -> None:
    """Lock the rows `ids` name through `field`, as the database's own key check does, or refuse as it would at
    commit if any is missing."""
    ids = {i for i in ids if i is not None}
    if not ids:
        return
    target = field.target_field
    quote = connection.ops.quote_name
    name, column = quote(target.model._meta.db_table), quote(target.column)
    statement = f"SELECT {column} FROM {name} WHERE {column} = ANY(%s) FOR KEY SHARE"  # noqa: S608 (names quoted)
    cursor.execute(statement, [sorted(ids)])
    missing = ids - {found for (found,) in cursor.fetchall()}
    if missing:
        raise IntegrityError(
            f'insert on table "{table}" violates a foreign key: key ({field.column})=({min(missing)}) is not '
            f'present in table "{target.model._meta.db_table}"'
        )


# The foreign keys of events that are checked as each chunk ends: every deferred one but the key to the entry an
# event amends (which may be a later line of the document).
_KEYS_CHECKED_BY_CHUNK = """
    SELECT conname FROM pg_constraint
    WHERE conrelid = %s::regclass AND contype = 'f' AND condeferrable AND condeferred AND confrelid <> conrelid
    ORDER BY conname
"""


class _EndUnawaited(LibpqWriter):
    """psycopg's writer, but a COPY's end is sent without waiting for its result: `_CopySink._wait` reads it."""

    def finish(self, exc: BaseException | None = None) -> None:
        if exc is not None:
            super().finish(exc)
            return
        pgconn = self._pgconn
        while pgconn.put_copy_end(None) == 0:
            select.select([], [pgconn.socket], [])
        while pgconn.flush():
            select.select([], [pgconn.socket], [])


class _BulkSink:
    """Any other database (the embedded SQLite): the events are kept and written at the end, entries before their
    amendments, with bulk_create."""

    def __init__(self):
        self.plans: dict[int, _EventPlan] = {}
        self.ids: dict[int, int] = {}

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        if kind is not None:
            return
        depth: dict[int, int] = {}

        def depth_of(plan: _EventPlan) -> int:
            if plan.index not in depth:
                target = self.plans.get(plan.amends) if isinstance(plan.amends, int) else None
                depth[plan.index] = depth_of(target) + 1 if target else 0
            return depth[plan.index]

        people = []
        for level in sorted({depth_of(plan) for plan in self.plans.values()}):
            layer = [plan for plan in self.plans.values() if depth_of(plan) == level]
            events = []
            for plan in layer:
                amends = plan.amends
                amends_id = self.ids.get(amends) if isinstance(amends, int) else amends.pk if amends else None
                values = dict(zip(_CONTENT, plan.event, strict=True))
                events.append(Event(child_id=plan.plan.child.pk, amends_id=amends_id, **values))
            Event.objects.bulk_create(events, batch_size=_BATCH)
            for plan, event in zip(layer, events, strict=True):
                self.ids[plan.index] = event.pk
                people += _people_rows(plan, event.pk)
        Event.people.through.objects.bulk_create(people, batch_size=_BATCH)

    def id_of(self, plan: _EventPlan) -> int:
        return self.ids[plan.index]

    def add(self, plan: _EventPlan) -> None:
        self.plans[plan.index] = plan

    encode = staticmethod(_as_is)  # the model's fields encode JSON themselves
