"""Pack tasks, on their own queue ("packs"): the pack worker recycles its process after every render so
WeasyPrint's memory is returned (`--max-tasks-per-child=1`)."""

from __future__ import annotations

from datetime import timedelta

import structlog

# Imported when the worker starts, so every process it forks (one per render) has it already.
import weasyprint  # noqa: F401
from celery import shared_task
from django.utils import timezone

from coregroups import services
from coregroups.models import Pack, PackState

log = structlog.get_logger(__name__)

# A queued pack whose task was lost, or a render whose worker died, is started again after this long.
LOST_AFTER = timedelta(minutes=2)
STUCK_AFTER = timedelta(minutes=30)


@shared_task(name="coregroups.tasks.pack_render", acks_late=True)
def pack_render(pack_id: int) -> str:
    return services.pack_render_now(pack_id=pack_id).state


@shared_task(name="coregroups.tasks.packs_sweep")
def packs_sweep() -> int:
    now = timezone.now()
    Pack.objects.filter(state=PackState.RENDERING, as_of__lt=now - STUCK_AFTER).update(
        state=PackState.QUEUED, progress=0
    )
    lost = list(
        Pack.objects.filter(state=PackState.QUEUED, requested_at__lt=now - LOST_AFTER).values_list("pk", flat=True)
    )
    for pk in lost:
        pack_render.apply_async((pk,), queue="packs")
    if lost:
        log.warning("packs_requeued", count=len(lost))
    return len(lost)
