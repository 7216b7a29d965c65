from __future__ import annotations

from django.apps import AppConfig


class AgenciesConfig(AppConfig):
    name = "agencies"
    verbose_name = "Agencies and people"

    def ready(self) -> None:
        # Registers the access policy's rules (object permissions) and the sign-in signal receivers.
        from agencies import policy, signin  # noqa: F401
