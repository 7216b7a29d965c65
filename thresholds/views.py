from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.db import transaction
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.safestring import mark_safe

from agencies.models import Role
from agencies.services import origin_from_request
from chronology.models import Child, Event
from chronology.selectors import child_get
from thresholds.facts import facts_for
from thresholds.history import history_svg, level_history
from thresholds.panels import FLAG_WORDS
from thresholds.selectors import area_report
from thresholds.services import policy_for_area


def thresholds_report(request):
    """For the area's safeguarding leads and administrators: does the policy over- or under-alert?"""
    user = request.user
    roles = user.role_codes()
    if not user.agency_id or not roles & {Role.AREA_SAFEGUARDING_LEAD, Role.ADMINISTRATOR}:
        raise Http404
    area = user.agency.area
    report = area_report(area_id=area.pk)
    policy = policy_for_area(area.pk)
    levels = [
        (level, policy.level_name(level), count, round(100 * count / report.assessed) if report.assessed else 0)
        for level, count in report.per_level.items()
    ]
    # Progress of a re-assessment after a policy change: how many children already carry the policy in force.
    current = dict(report.policies).get(policy.label, 0)
    return render(
        request,
        "thresholds/report.html",
        {
            "area": area,
            "report": report,
            "policy": policy,
            "levels": levels,
            "current": current,
            "flags": [((code, FLAG_WORDS.get(code, code.replace("_", " "))), n) for code, n in report.flags],
        },
    )


@transaction.atomic
def level_history_page(request, child_id: int):
    """The child's indicated level over time. A read of the record: through the policy, and logged."""
    try:
        child, _ = child_get(
            actor=request.user, child_id=child_id, what="indicated level history", origin=origin_from_request(request)
        )
    except Child.DoesNotExist:
        raise Http404 from None
    child_facts, events = facts_for(child)
    policy = policy_for_area(child.area_id)
    today = timezone.localdate()
    key = (
        "level-history:"
        + hashlib.sha256(
            repr((child.pk, len(events), max((int(e.ref) for e in events), default=0), policy.label, today)).encode()
        ).hexdigest()
    )
    points = cache.get(key)
    if points is None:
        points = level_history(child_facts, events, today, policy)
        cache.set(key, points, 24 * 60 * 60)
    moved = {ref for p in points for ref in p.moved_by}
    labels = {
        str(pk): f"{occurred_on:%-d %B %Y}, {kind.replace('_', ' ')}, {agency}"
        for pk, occurred_on, kind, agency in Event.objects.filter(pk__in=[int(r) for r in moved]).values_list(
            "pk", "occurred_on", "type", "agency__name"
        )
    }
    rises = [(p, [labels.get(r, r) for r in p.moved_by]) for p in points if p.moved_by]
    return render(
        request,
        "thresholds/history.html",
        {
            "child": child,
            "points": points,
            "rises": rises,
            "policy": policy,
            "chart": mark_safe(history_svg(points, policy, labels)),  # noqa: S308 - drawn and escaped in history.py
        },
    )
