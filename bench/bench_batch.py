"""Batch import through the REST API: BENCH_BATCH_EVENTS events (default 50,000) over 500 children, in one document.

An agency's system (a real API key, X-Acting-User naming the agency's designated safeguarding lead; the agency's
team works with every child) sends one exchange document to POST /api/v1/imports through Django's test client.
The import task then runs in this process, as a Celery worker runs it, and is timed from start to end: reading the
stored document, the contract's JSON Schema, every check of the importer and the event service, the writing (COPY
on PostgreSQL) and the commit. The 500 children were imported from the same source before, so the document names
them as stored; each has two adults, named in one event in ten. Re-assessment follows in the background: the
tasks the import queues (one per child) are counted, not sent, so that no worker of a later benchmark runs them.
The system sends BENCH_BATCH_RUNS such documents (default 3; new events each time, the table growing) one after
the other, as a system catching up would: each import is timed, and the median is the rate the import sustains.
Run with DATABASE_URL on PostgreSQL for the numbers that count.
"""

from __future__ import annotations

import json
import os
import random
import time
from contextlib import contextmanager
from datetime import date, timedelta

from django.db import connection, transaction
from django.utils import timezone

CHILDREN = 500
SOURCE = "bench-hv-system"
AGENCY = "bench-hv"
TYPES = [
    ("home_visit", []),
    ("health_contact", []),
    ("presentation_concern", ["16A"]),
    ("was_not_brought", []),
    ("domestic_abuse_incident", ["3B"]),
    ("parental_mental_health_concern", ["4B"]),
    ("parental_substance_misuse_concern", ["2B"]),
    ("growth_or_development_concern", []),
    ("emotional_wellbeing_concern", ["4A"]),
    ("injury", []),
]
GIVEN = [
    "Amara",
    "Ben",
    "Callum",
    "Darcy",
    "Eli",
    "Freya",
    "Gus",
    "Hana",
    "Isla",
    "Jude",
    "Kai",
    "Lena",
]


def _children() -> tuple[list[dict], list[dict]]:
    children, people = [], []
    for k in range(CHILDREN):
        ref = f"c{k}"
        born = date(2012, 1, 1) + timedelta(days=k * 7)
        children.append(
            {
                "ref": ref,
                "given_name": GIVEN[k % len(GIVEN)],
                "family_name": f"Batch{k:04d}",
                "date_of_birth": born.isoformat(),
                "sex": "female" if k % 2 else "male",
                "area": "Batchshire",
            }
        )
        people.append(
            {
                "ref": f"{ref}-mother",
                "role": "mother",
                "given_name": "M",
                "children": [ref],
            }
        )
        people.append(
            {
                "ref": f"{ref}-partner",
                "role": "partner_of_parent",
                "given_name": "P",
                "children": [ref],
            }
        )
    return children, people


def _document(events_total: int, run: int = 0) -> dict:
    children, people = _children()
    per_child = events_total // CHILDREN
    r = random.Random(events_total)  # noqa: S311 (invented data, seeded so that runs compare)
    events = []
    for k in range(CHILDREN):
        born = date.fromisoformat(children[k]["date_of_birth"])
        for i in range(per_child):
            kind, factors = TYPES[r.randrange(len(TYPES))]
            seen = r.random() < 0.5
            line = {
                "ref": f"c{k}-e{i}" + (f"-r{run}" if run else ""),
                "child": f"c{k}",
                "occurred_on": (born + timedelta(days=30 + i * 14 + r.randrange(10))).isoformat(),
                "agency": AGENCY,
                "type": kind,
                "factors": factors,
                "summary": f"Contact {i}: what was seen and heard at the visit, written out for the next reader, "
                "with who was present and what the practitioner did about it.",
                "action_taken": "Discussed with the family; next visit booked." if i % 3 else "",
                "child_seen": seen,
                "child_seen_alone": seen and r.random() < 0.3,
                "child_voice": "Talked about school and a new friend." if seen else "",
                "source": "practitioner",
                "significant": kind == "injury",
            }
            if kind == "injury":
                line["details"] = {
                    "injury_kind": "bruise",
                    "injury_site": "shin",
                    "explanation_consistent": True,
                }
            if i % 10 == 0:
                line["people"] = [f"c{k}-mother", f"c{k}-partner"]
            events.append(line)
    return {
        "format": "chronology-exchange/1",
        "source": SOURCE,
        "agencies": [{"code": AGENCY, "name": "Bench health visiting", "kind": "health_visiting"}],
        "children": children,
        "people": people,
        "events": events,
    }


@contextmanager
def _queued_not_sent():
    """The tasks an import queues (its own, and one re-assessment per child) are counted here, not sent."""
    from chronology.tasks import batch_import_run
    from thresholds.tasks import reassess

    queued: list = []
    saved = batch_import_run.delay, reassess.delay
    batch_import_run.delay = lambda *args: queued.append(("import", args))
    reassess.delay = lambda *args: queued.append(("reassess", args))
    try:
        yield queued
    finally:
        batch_import_run.delay, reassess.delay = saved


