"""Re-assessing a whole area with real Celery workers: BENCH_AREA_CHILDREN children (default 50,000) with
BENCH_AREA_EVENTS events each (default 20, so 1,000,000 events), as after a policy change.

The children and events are bulk-loaded into the throw-away database; one Celery worker process with
as many pool processes as the machine has cores consumes `thresholds.tasks.area_reassess`'s chunks,
and the clock runs until every child has a snapshot. Each chunk's transaction also raises the alerts its
new snapshots call for (routed to one area safeguarding lead) and writes their delivery rows. Needs
REDIS_URL (make bench sets DATABASE_URL; set REDIS_URL too). Target: 50,000 children and 1,000,000
events in under 2 minutes.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parent.parent
TYPES = [
    ("home_visit", []),
    ("health_contact", []),
    ("presentation_concern", ["16A"]),
    ("was_not_brought", []),
    ("domestic_abuse_incident", ["3B"]),
    ("school_absence", []),
    ("behaviour_concern", ["14A"]),
]


def _database_url(settings_dict) -> str:
    auth = quote(settings_dict["USER"] or "")
    if settings_dict["PASSWORD"]:
        auth += ":" + quote(settings_dict["PASSWORD"])
    host = settings_dict["HOST"] or "127.0.0.1"
    return f"postgres://{auth}@{host}:{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"


def run():
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from agencies.models import Agency, AgencyKind, Area
    from chronology.models import Child, Event
    from thresholds.models import Assessment
    from thresholds.tasks import area_reassess

    if not settings.REDIS_URL or connection.vendor != "postgresql":
        return [("area re-assessment", "not run", "", "needs REDIS_URL and DATABASE_URL on PostgreSQL")]
    n_children = int(os.environ.get("BENCH_AREA_CHILDREN", "50000"))
    per_child = int(os.environ.get("BENCH_AREA_EVENTS", "20"))
    rng = random.Random(7)  # noqa: S311 - invented benchmark data
    area = Area.objects.create(name="Benchshire", code="benchshire")
    agencies = [
        Agency.objects.create(code=f"bench-{k}", name=f"Bench {k}", kind=k, area=area)
        for k in (AgencyKind.POLICE, AgencyKind.GP, AgencyKind.SCHOOL, AgencyKind.HEALTH_VISITING)
    ]
    # One area safeguarding lead, so the alerts the new snapshots call for are routed and delivered.
    from agencies.models import Role, RoleGrant, User

    lead = User.objects.create(username="bench-area-lead", agency=agencies[0], email="")
    RoleGrant.objects.create(user=lead, role=Role.AREA_SAFEGUARDING_LEAD)
    started = time.perf_counter()
    children = Child.objects.bulk_create(
        [
            Child(
                given_name=f"Bench{i}",
                family_name="Child",
                date_of_birth=date(2012, 1, 1) + timedelta(days=i % 3000),
                area=area,
            )
            for i in range(n_children)
        ],
        batch_size=5000,
    )
    now = date(2026, 1, 1)
    stamp = timezone.now()
    batch = []
    for child in children:
        for j in range(per_child):
            kind, factors = TYPES[rng.randrange(len(TYPES))]
            batch.append(
                Event(
                    child=child,
                    source_system="bench",
                    ref=f"{child.pk}-{j}",
                    occurred_on=now - timedelta(days=rng.randrange(3000)),
                    agency=rng.choice(agencies),
                    type=kind,
                    factors=factors,
                    summary="Invented benchmark entry.",
                    recorded_at=stamp,
                )
            )
        if len(batch) >= 20000:
            Event.objects.bulk_create(batch, batch_size=5000)
            batch = []
    Event.objects.bulk_create(batch, batch_size=5000)
    load_seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    env = {**os.environ, "DATABASE_URL": _database_url(connection.settings_dict), "JIGSAW_LOG_LEVEL": "WARNING"}
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "--app=config",
            "worker",
            f"--concurrency={os.cpu_count()}",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            f"--hostname=bench-{os.getpid()}@%h",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        started = time.perf_counter()
        area_reassess.delay(area.pk)
        deadline = started + 1800
        done = 0
        while time.perf_counter() < deadline:
            done = Assessment.objects.filter(child__area=area).values("child").distinct().count()
            if done >= n_children:
                break
            time.sleep(1)  # a benchmark's clock, never a test's
        seconds = time.perf_counter() - started
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    events = n_children * per_child
    from escalation.models import Alert

    alerts = Alert.objects.filter(area=area).count()
    return [
        (f"loading {n_children:,} children and {events:,} events (bulk)", round(load_seconds, 1), "s", ""),
        (
            f"re-assessing {done:,} of {n_children:,} children, {events:,} events, {os.cpu_count()} worker processes",
            round(seconds, 1),
            "s",
            "under 120 s for 50,000 children and 1,000,000 events",
        ),
        ("children re-assessed per second", round(done / seconds, 1), "children/s", "417 or more"),
        ("alerts raised with the new snapshots (in the same transactions)", alerts, "alerts", ""),
    ]
