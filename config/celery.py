"""The Celery application. The beat schedule is defined here, in code, beside the tasks it runs."""

from __future__ import annotations

import logging.config
import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import setup_logging
from django_structlog.celery.steps import DjangoStructLogInitStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("jigsaw")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.include = ["config.tasks"]
# Tasks queued during a web request log with that request's id.
app.steps["worker"].add(DjangoStructLogInitStep)

HEARTBEAT_INTERVAL_SECONDS = 30

# Packs render on their own queue, in a worker that recycles after each render (docker-compose: packs).
app.conf.task_routes = {"coregroups.tasks.pack_render": {"queue": "packs"}}

app.conf.beat_schedule = {
    # A re-assessment whose task was lost (broker down, worker killed) is picked up within a minute.
    "reassessments-sweep": {"task": "thresholds.tasks.sweep_due", "schedule": 60, "options": {"expires": 55}},
    # Deliveries left pending or claimed by a stopped worker, unacknowledged alerts, overdue stages.
    "escalation-sweep": {"task": "escalation.tasks.sweep", "schedule": 60, "options": {"expires": 55}},
    # Batch imports queued while the broker was down, or whose worker died, are started again.
    "batch-imports-sweep": {"task": "chronology.tasks.batch_imports_sweep", "schedule": 60, "options": {"expires": 55}},
    # Packs whose render was lost (broker down, a worker died) are started again.
    "packs-sweep": {"task": "coregroups.tasks.packs_sweep", "schedule": 60, "options": {"expires": 55}},
    # Time-driven rules change with the date alone.
    "reassess-every-child": {"task": "thresholds.tasks.nightly_reassess", "schedule": crontab(hour=1, minute=30)},
    # Access already stops at the lapse; this records the end on each involvement, once a night.
    "involvements-lapse": {
        "task": "agencies.tasks.involvements_lapse",
        "schedule": crontab(hour=2, minute=15),
    },
    # Idempotency-Keys are honoured for JIGSAW_API_IDEMPOTENCY_DAYS; older first responses are dropped.
    "api-idempotency-forget": {"task": "api.tasks.idempotency_forget", "schedule": crontab(hour=2, minute=45)},
    # Proves end to end that beat, the broker, a worker and the database all work; /healthz reads it.
    "worker-heartbeat": {
        "task": "config.tasks.worker_heartbeat",
        "schedule": HEARTBEAT_INTERVAL_SECONDS,
        "options": {"expires": HEARTBEAT_INTERVAL_SECONDS},
    },
}


@setup_logging.connect
def _use_django_logging(**_: object) -> None:
    # Workers log through the same structured configuration as the web process.
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
