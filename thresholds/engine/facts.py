"""Plain data the engine reads and writes. No Django: a list of facts and a policy in, an assessment out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

_NO_DETAILS = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ChildFacts:
    ref: str
    date_of_birth: date
    # True/False as a practitioner recorded it; None: derived (under 6 months is not independently mobile).
    not_independently_mobile: bool | None = None


@dataclass(slots=True)
class EventFacts:
    """One event as the engine reads it. Not frozen: re-assessment builds thousands, and frozen is slow."""

    ref: str
    occurred_on: date
    agency: str
    type: str
    factors: tuple[str, ...] = ()
    # Factor codes of the people the event concerns (a parent's own substance misuse, say).
    people_factors: tuple[str, ...] = ()
    child_seen: bool | None = None
    source: str = "practitioner"
    details: dict = _NO_DETAILS  # never changed by the engine, so one empty mapping serves every event
    amends: str | None = None
    amendment_kind: str = ""


@dataclass(frozen=True, slots=True)
class Reason:
    rule: str
    text: str
    events: tuple[str, ...]
    points: float

    def as_dict(self) -> dict:
        return {"rule": self.rule, "text": self.text, "events": list(self.events), "points": round(self.points, 1)}


@dataclass(frozen=True, slots=True)
class Assessment:
    child: str
    as_of: date
    policy: str
    level: int
    level_name: str
    score: float
    toxic_trio: dict
    flags: tuple[str, ...]
    reasons: tuple[Reason, ...]

    def as_dict(self) -> dict:
        """The contract's `assess --json` output."""
        return {
            "child": self.child,
            "as_of": self.as_of.isoformat(),
            "policy": self.policy,
            "level": self.level,
            "level_name": self.level_name,
            "indicated": True,
            "score": round(self.score, 1),
            "toxic_trio": dict(self.toxic_trio),
            "flags": list(self.flags),
            "reasons": [r.as_dict() for r in self.reasons],
        }
