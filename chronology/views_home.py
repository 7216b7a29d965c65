"""The home page: what needs each person, by their roles."""

from __future__ import annotations

from chronology.views import home

__all__ = ["home"]
