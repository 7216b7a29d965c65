"""Finding a child."""

from __future__ import annotations

from chronology.views import child_find

__all__ = ["child_find"]