@contextmanager
def _counting_queries():
    counted = [0]

    def count(execute, sql, params, many, context):
        counted[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        yield counted


def _setup():
    from agencies.apikeys import api_key_create
    from agencies.models import (
        Agency,
        AgencyKind,
        Area,
        Involvement,
        InvolvementReason,
        Role,
        RoleGrant,
        User,
    )
    from agencies.policy import system_user
    from chronology.exchange import chronology_import
    from chronology.models import ChildIdentifier

    area, _ = Area.objects.get_or_create(code="batchshire", defaults={"name": "Batchshire"})
    agency = Agency.objects.create(
        code=AGENCY,
        name="Bench health visiting",
        kind=AgencyKind.HEALTH_VISITING,
        area=area,
    )
    dsl = User.objects.create(username="bench-batch-dsl", first_name="Dana", last_name="Lead", agency=agency)
    RoleGrant.objects.create(user=dsl, role=Role.DESIGNATED_SAFEGUARDING_LEAD)
    children, people = _children()
    setup = {
        "format": "chronology-exchange/1",
        "source": SOURCE,
        "agencies": [],
        "children": children,
        "people": people,
        "events": [],
    }
    chronology_import(actor=system_user(), document=setup)
    now = timezone.now()
    Involvement.objects.bulk_create(
        [
            Involvement(
                child_id=child_id,
                agency=agency,
                reason=InvolvementReason.ALLOCATED,
                started_on=timezone.localdate() - timedelta(days=90),
                created_by=dsl,
                last_activity_at=now,
            )
            for child_id in ChildIdentifier.objects.filter(source=SOURCE).values_list("child_id", flat=True)
        ]
    )
    _, key = api_key_create(agency=agency, name="Bench health visiting system", scopes=["read", "write"])
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return dsl, key


def run():
    from rest_framework.test import APIClient

    from agencies import policy
    from chronology import batch, signals
    from chronology.models import BatchImport, Child, Event

    events_total = int(os.environ.get("BENCH_BATCH_EVENTS", "50000"))
    runs = int(os.environ.get("BENCH_BATCH_RUNS", "3"))
    with _queued_not_sent():
        dsl, key = _setup()
    client = APIClient(SERVER_NAME="localhost")  # a host the embedded settings allow
    headers = {
        "HTTP_AUTHORIZATION": f"Bearer {key}",
        "HTTP_X_ACTING_USER": dsl.username,
    }

    def post(text: str):
        response = client.generic("POST", "/api/v1/imports", text, content_type="application/json", **headers)
        assert response.status_code == 202, response.content[:2000]
        return response.json()["id"]

    timings = []  # (posted, task, queries, reassessments) for each document
    with _queued_not_sent() as queued:
        # One small document first, so that nothing measured below is a first call's imports and set-up.
        document = _document(events_total)
        warm = {**document, "events": [{**document["events"][0], "ref": "warm-up"}]}
        batch.batch_import_run(import_id=post(json.dumps(warm)))
        del document, warm  # a worker holds no other document while it imports
        for run_number in range(runs):
            body = json.dumps(_document(events_total, run_number))
            queued.clear()
            started = time.perf_counter()
            job_id = post(body)
            posted = time.perf_counter() - started
            with _counting_queries() as queries:
                started = time.perf_counter()
                state = batch.batch_import_run(import_id=job_id)
                task = time.perf_counter() - started
            job = BatchImport.objects.get(pk=job_id)
            assert state == "done", job.problems[:10]
            reassessments = sum(1 for kind, _ in queued if kind == "reassess")
            timings.append((posted, task, queries[0], reassessments))
    written = Event.objects.filter(source_system=SOURCE).exclude(ref="warm-up").count()
    assert written == events_total * runs, written
    posted, task, statements, reassessments = sorted(timings, key=lambda t: t[1])[len(timings) // 2]

    # Two parts of the task that are not the batch path's own, measured again on their own (and rolled back):
    # the access policy's answers for the children (for all at once where the policy offers that), and the
    # listeners to `events_written` (re-assessment due rows, referral loops).
    child_ids = sorted({r["id"] for r in job.results["children"]})
    children = list(Child.objects.filter(pk__in=child_ids))
    started = time.perf_counter()
    if hasattr(policy, "access_for_many"):
        policy.access_for_many(dsl, children)
    else:
        for child in children:
            policy.access_for(dsl, child)
    access = time.perf_counter() - started
    with transaction.atomic():
        started = time.perf_counter()
        signals.events_written.send(sender=Event, child_ids=child_ids, actor=dsl)
        listeners = time.perf_counter() - started
        transaction.set_rollback(True)
    own = task - access - listeners

    return [
        (
            "document",
            f"{events_total:,} events, {CHILDREN} children, {len(body) / 1e6:.1f} MB",
            "",
            "",
        ),
        ("documents sent one after the other", runs, "", ""),
        (
            "import task of each: events per second",
            ", ".join(f"{events_total / t[1]:,.0f}" for t in timings),
            "events/s",
            "",
        ),
        (
            "the median import's POST /api/v1/imports: answered 202",
            round(posted, 2),
            "s",
            "",
        ),
        (
            "the median import's task: JSON, schema, every check, writing, commit",
            round(task, 2),
            "s",
            "",
        ),
        (
            "import task: events per second (the median import)",
            f"{events_total / task:,.0f}",
            "events/s",
            "at least 20,000",
        ),
        (
            "end to end (POST, then the task): events per second",
            f"{events_total / (posted + task):,.0f}",
            "events/s",
            "",
        ),
        (
            f"of the task: access checks for the {CHILDREN} children (agencies.policy)",
            round(access, 2),
            "s",
            "",
        ),
        (
            "of the task: listeners to events_written (re-assessment due, referral loops)",
            round(listeners, 2),
            "s",
            "",
        ),
        (
            "import task without those two: events per second",
            f"{events_total / own:,.0f}",
            "events/s",
            "",
        ),
        (
            "SQL statements in the task, besides the COPY",
            statements,
            "",
            "per child, not per event",
        ),
        ("re-assessments queued (one per child)", reassessments, "", str(CHILDREN)),
        ("database", connection.vendor, "", "postgresql"),
    ]
