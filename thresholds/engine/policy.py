"""Threshold policies are data: a versioned JSON document, validated on load.

An invalid document is refused with a message naming the key, for example
`rules.toxic_trio.window_days: must be a whole number of 1 or more`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "policies" / "default.json"

KNOWN_FACTORS = frozenset(
    [
        "1A",
        "1B",
        "1C",
        "2A",
        "2B",
        "2C",
        "3A",
        "3B",
        "3C",
        "4A",
        "4B",
        "4C",
        "5A",
        "5B",
        "5C",
        "6A",
        "6B",
        "6C",
        "7A",
        "8F",
        "9A",
        "10A",
        "11A",
        "12A",
        "13A",
        "14A",
        "15A",
        "16A",
        "17A",
        "18B",
        "18C",
        "19B",
        "19C",
        "20",
        "21",
        "22A",
        "23A",
        "24A",
    ]
)

INT = ("int", 1)
INT0 = ("int", 0)
NUM = ("num", 0)
FRACTION = ("fraction", None)
LEVEL = ("level", None)

RULES: dict[str, dict[str, tuple]] = {
    "non_mobile_bruising": {"under_months": INT, "window_days": INT, "points": NUM, "min_level": LEVEL},
    "injury_explanation_inconsistent": {"window_days": INT, "points": NUM, "min_level": LEVEL},
    "delayed_presentation": {"delay_hours": NUM, "window_days": INT, "points": NUM},
    "high_risk_domestic_abuse": {"dash_score": INT, "window_days": INT, "points": NUM, "min_level": LEVEL},
    "repeat_domestic_abuse": {"count": INT, "window_days": INT, "points": NUM, "min_level": LEVEL},
    "toxic_trio": {"window_days": INT, "two_points": NUM, "three_points": NUM, "min_level": LEVEL},
    "cumulative_neglect": {"window_days": INT, "kinds": INT, "threshold": NUM, "points": NUM, "min_level": LEVEL},
    "was_not_brought_pattern": {
        "under_5_count": INT,
        "under_5_window_days": INT,
        "count": INT,
        "window_days": INT,
        "on_plan_count": INT,
        "on_plan_window_days": INT,
        "points": NUM,
    },
    "no_access": {
        "window_days": INT,
        "repeat_count": INT,
        "repeat_window_days": INT,
        "points": NUM,
        "repeat_points": NUM,
    },
    "child_not_seen": {"under_5_days": INT, "over_5_days": INT, "concern_window_days": INT, "points": NUM},
    "missing_return_interview_overdue": {"hours": INT, "window_days": INT, "points": NUM, "min_level": LEVEL},
    "multi_agency_pattern": {"agencies": INT, "window_days": INT, "points": NUM},
    "rising_concern": {"recent_days": INT, "min_recent": INT, "prior_days": INT, "ratio": NUM, "points": NUM},
    "closed_with_unresolved_risk": {"window_days": INT, "min_level_before": LEVEL, "points": NUM, "min_level": LEVEL},
    "decision_gap": {"points": NUM},
}


class PolicyError(ValueError):
    """The policy document is refused; the message names the key."""


@dataclass(frozen=True)
class Policy:
    name: str
    version: int
    levels: tuple[tuple[int, str, float], ...]  # (level, name, min_score), ascending
    half_life_days: float
    floor: float
    type_weights: dict[str, float]
    factor_weights: dict[str, float]
    low_attendance_percent: float
    low_attendance_points: float
    unverified_third_party: float
    rules: dict[str, dict[str, Any]]
    document: dict

    @property
    def label(self) -> str:
        return f"{self.name}/{self.version}"

    def level_for(self, score: float) -> int:
        level = self.levels[0][0]
        for number, _, min_score in self.levels:
            if score >= min_score:
                level = number
        return level

    def level_name(self, level: int) -> str:
        return next(name for number, name, _ in self.levels if number == level)


def _check(value: Any, kind: tuple, key: str) -> float | int:
    name, minimum = kind
    if name in {"int", "level"}:
        if not isinstance(value, int) or isinstance(value, bool):
            raise PolicyError(f"{key}: must be a whole number")
        if name == "level" and not 1 <= value <= 4:
            raise PolicyError(f"{key}: must be a level from 1 to 4")
        if name == "int" and value < minimum:
            raise PolicyError(f"{key}: must be a whole number of {minimum} or more")
        return value
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise PolicyError(f"{key}: must be a number")
    if name == "fraction" and not 0 <= value <= 1:
        raise PolicyError(f"{key}: must be between 0 and 1")
    if name == "num" and value < minimum:
        raise PolicyError(f"{key}: must be {minimum} or more")
    return value


def _object(document: Any, key: str) -> dict:
    if not isinstance(document, dict):
        raise PolicyError(f"{key or 'the policy'}: must be an object")
    return document


def _field(obj: dict, name: str, key: str) -> Any:
    if name not in obj:
        raise PolicyError(f"{key}{name}: is required")
    return obj[name]


def policy_from_document(document: Any) -> Policy:
    """Validate a policy document and return the Policy; PolicyError names the first bad key."""
    doc = _object(document, "")
    name = _field(doc, "name", "")
    if not isinstance(name, str) or not name.strip():
        raise PolicyError("name: must be a non-empty text")
    version = _check(_field(doc, "version", ""), INT, "version")

    raw_levels = _field(doc, "levels", "")
    if not isinstance(raw_levels, list) or len(raw_levels) != 4:
        raise PolicyError("levels: must list the four levels")
    levels = []
    for i, item in enumerate(raw_levels):
        item = _object(item, f"levels[{i}]")
        number = _check(_field(item, "level", f"levels[{i}]."), LEVEL, f"levels[{i}].level")
        if number != i + 1:
            raise PolicyError(f"levels[{i}].level: must be {i + 1} (levels in order 1 to 4)")
        label = _field(item, "name", f"levels[{i}].")
        if not isinstance(label, str) or not label.strip():
            raise PolicyError(f"levels[{i}].name: must be a non-empty text")
        min_score = _check(_field(item, "min_score", f"levels[{i}]."), NUM, f"levels[{i}].min_score")
        if levels and min_score <= levels[-1][2]:
            raise PolicyError(f"levels[{i}].min_score: must be above the level below's")
        levels.append((number, label.strip(), float(min_score)))
    if levels[0][2] != 0:
        raise PolicyError("levels[0].min_score: must be 0")

    recency = _object(_field(doc, "recency", ""), "recency")
    half_life = _check(_field(recency, "half_life_days", "recency."), INT, "recency.half_life_days")
    floor = _check(_field(recency, "floor", "recency."), FRACTION, "recency.floor")

    weights = _object(_field(doc, "weights", ""), "weights")
    type_weights = _object(_field(weights, "event_types", "weights."), "weights.event_types")
    for code, value in type_weights.items():
        _check(value, NUM, f"weights.event_types.{code}")
    factor_weights = _object(_field(weights, "factors", "weights."), "weights.factors")
    for code, value in factor_weights.items():
        if code not in KNOWN_FACTORS:
            raise PolicyError(f"weights.factors.{code}: is not a factor code")
        _check(value, NUM, f"weights.factors.{code}")
    low_attendance = _check(
        _field(weights, "low_attendance_percent", "weights."), NUM, "weights.low_attendance_percent"
    )
    low_points = _check(_field(weights, "low_attendance_points", "weights."), NUM, "weights.low_attendance_points")
    third_party = _check(
        _field(weights, "unverified_third_party", "weights."), FRACTION, "weights.unverified_third_party"
    )

    raw_rules = _object(_field(doc, "rules", ""), "rules")
    rules: dict[str, dict[str, Any]] = {}
    for rule, spec in RULES.items():
        params = _object(_field(raw_rules, rule, "rules."), f"rules.{rule}")
        rules[rule] = {
            p: _check(_field(params, p, f"rules.{rule}."), kind, f"rules.{rule}.{p}") for p, kind in spec.items()
        }
    unknown = sorted(set(raw_rules) - set(RULES))
    if unknown:
        raise PolicyError(f"rules.{unknown[0]}: is not a rule this version knows")
    return Policy(
        name=name.strip(),
        version=version,
        levels=tuple(levels),
        half_life_days=float(half_life),
        floor=float(floor),
        type_weights={k: float(v) for k, v in type_weights.items()},
        factor_weights={k: float(v) for k, v in factor_weights.items()},
        low_attendance_percent=float(low_attendance),
        low_attendance_points=float(low_points),
        unverified_third_party=float(third_party),
        rules=rules,
        document=doc,
    )


def policy_from_text(text: str) -> Policy:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PolicyError(f"the policy is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    return policy_from_document(document)


_DEFAULT: Policy | None = None


def default_policy() -> Policy:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = policy_from_text(DEFAULT_PATH.read_text())
    return _DEFAULT
