"""Escalation delivery loses nothing and sends nothing twice, under faults, with a real worker.

Each test has its own redis-server on a free port (the broker of the test process and of its worker),
its own SMTP server (a thread here, see smtp_server.py) and a real Celery worker in its own process
on the test database. The clock moves in the worker too: the sweep is run with `at`, as beat would
run it a few minutes later. Outcomes are read from the database; a deadline that passes fails the
test with the worker's log.
"""

from __future__ import annotations

import datetime
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from config.celery import app as celery_app
from escalation.models import Alert, Channel, Delivery, DeliveryState, Notification, Severity
from escalation.policy import default_rules
from escalation.services.alerts import alert_raise
from escalation.services.delivery import message_id
from escalation.tasks import sweep
from tests.factories import ChildFactory
from tests.helpers import REPO
from tests.integration.conftest import _database_url
from tests.integration.smtp_server import ACCEPTED, HUNG, REFUSED, SmtpServer

pytestmark = [pytest.mark.external, pytest.mark.django_db(transaction=True)]

DEADLINE_SECONDS = 120
FINISHED = (DeliveryState.PENDING, DeliveryState.DELIVERED, DeliveryState.FAILED)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _reset_broker_connections() -> None:
    # Celery keeps a pool of broker connections; drop it so the next message uses the broker now configured.
    from kombu import pools

    pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


class Rig:
    """The test's own Redis, SMTP server and worker, and the means to break them."""

    def __init__(self, tmp_path: Path, smtp: SmtpServer):
        self.tmp_path = tmp_path
        self.smtp = smtp
        self.redis_port = _free_port()
        self.broker = f"redis://127.0.0.1:{self.redis_port}/5"
        self.redis: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.worker_name = ""
        self.logs: list[Path] = []
        self.started = 0

    # --- Redis -----------------------------------------------------------------------------------

    def start_redis(self) -> None:
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        self.wait_for("Redis to answer", self._redis_answers)
        _reset_broker_connections()

    def _redis_answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.redis_port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop_redis(self) -> None:
        self.redis.terminate()
        self.redis.wait(timeout=30)
        self.redis = None

    # --- the worker ------------------------------------------------------------------------------

    def start_worker(self) -> None:
        self.started += 1
        self.worker_name = f"faults-{os.getpid()}-{self.started}"
        log = self.tmp_path / f"worker-{self.started}.log"
        self.logs.append(log)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            # The worker's database sessions carry its name, so a test can find them.
            "DATABASE_URL": f"{_database_url()}?application_name={self.worker_name}",
            "REDIS_URL": self.broker,
            "EMAIL_URL": self.smtp.url,
            "JIGSAW_LOG_LEVEL": "INFO",
        }
        with log.open("w") as out:
            self.worker = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "--app=config",
                    "worker",
                    "--pool=solo",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "--loglevel=INFO",
                    f"--hostname={self.worker_name}@%h",
                ],
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.wait_for("the worker to be ready", lambda: " ready." in log.read_text())

    def kill_worker(self) -> None:
        """kill -9: no clean-up, no acknowledgement, nothing finished."""
        self.worker.send_signal(signal.SIGKILL)
        self.worker.wait(timeout=30)
        self.worker = None

    def stop_worker(self) -> None:
        if self.worker is None:
            return
        self.worker.terminate()
        try:
            self.worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.worker.kill()
            self.worker.wait()
        self.worker = None

    def worker_sessions(self, name: str, *, waiting_on_a_lock: bool = False) -> int:
        sql = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
        if waiting_on_a_lock:
            sql += " AND wait_event_type = 'Lock'"
        with connection.cursor() as cursor:
            cursor.execute(sql, [name])
            return cursor.fetchone()[0]

    def end_worker_sessions(self, name: str) -> None:
        """A killed worker's database sessions end with it: a statement it left waiting never runs."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s", [name])
        self.wait_for("the killed worker's sessions to end", lambda: self.worker_sessions(name) == 0)

    # --- the clock and the sweep -----------------------------------------------------------------

    def sweep(self, at: datetime.datetime) -> dict:
        """The beat job, at a moved clock; the deliveries it re-queues go through the broker to the worker."""
        return sweep.apply(kwargs={"at": at.isoformat()}).get()

    def wait_for(self, what: str, check, timeout: float = DEADLINE_SECONDS):
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if self.worker is not None and self.worker.poll() is not None:
                pytest.fail(f"the worker stopped while waiting for {what}\n{self.log_tails()}")
            if time.monotonic() > deadline:
                pytest.fail(f"waited {timeout} s for {what}\n{self.log_tails()}")
            time.sleep(0.05)  # polling an external process, never a test's clock

    def log_tails(self) -> str:
        rows = Delivery.objects.values_list("pk", "channel", "state", "attempts", "last_error")
        parts = ["deliveries: " + "; ".join(str(r) for r in rows)]
        for log in self.logs:
            parts.append(f"--- {log.name}:\n{log.read_text()[-4000:]}")
        return "\n".join(parts)


@pytest.fixture
def rig(transactional_db, tmp_path):
    assert shutil.which("redis-server"), "redis-server is needed (make test installs it)"
    if connection.vendor != "postgresql":
        pytest.fail("a real worker needs the suite on PostgreSQL: set DATABASE_URL")
    previous = (celery_app.conf.broker_url, celery_app.conf.task_always_eager)
    with SmtpServer() as smtp:
        rig = Rig(tmp_path, smtp)
        celery_app.conf.update(broker_url=rig.broker, task_always_eager=False)
        try:
            rig.start_redis()
            rig.start_worker()
            yield rig
        finally:
            smtp.release.set()  # a hanging e-mail ends, so the worker can stop
            rig.stop_worker()
            if rig.redis is not None:
                rig.stop_redis()
            celery_app.conf.update(broker_url=previous[0], task_always_eager=previous[1])
            _reset_broker_connections()


# --- helpers ---------------------------------------------------------------------------------------


def lead_practitioner(child, user) -> None:
    child.involvements.filter(practitioner=user).update(lead=True)


def raise_alert(child, cause: str, *, severity=Severity.MEDIUM) -> Alert:
    """An alert with the child's details in its text, as alerts have; it is queued when this commits."""
    with transaction.atomic():
        alert = alert_raise(
            child=child,
            cause=cause,
            severity=severity,
            title="Referral outcome overdue",
            text=(
                f"{child.given_name} {child.family_name} (NHS number {child.nhs_number}): the referral made "
                "on 2 November has had no outcome recorded."
            ),
        )
    assert alert is not None
    return alert


