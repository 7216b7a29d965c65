"""The chronology's background work: exchange documents sent through the REST API, imported off the request."""

from __future__ import annotations

from datetime import timedelta

import structlog
from celery import shared_task
from django.utils import timezone

from chronology import batch
from chronology.models import BatchImport

log = structlog.get_logger(__name__)

# An import still queued after this long was never handed to a worker (the broker was down): it is queued again.
LOST_AFTER = timedelta(seconds=60)


@shared_task(name="chronology.tasks.batch_import_run", acks_late=True)
def batch_import_run(import_id: str) -> str:
    return batch.batch_import_run(import_id=import_id)


@shared_task(name="chronology.tasks.batch_imports_sweep")
def batch_imports_sweep() -> int:
    """Every minute: imports whose task was lost are queued again (running one twice is safe)."""
    cutoff = timezone.now() - LOST_AFTER
    lost = [
        str(pk)
        for pk in BatchImport.objects.filter(state=BatchImport.State.QUEUED, created_at__lt=cutoff).values_list(
            "pk", flat=True
        )
    ]
    for pk in lost:
        batch_import_run.delay(pk)
    if lost:
        log.warning("batch_imports_requeued", count=len(lost))
    return len(lost)
