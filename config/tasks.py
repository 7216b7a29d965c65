from __future__ import annotations

from celery import shared_task

from config import health


@shared_task(name="config.tasks.worker_heartbeat", ignore_result=False)
def worker_heartbeat() -> float:
    """Record that a worker ran a task and could reach the database."""
    return health.record_heartbeat()
