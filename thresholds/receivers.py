"""Listening to the chronology: every write makes a re-assessment due, durably, and queues it after commit."""

from __future__ import annotations

import structlog
from django.dispatch import receiver

from chronology.signals import events_recorded, events_written
from thresholds import services

log = structlog.get_logger(__name__)


@receiver(events_written)
def _due(sender, child_ids, **kwargs):
    services.reassessment_due_record(child_ids=child_ids, reason="events recorded")


@receiver(events_recorded)
def _queue(sender, child_ids, **kwargs):
    from thresholds.tasks import reassess

    for child_id in set(child_ids):
        try:
            reassess.delay(child_id)
        except Exception as exc:
            log.warning("reassessment_not_queued", child=child_id, error=type(exc).__name__)
