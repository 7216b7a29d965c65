"""Reading what a browser sends, without trusting it."""

from __future__ import annotations

from django.http import QueryDict


def posted_id(data: QueryDict, name: str) -> int:
    """The row id a form sent as `name`; 0, which names no row, when it is missing or no id at all."""
    value = data.get(name, "")
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else 0
