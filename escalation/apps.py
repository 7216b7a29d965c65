from __future__ import annotations

from django.apps import AppConfig


class EscalationConfig(AppConfig):
    name = "escalation"
    verbose_name = "Escalation"

    def ready(self) -> None:
        # Listens to the access, chronology and thresholds modules and adds its panels to the child's page.
        from escalation import panels, receivers  # noqa: F401
