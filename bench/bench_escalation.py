"""Escalation delivery through a real Celery worker: BENCH_ESCALATION_ALERTS alerts (default 10,000) delivered,
and the time from a raising transaction's commit to the in-app notification.

Each alert goes to one designated safeguarding lead, in the platform and by e-mail: two deliveries an
alert. E-mail goes over localhost to a small SMTP server in the benchmark's process
(tests/integration/smtp_server.py), which accepts every message. The alerts are raised with the alert
service (`alert_raise`, the outbox rows written in the same transaction) in transactions of 1,000 while
no worker runs, so their deliveries wait on the queue in tasks of 200, as after a bulk raise; then one
worker process with as many pool processes as the machine has cores starts, and the clock runs from
the moment it is ready until every delivery is delivered. The same again for BENCH_ESCALATION_SINGLE
alerts (default 1,000) raised one a transaction, so a task a delivery. Last, with that worker idle,
BENCH_ESCALATION_SAMPLE alerts (default 100) are raised one at a time, each after the one before is
delivered, and the time from each raising transaction's commit to its Notification row existing is
measured by polling the database every 2 ms. Needs REDIS_URL and DATABASE_URL on PostgreSQL.
Target: 10,000 alerts delivered; commit to notification median and 95th percentile reported.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parent.parent
BULK_TRANSACTION = 1000


def _database_url(settings_dict) -> str:
    auth = quote(settings_dict["USER"] or "")
    if settings_dict["PASSWORD"]:
        auth += ":" + quote(settings_dict["PASSWORD"])
    host = settings_dict["HOST"] or "127.0.0.1"
    return f"postgres://{auth}@{host}:{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"


def _raise(child, cause: str):
    from escalation.services.alerts import alert_raise

    return alert_raise(
        child=child,
        cause=cause,
        severity="high",
        title="Referral outcome overdue",
        text="The referral made on 2 November has had no outcome recorded (invented benchmark alert).",
    )


class _Worker:
    """One Celery worker process with a pool process per core, started and waited for until ready."""

    def __init__(self, log: Path, env: dict, name: str):
        self.log = log
        with log.open("w") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "--app=config",
                    "worker",
                    f"--concurrency={os.cpu_count()}",
                    "--loglevel=INFO",
                    "--without-gossip",
                    "--without-mingle",
                    f"--hostname={name}@%h",
                ],
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        while " ready." not in log.read_text():
            self.check()
            time.sleep(0.05)  # a benchmark's clock, never a test's

    def check(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"the worker stopped:\n{self.log.read_text()[-3000:]}")

    def wait_delivered(self, deliveries, expected: int, pause: float = 0.25, limit: float = 1800) -> tuple[int, float]:
        """Poll until `expected` of `deliveries` are delivered: how many were, and the seconds it took."""
        started = time.perf_counter()
        done = 0
        while time.perf_counter() - started < limit:
            done = deliveries.filter(state="delivered").count()
            if done >= expected:
                break
            self.check()
            time.sleep(pause)  # a benchmark's clock, never a test's
        return done, time.perf_counter() - started

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)


def _last_delivery() -> int:
    from escalation.models import Delivery

    return Delivery.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run():
    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import timezone

    from agencies.models import Agency, AgencyKind, Area, Involvement, InvolvementReason, Role, RoleGrant, User
    from chronology.models import Child
    from config.celery import app as celery_app
    from escalation.models import Delivery, Notification
    from tests.integration.smtp_server import ACCEPTED, SmtpServer

    if not settings.REDIS_URL or connection.vendor != "postgresql":
        return [("escalation delivery", "not run", "", "needs REDIS_URL and DATABASE_URL on PostgreSQL")]
    n_alerts = int(os.environ.get("BENCH_ESCALATION_ALERTS", "10000"))
    n_single = int(os.environ.get("BENCH_ESCALATION_SINGLE", "1000"))
    n_sample = int(os.environ.get("BENCH_ESCALATION_SAMPLE", "100"))

    area = Area.objects.create(name="Alertshire", code="alertshire")
    agency = Agency.objects.create(
        code="alert-bench-hv", name="Bench health visiting", kind=AgencyKind.HEALTH_VISITING, area=area
    )
    dsl = User.objects.create(username="bench-dsl", agency=agency, email="bench-dsl@example.invalid")
    RoleGrant.objects.create(user=dsl, role=Role.DESIGNATED_SAFEGUARDING_LEAD)
    children = Child.objects.bulk_create(
        [
            Child(given_name=f"Alert{i}", family_name="Child", date_of_birth=date(2014, 1, 1), area=area)
            for i in range(n_alerts + n_single + n_sample)
        ],
        batch_size=5000,
    )
    now = timezone.now()
    Involvement.objects.bulk_create(
        [
            Involvement(
                child=child,
                agency=agency,
                reason=InvolvementReason.ALLOCATED,
                started_on=timezone.localdate(now) - timedelta(days=30),
                created_by=dsl,
                last_activity_at=now,
            )
            for child in children
        ],
        batch_size=5000,
    )
    bulk = children[:n_alerts]
    single = children[n_alerts : n_alerts + n_single]
    sample = children[n_alerts + n_single :]
    celery_app.control.purge()  # nothing left on this broker's queue from an earlier run

    before = _last_delivery()
    started = time.perf_counter()
    for start in range(0, len(bulk), BULK_TRANSACTION):
        with transaction.atomic():
            for child in bulk[start : start + BULK_TRANSACTION]:
                _raise(child, "bench:bulk")
    raise_seconds = time.perf_counter() - started
    bulk_deliveries = Delivery.objects.filter(pk__gt=before, pk__lte=_last_delivery())  # cheap to count
    bulk_queued = bulk_deliveries.count()
    bulk_alerts = bulk_deliveries.values("alert").distinct().count()

    with SmtpServer() as smtp, tempfile.TemporaryDirectory(prefix="bench-escalation-") as tmp:
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(connection.settings_dict),
            "EMAIL_URL": smtp.url,
            "JIGSAW_LOG_LEVEL": "WARNING",
        }
        logs = Path(tmp)
        worker = _Worker(logs / "bench-escalation-worker.log", env, f"bench-escalation-{os.getpid()}")
        try:
            bulk_done, bulk_seconds = worker.wait_delivered(bulk_deliveries, bulk_queued)
        finally:
            worker.stop()

        before = _last_delivery()
        for child in single:
            with transaction.atomic():
                _raise(child, "bench:single")
        single_deliveries = Delivery.objects.filter(pk__gt=before, pk__lte=_last_delivery())
        single_queued = single_deliveries.count()
        worker = _Worker(logs / "bench-escalation-worker-2.log", env, f"bench-escalation-{os.getpid()}-2")
        try:
            single_done, single_seconds = worker.wait_delivered(single_deliveries, single_queued)
            latencies = []
            for child in sample:
                marks = {}
                with transaction.atomic():
                    # Registered first, so it runs first after the commit, before the deliveries are queued.
                    transaction.on_commit(lambda marks=marks: marks.setdefault("commit", time.perf_counter()))
                    alert = _raise(child, "bench:sample")
                key = f"alert{alert.pk}:t0:u{dsl.pk}:in_app"
                while not Notification.objects.filter(key=key).exists():
                    worker.check()
                    time.sleep(0.002)  # a benchmark's clock, never a test's
                latencies.append(time.perf_counter() - marks["commit"])
                worker.wait_delivered(Delivery.objects.filter(alert=alert), 2, pause=0.002)
        finally:
            worker.stop()
        emails = len(smtp.received(outcome=ACCEPTED))

    median, p95 = statistics.median(latencies) * 1000, _percentile(latencies, 0.95) * 1000
    cores = os.cpu_count()
    return [
        (
            f"raising {n_alerts:,} alerts with their {bulk_queued:,} delivery rows "
            f"(alert service, transactions of {BULK_TRANSACTION:,})",
            round(raise_seconds, 1),
            "s",
            "",
        ),
        (
            f"delivering them: {bulk_done:,} of {bulk_queued:,} deliveries delivered for {bulk_alerts:,} alerts "
            f"(in the platform, and by e-mail to a local SMTP server), tasks of 200, {cores} worker processes",
            round(bulk_seconds, 1),
            "s",
            "10,000 alerts delivered",
        ),
        ("deliveries per second, tasks of 200", round(bulk_done / bulk_seconds, 1), "deliveries/s", ""),
        (
            f"{n_single:,} alerts raised one a transaction: {single_done:,} of {single_queued:,} deliveries "
            f"delivered, a task each, {cores} worker processes",
            round(single_seconds, 1),
            "s",
            "",
        ),
        ("deliveries per second, a task each", round(single_done / single_seconds, 1), "deliveries/s", ""),
        (
            f"commit to in-app notification, median of {len(latencies)} alerts raised one at a time",
            round(median, 1),
            "ms",
            "reported",
        ),
        (f"commit to in-app notification, 95th percentile of {len(latencies)}", round(p95, 1), "ms", "reported"),
        ("e-mails the SMTP server accepted (one a delivery by e-mail)", emails, "e-mails", ""),
    ]
