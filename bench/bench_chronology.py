"""The chronology page of a child with 2,000 events from 12 agencies, server-side, on the configured database.

Built with the shared generator (../shared/tools/big_chronology.py) and imported through the exchange
importer into a throw-away test database. Each variant is requested 40 times after 5 to warm up, by
a signed-in area safeguarding lead, through Django's test client (no network). The query count is
taken for the same page at 200 and at 2,000 events, to show it does not grow with the chronology.
Run with DATABASE_URL on PostgreSQL for the numbers that count.
"""

from __future__ import annotations

import importlib.util
import statistics
import time
from pathlib import Path

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

REPO = Path(__file__).resolve().parent.parent
GENERATOR = REPO.parent / "shared" / "tools" / "big_chronology.py"


def _generator():
    spec = importlib.util.spec_from_file_location("big_chronology", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _timed(client: Client, url: str, n: int = 40) -> tuple[list[float], int]:
    for _ in range(5):
        assert client.get(url).status_code == 200, url
    times = []
    for _ in range(n):
        start = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - start) * 1000)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return sorted(times), len(queries)


def run():
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from agencies.models import Agency, Area, Role, RoleGrant, User
    from agencies.policy import system_user
    from chronology.exchange import chronology_import
    from chronology.models import ChildIdentifier

    generator = _generator()
    started = time.perf_counter()
    chronology_import(actor=system_user(), document=generator.build(2000, "big"))
    import_seconds = time.perf_counter() - started
    chronology_import(actor=system_user(), document=generator.build(200, "small"))
    big = ChildIdentifier.objects.get(source="bench-big", ref="big").child
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # what autovacuum does after a bulk load
    small = ChildIdentifier.objects.get(source="bench-small", ref="small").child

    area = Area.objects.get(name="Bigshire")
    lead = User.objects.create(username="bench-lead", agency=Agency.objects.filter(area=area).first())
    RoleGrant.objects.create(user=lead, role=Role.AREA_SAFEGUARDING_LEAD)
    device = TOTPDevice.objects.create(user=lead, name="bench", confirmed=True)
    client = Client(SERVER_NAME="localhost")  # a host the embedded settings allow
    client.force_login(lead)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()

    base = f"/children/{big.pk}/"
    police = Agency.objects.get(code="big-police").pk
    variants = [
        ("first page", base),
        ("filtered by one agency", f"{base}?agency={police}"),
        ("filtered by type", f"{base}?type=domestic_abuse_incident"),
        ("filtered by factor", f"{base}?factor=16A"),
        ("a date range", f"{base}?date_from=2015-01-01&date_to=2016-12-31"),
        ("significant only", f"{base}?significant=on"),
        ("page 20", f"{base}?page=20"),
    ]
    rows = [("importing 2,000 events (exchange importer)", round(import_seconds, 2), "s", "under 10 s")]
    for label, url in variants:
        times, queries = _timed(client, url)
        target = "median under 50 ms" if label == "first page" else "median under 100 ms"
        rows.append((f"{label}: median", round(statistics.median(times), 1), "ms", target))
        rows.append((f"{label}: 95th percentile", round(times[int(len(times) * 0.95)], 1), "ms", target))
        rows.append((f"{label}: queries", queries, "", "the same at any length"))
    _, small_queries = _timed(client, f"/children/{small.pk}/", n=3)
    rows.append(("first page at 200 events: queries", small_queries, "", "equal to 2,000 events"))
    rows.append(("database", connection.vendor, "", "postgresql"))
    return rows