def states(alerts) -> Counter:
    return Counter(Delivery.objects.filter(alert__in=alerts).values_list("state", flat=True))


def all_delivered(alerts) -> bool:
    found = states(alerts)
    return bool(found) and set(found) == {DeliveryState.DELIVERED}


def notifications_per_user_and_alert(alerts) -> Counter:
    return Counter(Notification.objects.filter(alert__in=alerts).values_list("user_id", "alert_id"))


def worked(delivery: Delivery, attempts: int):
    """The delivery after its `attempts`th attempt is over (delivered, failed, or waiting to retry)."""

    def check():
        delivery.refresh_from_db()
        return delivery.attempts == attempts and delivery.state in FINISHED

    return check


# --- 1. normal ---------------------------------------------------------------------------------------


def test_every_delivery_arrives_once_and_the_email_carries_no_child_details(rig, kit, alice, dsl, lead):
    lead_practitioner(kit, alice)
    alice.email = ""  # no address: in the platform only
    alice.save()
    sam = ChildFactory(given_name="Sammy", family_name="Madeupson", nhs_number="9990001115")  # nobody involved
    alerts = [
        raise_alert(kit, "referral:1"),
        raise_alert(kit, "closure", severity=Severity.HIGH),
        raise_alert(sam, "closure", severity=Severity.HIGH),
    ]

    rig.wait_for("every delivery delivered", lambda: all_delivered(alerts))

    a1, a2, a3 = alerts
    # Kit's alerts reach the lead practitioner and the designated safeguarding lead; Sammy's, with nobody
    # involved, the area's safeguarding lead. Each person once per alert, in the platform.
    expected = {(alice.pk, a1.pk), (dsl.pk, a1.pk), (alice.pk, a2.pk), (dsl.pk, a2.pk), (lead.pk, a3.pk)}
    assert notifications_per_user_and_alert(alerts) == Counter(expected)
    for n in Notification.objects.filter(alert__in=alerts):
        assert n.link == reverse("alert-detail", args=[n.alert_id])

    # One e-mail per e-mail delivery, to the right person, with the Message-ID derived from its key.
    emails = {message_id(d.key): d for d in Delivery.objects.filter(alert__in=alerts, channel=Channel.EMAIL)}
    assert {(d.user_id, d.alert_id) for d in emails.values()} == {(dsl.pk, a1.pk), (dsl.pk, a2.pk), (lead.pk, a3.pk)}
    received = rig.smtp.received()
    assert [r.outcome for r in received] == [ACCEPTED] * 3
    assert sorted(r.message_id for r in received) == sorted(emails)
    secrets = [kit.given_name, kit.family_name, kit.nhs_number, sam.given_name, sam.family_name, sam.nhs_number]
    for r in received:
        delivery = emails[r.message_id]
        assert r.rcpt_to == [delivery.user.email]
        message = r.message
        assert message.get_content_type() == "multipart/alternative"
        plain = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        subject = str(message["Subject"])
        assert subject.startswith("Jigsaw: ")
        link = settings.JIGSAW_BASE_URL.rstrip("/") + reverse("alert-detail", args=[delivery.alert_id])
        assert link in plain
        assert f'href="{link}"' in html
        for text in (subject, plain, html):
            for secret in secrets:
                assert secret not in text, f"{secret!r} is in an e-mail"
            assert "referral made" not in text  # nor the alert's words


