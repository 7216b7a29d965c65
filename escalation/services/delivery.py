"""The outbox: every notice is written as delivery rows in the transaction that raised it, then sent.

In the platform, a delivery is a Notification whose unique key is the delivery's key, so a retry adds
nothing. By e-mail, the Message-ID is derived from the key, so a resend after a crash is recognisably
the same message. E-mails carry the severity and a link, never a child's details.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string

from escalation import clock
from escalation.models import Alert, Channel, Delivery, DeliveryState, Notification, Severity
from escalation.policy import default_rules

log = structlog.get_logger(__name__)


@dataclass
class Notice:
    """One thing to tell some people: becomes a delivery per person and channel."""

    users: list
    key: str
    severity: str
    title: str
    link: str
    child: object = None
    alert: Alert | None = None


def notice_queue(
    *,
    users,
    key: str,
    severity: str,
    title: str,
    link: str,
    child=None,
    alert: Alert | None = None,
    now: datetime | None = None,
) -> list[Delivery]:
    """Write an in-platform and (where the user has an address) an e-mail delivery for each user.

    Call inside the transaction that raised the notice; the deliveries are queued after it commits.
    The same key given twice writes nothing the second time.
    """
    notice = Notice(users=users, key=key, severity=severity, title=title, link=link, child=child, alert=alert)
    return notices_queue([notice], now=now)


def notices_queue(notices: list[Notice], *, now: datetime | None = None) -> list[Delivery]:
    """Many notices' deliveries in a fixed number of queries (a whole area's alerts at once)."""
    now = now or clock.now()
    due = min(now, clock.now())  # at once, whatever moment the raising service was told it is
    rows = []
    for notice in notices:
        for user in {u.pk: u for u in notice.users if u is not None and u.is_active}.values():
            channels = [Channel.IN_APP] + ([Channel.EMAIL] if user.email else [])
            rows += [
                Delivery(
                    key=f"{notice.key}:u{user.pk}:{channel}",
                    user=user,
                    channel=channel,
                    severity=notice.severity,
                    title=notice.title,
                    link=notice.link,
                    child=notice.child,
                    alert=notice.alert,
                    created_at=now,
                    next_attempt_at=due,
                )
                for channel in channels
            ]
    if not rows:
        return []
    existing = set()
    keys = [r.key for r in rows]
    for start in range(0, len(keys), 2000):
        existing |= set(Delivery.objects.filter(key__in=keys[start : start + 2000]).values_list("key", flat=True))
    rows = [r for r in rows if r.key not in existing]
    Delivery.objects.bulk_create(rows, batch_size=2000)
    ids = [r.pk for r in rows]
    transaction.on_commit(lambda: _queue(ids))
    return rows


# One task per delivery while there are few; past this, tasks of this many (a whole area's alerts).
BATCH = 200


def _queue(ids: list[int]) -> None:
    from escalation.tasks import deliver, deliver_batch

    try:
        if len(ids) <= BATCH:
            for pk in ids:
                deliver.delay(pk)
        else:
            for start in range(0, len(ids), BATCH):
                deliver_batch.delay(ids[start : start + BATCH])
    except Exception as exc:  # the broker is down: the rows wait, pending, for the minute sweep
        log.warning("deliveries_not_queued", count=len(ids), error=type(exc).__name__)


def _claim(pk: int, now: datetime, claim_seconds: int, max_attempts: int) -> Delivery | None:
    """Compare-and-set: only one worker sends a delivery at a time, and a crashed claim runs out."""
    due = Delivery.objects.filter(
        Q(state=DeliveryState.PENDING) | Q(state=DeliveryState.SENDING, claimed_until__lt=now),
        pk=pk,
        next_attempt_at__lte=now,
    )
    claimed = due.filter(attempts__lt=max_attempts).update(
        state=DeliveryState.SENDING,
        claimed_until=now + timedelta(seconds=claim_seconds),
        attempts=F("attempts") + 1,
    )
    if claimed:
        return Delivery.objects.select_related("user", "alert").get(pk=pk)
    # Its last attempt's worker stopped before finishing (a message that kills workers is poison too).
    if due.filter(attempts__gte=max_attempts).update(
        state=DeliveryState.FAILED,
        claimed_until=None,
        last_error=f"The worker stopped during attempt {max_attempts}, the last; no more attempts.",
    ):
        log.error("delivery_stopped", delivery=pk, attempts=max_attempts, error="worker stopped")
    return None


def delivery_send(*, delivery_id: int, now: datetime | None = None) -> str:
    """Send one delivery if it is due and nobody else is sending it. Returns its state afterwards."""
    rules = default_rules()
    now = now or clock.now()
    delivery = _claim(delivery_id, now, rules.claim_seconds, rules.max_attempts)
    if delivery is None:
        state = Delivery.objects.filter(pk=delivery_id).values_list("state", flat=True).first()
        return state or "missing"
    try:
        if delivery.channel == Channel.IN_APP:
            _in_app(delivery, now)
        else:
            _email(delivery)
    except Exception as exc:
        return _failed(delivery, now, exc, rules.max_attempts, rules.first_retry_seconds)
    Delivery.objects.filter(pk=delivery.pk, state=DeliveryState.SENDING).update(
        state=DeliveryState.DELIVERED, delivered_at=now, claimed_until=None, last_error=""
    )
    return DeliveryState.DELIVERED


def _in_app(delivery: Delivery, now: datetime) -> None:
    try:
        with transaction.atomic():
            Notification.objects.create(
                key=delivery.key,
                user=delivery.user,
                created_at=now,
                severity=delivery.severity,
                title=delivery.title,
                link=delivery.link,
                child=delivery.child,
                alert=delivery.alert,
            )
    except IntegrityError:
        # Delivered before the worker stopped: the notification is there already, once.
        if not Notification.objects.filter(key=delivery.key).exists():
            raise


def message_id(key: str) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<{digest}@{settings.JIGSAW_MESSAGE_ID_DOMAIN}>"


def _email(delivery: Delivery) -> None:
    context = {
        "severity": Severity(delivery.severity).label,
        "title": delivery.title,
        "url": settings.JIGSAW_BASE_URL.rstrip("/") + delivery.link,
        "user": delivery.user,
    }
    subject = f"Jigsaw: {Severity(delivery.severity).label.lower()} notice for you"
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("escalation/email/notice.txt", context),
        to=[delivery.user.email],
        headers={"Message-ID": message_id(delivery.key)},
    )
    message.attach_alternative(render_to_string("escalation/email/notice.html", context), "text/html")
    message.send()


def _failed(delivery: Delivery, now: datetime, exc: Exception, max_attempts: int, first_retry: int) -> str:
    error = f"{type(exc).__name__}: {exc}"[:500]
    if delivery.attempts >= max_attempts:
        Delivery.objects.filter(pk=delivery.pk).update(state=DeliveryState.FAILED, claimed_until=None, last_error=error)
        log.error("delivery_stopped", delivery=delivery.pk, attempts=delivery.attempts, error=error)
        return DeliveryState.FAILED
    wait = first_retry * 2 ** (delivery.attempts - 1)
    Delivery.objects.filter(pk=delivery.pk).update(
        state=DeliveryState.PENDING,
        claimed_until=None,
        last_error=error,
        next_attempt_at=now + timedelta(seconds=wait),
    )
    log.warning("delivery_failed", delivery=delivery.pk, attempts=delivery.attempts, retry_in=wait, error=error)
    return DeliveryState.PENDING


def deliveries_due(*, now: datetime | None = None, limit: int = 5000) -> list[int]:
    """Deliveries a worker should send now: pending and due, or claimed by a worker that stopped."""
    now = now or clock.now()
    return list(
        Delivery.objects.filter(
            Q(state=DeliveryState.PENDING, next_attempt_at__lte=now)
            | Q(state=DeliveryState.SENDING, claimed_until__lt=now)
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def notifications_read(*, user, ids=None, now: datetime | None = None) -> int:
    rows = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    return rows.update(read_at=now or clock.now())
