"""Escalation tasks. Each takes ids (and, for the clock, an ISO time `at`), is idempotent and calls a service."""

from __future__ import annotations

import structlog
from celery import shared_task

from escalation import clock
from escalation.services import alerts, delivery, disagreements

log = structlog.get_logger(__name__)


@shared_task(name="escalation.tasks.deliver", acks_late=True)
def deliver(delivery_id: int, at: str | None = None) -> str:
    state = delivery.delivery_send(delivery_id=delivery_id, now=clock.parse(at))
    if state == "pending" and not deliver.app.conf.task_always_eager:
        # Failed and waiting for its back-off: ask again then (the minute sweep is the safety net).
        from escalation.models import Delivery

        due = Delivery.objects.filter(pk=delivery_id).values_list("next_attempt_at", flat=True).first()
        if due is not None:
            try:
                deliver.apply_async((delivery_id,), eta=due)
            except Exception as exc:
                log.warning("delivery_retry_not_queued", delivery=delivery_id, error=type(exc).__name__)
    return state


@shared_task(name="escalation.tasks.deliver_batch", acks_late=True)
def deliver_batch(delivery_ids: list[int], at: str | None = None) -> int:
    """Many deliveries in one task (a whole area's alerts); any left pending go to the sweep."""
    # Each at its own moment unless told one: a claim made late in a long batch must not run out at once.
    now = clock.parse(at) if at else None
    return sum(delivery.delivery_send(delivery_id=pk, now=now) == "delivered" for pk in delivery_ids)


@shared_task(name="escalation.tasks.sweep")
def sweep(at: str | None = None) -> dict:
    """Every minute: send deliveries left pending or claimed by a stopped worker, move unacknowledged
    alerts up a tier, chase overdue disagreement stages."""
    now = clock.parse(at)
    due = delivery.deliveries_due(now=now)
    for start in range(0, len(due), delivery.BATCH):
        deliver_batch.delay(due[start : start + delivery.BATCH], at)
    moved = alerts.alerts_move_up(now=now)
    chased = disagreements.disagreements_chase(now=now)
    if due:
        log.warning("deliveries_requeued", count=len(due))
    return {"deliveries": len(due), "alerts_moved_up": moved, "stages_chased": chased}