# --- 2. the worker killed mid-delivery ---------------------------------------------------------------


def test_a_worker_killed_while_sending_an_email_is_replaced_and_the_resend_keeps_its_message_id(rig, kit, alice, dsl):
    lead_practitioner(kit, alice)
    rig.smtp.hang_next(1)  # the first e-mail is read by the server, which never answers
    alert = raise_alert(kit, "referral:1")

    rig.wait_for("an e-mail hanging", lambda: rig.smtp.received(outcome=HUNG))
    (hung,) = rig.smtp.received(outcome=HUNG)
    stuck = Delivery.objects.get(channel=Channel.EMAIL, user__email=hung.rcpt_to[0])
    assert (stuck.state, stuck.attempts) == (DeliveryState.SENDING, 1)
    killed = rig.worker_name
    rig.kill_worker()
    rig.end_worker_sessions(killed)

    rig.start_worker()
    # The other deliveries were still on the queue: the new worker sends them.
    others = Delivery.objects.filter(alert=alert).exclude(pk=stuck.pk)
    rig.wait_for("the other deliveries", lambda: set(others.values_list("state", flat=True)) == {"delivered"})
    stuck.refresh_from_db()
    assert stuck.state == DeliveryState.SENDING  # its claim has not run out: nobody else sends it yet
    # A few minutes later the sweep finds the claim run out and sends it again.
    at = stuck.claimed_until + datetime.timedelta(seconds=1)
    assert rig.sweep(at)["deliveries"] == 1
    rig.wait_for("the stuck delivery", worked(stuck, 2))
    assert stuck.state == DeliveryState.DELIVERED

    assert all_delivered([alert])
    assert notifications_per_user_and_alert([alert]) == Counter({(alice.pk, alert.pk): 1, (dsl.pk, alert.pk): 1})
    # The resent e-mail is the same message: the one the server kept and the new one share the Message-ID.
    again = rig.smtp.received(to=stuck.user.email)
    assert [r.outcome for r in again].count(ACCEPTED) == 1
    assert {r.message_id for r in again} == {message_id(stuck.key)} == {hung.message_id}
    # Every other e-mail went once.
    for d in Delivery.objects.filter(alert=alert, channel=Channel.EMAIL).exclude(pk=stuck.pk):
        assert [r.message_id for r in rig.smtp.received(to=d.user.email)] == [message_id(d.key)]


def _connect() -> psycopg.Connection:
    db = connection.settings_dict
    return psycopg.connect(
        dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"] or None, host=db["HOST"], port=db["PORT"]
    )


