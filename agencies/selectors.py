"""Reads for safeguarding leads and auditors: confirmations due, openings to review, the access log."""

from __future__ import annotations

import rules
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from agencies.models import AccessLog, Area, ExceptionalAccess, Involvement, InvolvementReason


def involvements_to_confirm(*, actor) -> QuerySet[Involvement]:
    """Self-claimed involvements in the actor's agency that no designated safeguarding lead has confirmed."""
    if not rules.has_perm("agencies.confirm_involvements", actor):
        raise PermissionDenied
    return (
        Involvement.objects.filter(
            agency_id=actor.agency_id,
            reason=InvolvementReason.RECORDED_INFORMATION,
            confirmed_at__isnull=True,
            ended_at__isnull=True,
        )
        .select_related("child", "practitioner", "agency")
        .order_by("created_at")
    )


def exceptional_access_to_review(*, actor) -> QuerySet[ExceptionalAccess]:
    if not rules.has_perm("agencies.review_exceptional_access", actor):
        raise PermissionDenied
    return (
        ExceptionalAccess.objects.filter(reviewed_at__isnull=True, child__area_id=actor.agency.area_id)
        .exclude(user=actor)
        .select_related("user", "user__agency", "child")
        .order_by("opened_at")
    )


def self_claimed_involvements(*, actor) -> QuerySet[Involvement]:
    """For auditors: every self-claimed involvement in their area, confirmed or not."""
    if not rules.has_perm("agencies.view_access_log", actor):
        raise PermissionDenied
    return (
        Involvement.objects.filter(reason=InvolvementReason.RECORDED_INFORMATION, child__area_id=actor.agency.area_id)
        .select_related("child", "practitioner", "agency", "confirmed_by", "ended_by")
        .order_by("-created_at")
    )


def access_log(*, actor, child_id: int | None = None, user_id: int | None = None) -> QuerySet[AccessLog]:
    """The access log of the auditor's area, newest first, optionally for one child or one user."""
    if not rules.has_perm("agencies.view_access_log", actor):
        raise PermissionDenied
    rows = AccessLog.objects.filter(child__area_id=actor.agency.area_id).select_related("user", "user__agency", "child")
    if child_id is not None:
        rows = rows.filter(child_id=child_id)
    if user_id is not None:
        rows = rows.filter(user_id=user_id)
    return rows.order_by("-at", "-pk")


def area_named(text: str) -> Area | None:
    """An area by its code or, failing that, its name (any case): how commands name an area."""
    return Area.objects.filter(code=text).first() or Area.objects.filter(name__iexact=text).first()
