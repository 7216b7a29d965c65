"""Re-assessment tasks. Each takes ids, is idempotent, and calls a service."""

from __future__ import annotations

from datetime import timedelta

import structlog
from celery import group, shared_task
from django.utils import timezone

from chronology.models import Child
from thresholds import services
from thresholds.models import ReassessmentDue

log = structlog.get_logger(__name__)

CHUNK = 500
# A due row older than this whose task never ran (the broker was down, a worker died) is picked up again.
LOST_AFTER = timedelta(seconds=60)


@shared_task(name="thresholds.tasks.reassess", acks_late=True, max_retries=5, default_retry_delay=10)
def reassess(child_id: int) -> int | None:
    created = services.child_reassess(child_id=child_id)
    return created.pk if created else None


@shared_task(name="thresholds.tasks.reassess_chunk", acks_late=True)
def reassess_chunk(child_ids: list[int]) -> int:
    return services.children_reassess(child_ids=child_ids)


@shared_task(name="thresholds.tasks.sweep_due")
def sweep_due() -> int:
    """Every minute: re-assess children whose due row is still open, however their task was lost."""
    cutoff = timezone.now() - LOST_AFTER
    child_ids = sorted(
        set(
            ReassessmentDue.objects.filter(done_at__isnull=True, created_at__lte=cutoff).values_list(
                "child_id", flat=True
            )
        )
    )
    for child_id in child_ids:
        services.child_reassess(child_id=child_id)
    if child_ids:
        log.warning("reassessments_recovered", count=len(child_ids))
    return len(child_ids)


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]


@shared_task(name="thresholds.tasks.area_reassess")
def area_reassess(area_id: int) -> int:
    """After a policy change: every child in the area, in parallel chunks across the workers."""
    ids = list(Child.objects.filter(area_id=area_id, merged_into__isnull=True).values_list("pk", flat=True))
    group(reassess_chunk.s(chunk) for chunk in _chunks(ids)).apply_async()
    return len(ids)


@shared_task(name="thresholds.tasks.nightly_reassess")
def nightly_reassess() -> int:
    """Time-driven rules (a return interview falling due, a child not seen) change with the date alone."""
    ids = list(Child.objects.filter(merged_into__isnull=True).values_list("pk", flat=True))
    group(reassess_chunk.s(chunk) for chunk in _chunks(ids)).apply_async()
    return len(ids)