def test_a_worker_killed_after_writing_the_notification_adds_no_second_one(rig, kit, alice):
    """The hardest moment: the notification is committed, the delivery not yet marked delivered.

    Two locks of the test's stop the worker exactly there (it waits to write the notification, then to
    mark the delivery), and it is killed while waiting.
    """
    lead_practitioner(kit, alice)
    alice.email = ""
    alice.save()
    worker = rig.worker_name
    notifications_lock, delivery_lock = _connect(), _connect()
    try:
        notifications_lock.execute("LOCK TABLE escalation_notification IN SHARE MODE")  # no insert until commit
        alert = raise_alert(kit, "referral:1")
        delivery = Delivery.objects.get(alert=alert)

        def worker_waits():
            delivery.refresh_from_db()
            return delivery.state == DeliveryState.SENDING and rig.worker_sessions(worker, waiting_on_a_lock=True)

        rig.wait_for("the worker writing the notification", worker_waits)
        delivery_lock.execute("SELECT id FROM escalation_delivery WHERE id = %s FOR UPDATE", [delivery.pk])
        notifications_lock.commit()
        rig.wait_for(
            "the notification written and the worker marking the delivery",
            lambda: (
                Notification.objects.filter(key=delivery.key).exists()
                and rig.worker_sessions(worker, waiting_on_a_lock=True)
            ),
        )
        rig.kill_worker()
        rig.end_worker_sessions(worker)
    finally:
        delivery_lock.rollback()
        notifications_lock.close()
        delivery_lock.close()

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.SENDING, 1)
    rig.start_worker()
    assert rig.sweep(delivery.claimed_until + datetime.timedelta(seconds=1))["deliveries"] == 1
    rig.wait_for("the delivery, sent again", worked(delivery, 2))
    assert delivery.state == DeliveryState.DELIVERED
    assert Notification.objects.filter(alert=alert).count() == 1
    assert notifications_per_user_and_alert([alert]) == Counter({(alice.pk, alert.pk): 1})


def test_a_delivery_that_kills_every_worker_stops_at_max_attempts(rig, kit, alice):
    """A message that kills every worker that sends it is poison too: each attempt counts, and it stops."""
    lead_practitioner(kit, alice)
    rules = default_rules()
    rig.smtp.hang_next(rules.max_attempts + 1)
    alert = raise_alert(kit, "referral:1")
    email = Delivery.objects.get(alert=alert, channel=Channel.EMAIL)
    for attempt in range(1, rules.max_attempts + 1):
        rig.wait_for(f"attempt {attempt} hanging", lambda n=attempt: len(rig.smtp.received(outcome=HUNG)) == n)
        email.refresh_from_db()
        assert (email.state, email.attempts) == (DeliveryState.SENDING, attempt)
        killed = rig.worker_name
        rig.kill_worker()
        rig.end_worker_sessions(killed)
        rig.start_worker()
        assert rig.sweep(email.claimed_until + datetime.timedelta(seconds=1))["deliveries"] == 1

    rig.wait_for("the delivery stopped", lambda: Delivery.objects.get(pk=email.pk).state == DeliveryState.FAILED)
    email.refresh_from_db()
    assert email.attempts == rules.max_attempts
    assert "stopped" in email.last_error
    assert rig.sweep(email.next_attempt_at + datetime.timedelta(hours=2))["deliveries"] == 0
    assert len(rig.smtp.received(to=alice.email)) == rules.max_attempts  # never sent again
    assert Delivery.objects.get(alert=alert, channel=Channel.IN_APP).state == DeliveryState.DELIVERED
    assert notifications_per_user_and_alert([alert]) == Counter({(alice.pk, alert.pk): 1})


# --- 3. Redis stopped and restarted ------------------------------------------------------------------


def test_with_redis_stopped_the_alerts_commit_and_the_sweep_delivers_them_after_the_restart(
    rig, kit, alice, dsl, lead, caplog
):
    lead_practitioner(kit, alice)
    sam = ChildFactory(given_name="Sammy", family_name="Madeupson")
    rig.stop_redis()

    alerts = [raise_alert(kit, "referral:1"), raise_alert(sam, "closure", severity=Severity.HIGH)]

    # Committed, with every delivery row, though nothing could be queued; the failure is logged.
    assert Alert.objects.filter(pk__in=[a.pk for a in alerts]).count() == 2
    assert states(alerts) == Counter({DeliveryState.PENDING: 6})
    assert not Delivery.objects.filter(alert__in=alerts, attempts__gt=0).exists()
    not_queued = [
        r.msg
        for r in caplog.records
        if r.name == "escalation.services.delivery" and r.levelname == "WARNING" and isinstance(r.msg, dict)
    ]
    assert len(not_queued) == 2, caplog.records  # once for each transaction's deliveries

    rig.start_redis()  # the same port; the worker connects again by itself
    assert rig.sweep(timezone.now() + datetime.timedelta(minutes=1))["deliveries"] == 6
    rig.wait_for("every delivery delivered", lambda: all_delivered(alerts))
    assert notifications_per_user_and_alert(alerts) == Counter(
        {(alice.pk, alerts[0].pk): 1, (dsl.pk, alerts[0].pk): 1, (lead.pk, alerts[1].pk): 1}
    )
    received = rig.smtp.received()
    emails = Delivery.objects.filter(alert__in=alerts, channel=Channel.EMAIL)
    assert sorted(r.message_id for r in received) == sorted(message_id(d.key) for d in emails)
    assert {r.outcome for r in received} == {ACCEPTED}


