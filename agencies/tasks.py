from __future__ import annotations

from celery import shared_task

from agencies import services


@shared_task(name="agencies.tasks.involvements_lapse")
def involvements_lapse() -> int:
    """Record as ended the involvements with no activity for the lapse period (nightly)."""
    return services.involvements_lapse()
