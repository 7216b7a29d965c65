"""A small registry of panels for the child's page.

`chronology` shows the record; later modules (the indicated level, alerts, the core group) add their
own panels here from their `AppConfig.ready`, so the dependency still points one way.

A panel is a function `(request, child, access) -> dict | None` returning the context for its
template, or None to show nothing; `template` names the template that renders it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Panel:
    name: str
    template: str
    context: Callable
    order: int = 100


_PANELS: dict[str, Panel] = {}


def register(panel: Panel) -> None:
    _PANELS[panel.name] = panel


def panels_for(request, child, access) -> list[tuple[Panel, dict]]:
    shown = []
    for panel in sorted(_PANELS.values(), key=lambda p: (p.order, p.name)):
        context = panel.context(request, child, access)
        if context is not None:
            shown.append((panel, context))
    return shown
