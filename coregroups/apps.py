from __future__ import annotations

from django.apps import AppConfig


class CoreGroupsConfig(AppConfig):
    name = "coregroups"
    verbose_name = "Core groups"

    def ready(self) -> None:
        # Adds the core group panel to the child's page.
        from coregroups import panels  # noqa: F401
