from __future__ import annotations

from celery import shared_task

from api.base import idempotency_forget


@shared_task(name="api.tasks.idempotency_forget")
def forget_idempotency_keys() -> int:
    """Drop the stored first responses to Idempotency-Keys older than JIGSAW_API_IDEMPOTENCY_DAYS (nightly)."""
    return idempotency_forget()
