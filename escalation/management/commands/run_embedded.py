from __future__ import annotations

import threading

import structlog
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from config.celery import app

log = structlog.get_logger(__name__)


class Command(BaseCommand):
    help = (
        "The embedded default: the development server plus, in a thread, the beat's every-minute jobs "
        "(deliveries, unacknowledged alerts, overdue stages, lost re-assessments), run in-process."
    )

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--every", type=int, default=60, help="seconds between runs of the minute jobs")

    def handle(self, *args, **options):
        if not app.conf.task_always_eager:
            raise CommandError("REDIS_URL is set: run a Celery worker and beat instead (see README).")
        stop = threading.Event()
        ticker = threading.Thread(target=self._tick, args=(stop, options["every"]), daemon=True, name="minute-jobs")
        ticker.start()
        try:
            call_command("runserver", options["addrport"], use_reloader=False)
        finally:
            stop.set()

    def _tick(self, stop: threading.Event, every: int) -> None:
        from escalation.tasks import sweep
        from thresholds.tasks import sweep_due

        while not stop.wait(every):
            try:
                sweep_due()
                sweep()
            except Exception:
                log.exception("minute_jobs_failed")
            finally:
                close_old_connections()
