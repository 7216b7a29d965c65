"""The indicated level on the child's page, through the chronology's panel registry."""

from __future__ import annotations

from django.core.cache import cache

from chronology.models import Event
from chronology.panels import Panel, register
from thresholds import services

FLAG_WORDS = {
    "toxic_trio": "Toxic trio: domestic abuse, parental mental ill health and substance misuse",
    "non_mobile_bruising": "Bruising on a baby who is not independently mobile",
    "repeat_domestic_abuse": "Repeat domestic abuse",
    "cumulative_neglect": "Cumulative neglect",
    "multi_agency_pattern": "Concerns from several agencies",
    "was_not_brought_pattern": "Repeatedly not brought to appointments",
    "no_access": "Child not seen on a visit (no access)",
    "child_not_seen": "No professional has seen the child for a long time",
    "missing_return_interview_overdue": "Return home interview overdue",
    "closed_with_unresolved_risk": "Closed while risk remained",
    "rising_concern": "Concerns rising",
    "decision_gap": "Indicated level above the latest professional decision",
    "high_risk_domestic_abuse": "High-risk domestic abuse markers",
    "injury_explanation_inconsistent": "Injury with an inconsistent explanation",
    "delayed_presentation": "Injury presented late",
}


def indicated_level_context(request, child, access):
    snapshot = services.latest_assessment(child) or services.child_reassess(child_id=child.pk)
    if snapshot is None:
        return None
    key = f"indicated-level-reasons:{snapshot.pk}"
    reasons = cache.get(key)
    if reasons is None:
        reasons = _linked_reasons(snapshot)
        cache.set(key, reasons, 24 * 60 * 60)  # a snapshot never changes
    return {
        "snapshot": snapshot,
        "flags": [(flag, FLAG_WORDS.get(flag, flag.replace("_", " "))) for flag in snapshot.flags],
        "reasons": reasons,
        "bands": _bands(child.area_id, snapshot.policy),
        "child": child,
    }


def _bands(area_id: int | None, label: str) -> list[tuple[int, float]]:
    """Where each level above the first starts, in points, under the policy the snapshot used (a policy version
    never changes); empty if that is no longer the area's policy."""
    key = f"policy-bands:{area_id}:{label}"
    bands = cache.get(key)
    if bands is None:
        policy = services.policy_for_area(area_id)
        bands = [(level, min_score) for level, _, min_score in policy.levels[1:]] if policy.label == label else []
        cache.set(key, bands, 60 * 60)
    return bands


def _linked_reasons(snapshot) -> list[dict]:
    shown = 12  # the panel names at most this many events per reason, then says how many more
    refs = {int(ref) for reason in snapshot.reasons for ref in reason["events"][:shown] if ref.isdigit()}
    events = {
        pk: (occurred_on, kind, agency)
        for pk, occurred_on, kind, agency in Event.objects.filter(pk__in=refs).values_list(
            "pk", "occurred_on", "type", "agency__name"
        )
    }
    reasons = []
    for reason in snapshot.reasons:
        linked = []
        for ref in reason["events"][:shown]:
            if ref.isdigit() and int(ref) in events:
                occurred_on, kind, agency = events[int(ref)]
                linked.append(
                    {"pk": int(ref), "occurred_on": occurred_on, "type": kind.replace("_", " "), "agency": agency}
                )
        reasons.append({**reason, "linked": linked, "more": max(0, len(reason["events"]) - shown)})
    return reasons


register(Panel(name="indicated_level", template="thresholds/panel.html", context=indicated_level_context, order=10))
