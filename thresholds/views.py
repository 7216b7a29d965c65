from __future__ import annotations

from django.http import Http404
from django.shortcuts import render

from agencies.models import Role
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
    return render(
        request, "thresholds/report.html", {"area": area, "report": report, "policy": policy, "levels": levels}
    )
