"""An area's escalation policy: routing, acknowledgement times, tiers, the staged procedure, as data.

The document is validated on load; a refusal names the key. The defaults (policies/default.json)
come from the domain notes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache
from pathlib import Path

from escalation.calendar import WorkingCalendar

DEFAULT_FILE = Path(__file__).with_name("policies") / "default.json"
SEVERITIES = ("critical", "high", "medium")
RECIPIENT_KINDS = {"involved_agency_leads", "lead_practitioner", "involved_practitioners"}
TIER_KINDS = {"agency_leads", "line_managers", "area_safeguarding_leads", "senior_managers"}
STAGE_WHO = {"practitioners", "agency_leads_and_line_managers", "senior_managers", "area_safeguarding_leads"}


class EscalationPolicyError(ValueError):
    pass


@dataclass(frozen=True)
class Stage:
    title: str
    who: str
    working_days: int


@dataclass(frozen=True)
class EscalationRules:
    version: int
    calendar: WorkingCalendar
    acknowledge_within: dict  # severity -> {"hours": n} or {"working_days": n}
    level_severity: dict[int, str]
    flag_severity: dict[str, str]
    other_flags: str
    break_glass: str
    referral_outcome_overdue: str
    route_to: tuple[str, ...]
    area_leads_levels: frozenset[int]
    area_leads_flags: frozenset[str]
    out_of_hours_critical: str
    tiers: tuple[str, ...]
    stages: tuple[Stage, ...]
    referral_outcome_working_days: int
    supervision_months: int
    max_attempts: int
    first_retry_seconds: int
    claim_seconds: int

    def acknowledge_by(self, severity: str, start: datetime) -> datetime:
        within = self.acknowledge_within[severity]
        if "hours" in within:
            return start + timedelta(hours=within["hours"])
        return self.calendar.add_working_days(start, within["working_days"])

    def severity_for_flag(self, flag: str) -> str:
        return self.flag_severity.get(flag, self.other_flags)


def _need(doc: dict, key: str, kind, where: str = ""):
    name = f"{where}{key}"
    if not isinstance(doc, dict) or key not in doc:
        raise EscalationPolicyError(f"{name}: missing")
    value = doc[key]
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise EscalationPolicyError(f"{name}: must be a whole number")
    if kind is not int and not isinstance(value, kind):
        raise EscalationPolicyError(f"{name}: must be a {kind.__name__ if kind is not list else 'list'}")
    return value


def _severity(value, name: str) -> str:
    if value not in SEVERITIES:
        raise EscalationPolicyError(f"{name}: must be one of {', '.join(SEVERITIES)}, not {value!r}")
    return value


def _clock(value, name: str) -> time:
    try:
        return time.fromisoformat(value)
    except (TypeError, ValueError):
        raise EscalationPolicyError(f"{name}: must be a time like 09:00") from None


def rules_from_document(doc: dict) -> EscalationRules:
    """Validate `doc` and return the rules; EscalationPolicyError names the first key that is wrong."""
    if not isinstance(doc, dict):
        raise EscalationPolicyError("the policy must be a JSON object")
    version = _need(doc, "version", int)
    hours = _need(doc, "working_hours", dict)
    starts = _clock(hours.get("starts"), "working_hours.starts")
    ends = _clock(hours.get("ends"), "working_hours.ends")
    if ends <= starts:
        raise EscalationPolicyError("working_hours.ends: must be after working_hours.starts")
    closures = set()
    for k, day in enumerate(hours.get("closures", [])):
        try:
            closures.add(datetime.fromisoformat(day).date())
        except (TypeError, ValueError):
            raise EscalationPolicyError(f"working_hours.closures[{k}]: must be a date like 2026-12-24") from None
    within = _need(doc, "acknowledge_within", dict)
    for severity in SEVERITIES:
        item = _need(within, severity, dict, "acknowledge_within.")
        if len(item) != 1 or not ({"hours", "working_days"} & set(item)):
            raise EscalationPolicyError(f"acknowledge_within.{severity}: give either hours or working_days")
        ((unit, amount),) = item.items()
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
            raise EscalationPolicyError(f"acknowledge_within.{severity}.{unit}: must be a whole number of 1 or more")
    sev = _need(doc, "severity", dict)
    levels = _need(sev, "level", dict, "severity.")
    level_severity = {}
    for key, value in levels.items():
        if key not in {"1", "2", "3", "4"}:
            raise EscalationPolicyError(f"severity.level.{key}: levels are 1 to 4")
        level_severity[int(key)] = _severity(value, f"severity.level.{key}")
    flags = _need(sev, "flags", dict, "severity.")
    flag_severity = {code: _severity(value, f"severity.flags.{code}") for code, value in flags.items()}
    routing = _need(doc, "routing", dict)
    route_to = _need(routing, "to", list, "routing.")
    for k, kind in enumerate(route_to):
        if kind not in RECIPIENT_KINDS:
            raise EscalationPolicyError(f"routing.to[{k}]: must be one of {', '.join(sorted(RECIPIENT_KINDS))}")
    at_once = _need(routing, "area_leads_at_once", dict, "routing.")
    tiers = _need(doc, "tiers", list)
    for k, kind in enumerate(tiers):
        if kind not in TIER_KINDS:
            raise EscalationPolicyError(f"tiers[{k}]: must be one of {', '.join(sorted(TIER_KINDS))}")
    stages = []
    for k, item in enumerate(_need(doc, "disagreement_stages", list)):
        where = f"disagreement_stages[{k}]."
        title = _need(item, "title", str, where)
        who = _need(item, "who", str, where)
        if who not in STAGE_WHO:
            raise EscalationPolicyError(f"{where}who: must be one of {', '.join(sorted(STAGE_WHO))}")
        days = _need(item, "working_days", int, where)
        if days < 1:
            raise EscalationPolicyError(f"{where}working_days: must be 1 or more")
        stages.append(Stage(title, who, days))
    if not stages:
        raise EscalationPolicyError("disagreement_stages: give at least one stage")
    delivery = _need(doc, "delivery", dict)
    return EscalationRules(
        version=version,
        calendar=WorkingCalendar(starts=starts, ends=ends, closures=frozenset(closures)),
        acknowledge_within={s: dict(within[s]) for s in SEVERITIES},
        level_severity=level_severity,
        flag_severity=flag_severity,
        other_flags=_severity(sev.get("other_flags", "medium"), "severity.other_flags"),
        break_glass=_severity(sev.get("break_glass", "high"), "severity.break_glass"),
        referral_outcome_overdue=_severity(
            sev.get("referral_outcome_overdue", "medium"), "severity.referral_outcome_overdue"
        ),
        route_to=tuple(route_to),
        area_leads_levels=frozenset(int(x) for x in at_once.get("levels", [])),
        area_leads_flags=frozenset(at_once.get("flags", [])),
        out_of_hours_critical=routing.get("out_of_hours_critical", "emergency_duty_team"),
        tiers=tuple(tiers),
        stages=tuple(stages),
        referral_outcome_working_days=_need(doc, "referral_outcome_working_days", int),
        supervision_months=_need(doc, "supervision_months", int),
        max_attempts=_need(delivery, "max_attempts", int, "delivery."),
        first_retry_seconds=_need(delivery, "first_retry_seconds", int, "delivery."),
        claim_seconds=_need(delivery, "claim_seconds", int, "delivery."),
    )


@lru_cache(maxsize=1)
def default_document() -> dict:
    return json.loads(DEFAULT_FILE.read_text())


@lru_cache(maxsize=1)
def default_rules() -> EscalationRules:
    return rules_from_document(default_document())


def rules_for_area(area_id: int | None) -> EscalationRules:
    """The area's latest escalation policy, or the defaults."""
    from escalation.models import EscalationPolicy

    if area_id is not None:
        latest = EscalationPolicy.objects.filter(area_id=area_id).order_by("-version").first()
        if latest is not None:
            return _cached(latest.pk, json.dumps(latest.document, sort_keys=True))
    return default_rules()


@lru_cache(maxsize=32)
def _cached(pk: int, text: str) -> EscalationRules:
    return rules_from_document(json.loads(text))
