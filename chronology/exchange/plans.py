"""What an import will write: its summary, and a plan for each new or matched child, person and event."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from agencies.models import Area
from chronology.exchange.contract import ADDED_FIELDS, parse_timestamp
from chronology.models import Child, Event, Person

# The summary's shape is fixed, zeros included, so tools can read it without guessing.
SUMMARY_SHAPE = {
    "areas": ("created",),
    "agencies": ("created", "unchanged"),
    "children": ("created", "linked", "unchanged"),
    "people": ("created", "linked", "unchanged"),
    "events": ("created", "unchanged"),
}


@dataclass
class ImportSummary:
    source: str
    counts: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    match_candidates: int = 0

    def as_dict(self) -> dict[str, Any]:
        counts = {name: {s: self.counts[name][s] for s in states} for name, states in SUMMARY_SHAPE.items()}
        return {"source": self.source, **counts, "match_candidates": self.match_candidates}


_MISSING = object()


def _surviving(child: Child) -> Child:
    while child.merged_into_id:
        child = child.merged_into
    return child


def _unknown(item: dict, known: list[str] | frozenset[str]) -> dict:
    if isinstance(known, frozenset) and item.keys() <= known:  # nearly every line of a document
        return {}
    return {k: v for k, v in item.items() if k not in known and k not in ADDED_FIELDS}


def _same(name: str, given: Any, stored: Any) -> bool:
    if name == "recorded_at" and isinstance(given, str) and isinstance(stored, str):
        return parse_timestamp(given) == parse_timestamp(stored)
    return type(given) is type(stored) and given == stored


@dataclass
class _ChildPlan:
    index: int
    ref: str
    child: Child  # stored, or new: saved when the document is written
    status: str  # created | linked | unchanged
    key: int  # the child's id, or a provisional negative id for a new child
    record: dict
    area: Area | None = None


def _plan_area(plan: _ChildPlan) -> Area | None:
    return plan.child.area if plan.child.pk else plan.area


@dataclass
class _PersonPlan:
    person: Person
    children: list[_ChildPlan]


@dataclass
class _EventPlan:
    index: int
    event: Event
    plan: _ChildPlan
    people: list[Person | _PersonPlan]
    amends: int | Event | None  # the index of a new event in the document, or a stored event
