from __future__ import annotations

import rules
from django.conf import settings
from django.urls import reverse

from chronology import linkage
from escalation import selectors as escalation_selectors
from escalation.services.loops import may_supervise


def jigsaw(request):
    return {
        "service_name": "Jigsaw",
        "demo_enabled": settings.JIGSAW_DEMO_ENABLED,
        "navigation": _navigation(request),
        "unread_notifications": _unread_notifications(request),
    }


def _unread_notifications(request) -> int | None:
    """The count in the header's notifications link; None when nobody is signed in."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return escalation_selectors.unread_count(user)


def _navigation(request) -> list[dict]:
    """The header's links: each shown only to the roles whose page it is."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    items = [("Home", "home", True), ("Find a child", "child-find", True)]
    # The queue holds alerts, referrals to the user's agency, closures to countersign and disagreement stages.
    items.append(("Alerts", "alert-queue", user.agency_id is not None))
    items.append(("Supervision", "supervision", may_supervise(user)))
    items.append(
        ("Involvements to confirm", "involvements-to-confirm", rules.has_perm("agencies.confirm_involvements", user))
    )
    items.append(("Likely duplicates", "match-review", linkage.may_review_matches(user)))
    items.append(("Access reviews", "access-reviews", rules.has_perm("agencies.review_exceptional_access", user)))
    items.append(("Access log", "access-log", rules.has_perm("agencies.view_access_log", user)))
    items.append(
        (
            "Indicated levels",
            "thresholds-report",
            bool(user.agency_id and user.role_codes() & {"area_safeguarding_lead", "administrator"}),
        )
    )
    items.append(("Administration", "admin:index", user.is_staff))
    nav = []
    for label, name, shown in items:
        if shown:
            url = reverse(name)
            nav.append({"label": label, "url": url, "current": request.path == url})
    return nav
