from __future__ import annotations

from django.apps import AppConfig


class ThresholdsConfig(AppConfig):
    name = "thresholds"
    verbose_name = "Thresholds"

    def ready(self) -> None:
        # Listens to the chronology's announcements and adds its panels to the child's page.
        from thresholds import panels, receivers  # noqa: F401
