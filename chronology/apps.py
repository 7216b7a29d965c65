from __future__ import annotations

from django.apps import AppConfig


class ChronologyConfig(AppConfig):
    name = "chronology"
    verbose_name = "Child chronology"

    def ready(self):
        from chronology import signals
        from chronology.models import Event

        signals.events_written.connect(_raise_versions, sender=Event, dispatch_uid="chronology-events-version")


def _raise_versions(sender, child_ids, **kwargs):
    from chronology.models import EventsVersion

    EventsVersion.raise_for(child_ids)