# --- 4. the mail server refusing ---------------------------------------------------------------------


def test_refused_mail_backs_off_and_is_delivered_and_a_poison_message_stops_at_max_attempts(rig, kit, alice, dsl):
    """The first attempts are the worker's, at once; the later ones are the sweep's, at a clock moved on.

    After a refusal the worker may also queue itself a reminder at the real clock; the moved clock is
    always ahead of it, so a reminder finds nothing due and the attempts counted here are all there are.
    """
    lead_practitioner(kit, alice)
    rules = default_rules()
    first = datetime.timedelta(seconds=rules.first_retry_seconds)
    rig.smtp.refuse(dsl.email, times=2)
    rig.smtp.refuse(alice.email)  # always: a poison message
    before = timezone.now()
    alert = raise_alert(kit, "referral:1")
    to_dsl = Delivery.objects.get(alert=alert, channel=Channel.EMAIL, user=dsl)
    to_alice = Delivery.objects.get(alert=alert, channel=Channel.EMAIL, user=alice)

    rig.wait_for("the first attempts", lambda: worked(to_dsl, 1)() and worked(to_alice, 1)())
    after = timezone.now()
    for d in (to_dsl, to_alice):
        assert d.state == DeliveryState.PENDING
        assert before + first <= d.next_attempt_at <= after + first  # the first wait, from the first attempt
        assert "554" in d.last_error
    rig.wait_for("the in-platform notices", lambda: Notification.objects.filter(alert=alert).count() == 2)

    due = max(to_dsl.next_attempt_at, to_alice.next_attempt_at)
    assert rig.sweep(min(to_dsl.next_attempt_at, to_alice.next_attempt_at) - datetime.timedelta(seconds=1)) == {
        "deliveries": 0,
        "alerts_moved_up": 0,
        "stages_chased": 0,
    }  # nothing before it is due

    at = due
    assert rig.sweep(at)["deliveries"] == 2
    rig.wait_for("the second attempts", lambda: worked(to_dsl, 2)() and worked(to_alice, 2)())
    for d in (to_dsl, to_alice):
        assert (d.state, d.next_attempt_at) == (DeliveryState.PENDING, at + 2 * first)  # backing off

    at = at + 2 * first
    assert rig.sweep(at)["deliveries"] == 2
    rig.wait_for("the third attempts", lambda: worked(to_dsl, 3)() and worked(to_alice, 3)())
    assert to_dsl.state == DeliveryState.DELIVERED  # the server accepts it now
    assert (to_alice.state, to_alice.next_attempt_at) == (DeliveryState.PENDING, at + 4 * first)

    while to_alice.state == DeliveryState.PENDING:
        at = to_alice.next_attempt_at
        attempts = to_alice.attempts
        assert rig.sweep(at)["deliveries"] == 1
        rig.wait_for(f"attempt {attempts + 1}", worked(to_alice, attempts + 1))
        if to_alice.state == DeliveryState.PENDING:
            assert to_alice.next_attempt_at == at + first * 2 ** (to_alice.attempts - 1)
    assert (to_alice.state, to_alice.attempts) == (DeliveryState.FAILED, rules.max_attempts)
    assert "554" in to_alice.last_error

    # Stopped: no sweep sends it again.
    assert rig.sweep(at + datetime.timedelta(hours=2))["deliveries"] == 0
    to_alice.refresh_from_db()
    assert (to_alice.state, to_alice.attempts) == (DeliveryState.FAILED, rules.max_attempts)
    assert [r.outcome for r in rig.smtp.received(to=alice.email)] == [REFUSED] * rules.max_attempts
    assert [r.outcome for r in rig.smtp.received(to=dsl.email)] == [REFUSED, REFUSED, ACCEPTED]
    assert {r.message_id for r in rig.smtp.received(to=dsl.email)} == {message_id(to_dsl.key)}
    assert notifications_per_user_and_alert([alert]) == Counter({(alice.pk, alert.pk): 1, (dsl.pk, alert.pk): 1})
