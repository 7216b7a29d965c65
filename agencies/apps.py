from __future__ import annotations

from django.apps import AppConfig


class AgenciesConfig(AppConfig):
    name = "agencies"
    verbose_name = "Agencies and people"

    def ready(self) -> None:
        # Registers the access policy's rules (object permissions).
        from agencies import policy  # noqa: F401
