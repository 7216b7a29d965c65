"""Writes about who may see what: involvements, exceptional access, and the access log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import rules
import structlog
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from agencies import policy, signals
from agencies.models import (
    AccessChannel,
    AccessLog,
    Agency,
    ExceptionalAccess,
    ExceptionalAccessKind,
    Involvement,
    InvolvementReason,
    ReviewOutcome,
    Role,
    User,
)

log = structlog.get_logger(__name__)

# Reading through an involvement counts as activity; recording it more often than this adds nothing.
_ACTIVITY_GRANULARITY = timedelta(hours=1)


@dataclass(frozen=True)
class Origin:
    channel: AccessChannel
    ip_address: str | None = None
    request_id: str = ""
    api_key_id: int | None = None


def origin_from_request(request, channel: AccessChannel = AccessChannel.PAGE) -> Origin:
    request_id = structlog.contextvars.get_contextvars().get("request_id", "")
    key = getattr(request, "auth", None)  # an API call made with a key (api.authentication)
    return Origin(
        channel=AccessChannel.API if key is not None else channel,
        ip_address=request.META.get("REMOTE_ADDR") or None,
        request_id=str(request_id),
        api_key_id=getattr(key, "pk", None),
    )


def access_log_record(*, user, child, access: policy.Access | None, what: str, origin: Origin, basis=None) -> AccessLog:
    """Write one row of the access log. Call it inside the transaction that builds the response."""
    now = timezone.now()
    entry = AccessLog.objects.create(
        at=now,
        user=user,
        child=child,
        what=what,
        channel=origin.channel,
        basis=basis or access.basis,
        reason=access.reason if access else "",
        involvement=access.involvement if access else None,
        exceptional_access=access.exceptional_access if access else None,
        ip_address=origin.ip_address,
        request_id=origin.request_id,
        api_key_id=origin.api_key_id,
    )
    if access and access.involvement and now - access.involvement.last_activity_at > _ACTIVITY_GRANULARITY:
        Involvement.objects.filter(pk=access.involvement.pk).update(last_activity_at=now)
    return entry


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise PermissionDenied(message)


@transaction.atomic
def involvement_add(
    *,
    actor: User,
    child,
    agency: Agency,
    practitioner: User | None,
    reason: str,
    reason_detail: str = "",
    started_on: date | None = None,
) -> Involvement:
    _require(
        rules.has_perm("agencies.manage_involvements", actor, child), "You cannot add involvements for this child."
    )
    if Role.AREA_SAFEGUARDING_LEAD not in actor.role_codes():
        _require(agency.pk == actor.agency_id, "A designated safeguarding lead adds involvements for their own agency.")
    if practitioner is not None and practitioner.agency_id != agency.pk:
        raise ValidationError({"practitioner": "The practitioner must work for the agency named."})
    if reason not in InvolvementReason.values or reason == InvolvementReason.RECORDED_INFORMATION:
        raise ValidationError({"reason": "Choose the reason for the involvement."})
    if reason == InvolvementReason.OTHER and not reason_detail.strip():
        raise ValidationError({"reason_detail": "Say what the working relationship is."})
    now = timezone.now()
    started_on = started_on or timezone.localdate(now)
    if started_on > timezone.localdate(now):
        raise ValidationError({"started_on": "The start date must be today or in the past."})
    involvement = Involvement.objects.create(
        child=child,
        agency=agency,
        practitioner=practitioner,
        reason=reason,
        reason_detail=reason_detail.strip(),
        started_on=started_on,
        created_by=actor,
        last_activity_at=now,
        confirmed_by=actor,
        confirmed_at=now,
    )
    log.info("involvement_added", involvement=involvement.pk, child=child.pk, actor=actor.pk)
    return involvement


@transaction.atomic
def involvement_claim_for_recording(*, actor: User, child) -> Involvement:
    """A practitioner who found the child by exact identifiers records information about them.

    Their own involvement, with the reason "recorded information", is created at once and listed for
    their agency's designated safeguarding lead to confirm or end. The caller must have matched the
    child by exact identifiers: this service never discloses a child by itself.
    """
    _require(
        actor.agency_id is not None and Role.PRACTITIONER in actor.role_codes(),
        "Only a practitioner in an agency can record information about a child.",
    )
    now = timezone.now()
    existing = Involvement.objects.active(now=now).filter(child=child, practitioner=actor).first()
    if existing:
        return existing
    involvement = Involvement.objects.create(
        child=child,
        agency_id=actor.agency_id,
        practitioner=actor,
        reason=InvolvementReason.RECORDED_INFORMATION,
        started_on=timezone.localdate(now),
        created_by=actor,
        last_activity_at=now,
    )
    log.info("involvement_self_claimed", involvement=involvement.pk, child=child.pk, actor=actor.pk)
    return involvement


def _may_manage(actor: User, involvement: Involvement) -> bool:
    roles = actor.role_codes()
    if Role.AREA_SAFEGUARDING_LEAD in roles and actor.agency_id and actor.agency.area_id == involvement.child.area_id:
        return True
    return Role.DESIGNATED_SAFEGUARDING_LEAD in roles and actor.agency_id == involvement.agency_id


@transaction.atomic
def involvement_confirm(*, actor: User, involvement: Involvement) -> Involvement:
    involvement = Involvement.objects.select_for_update().get(pk=involvement.pk)
    _require(_may_manage(actor, involvement), "Only the agency's designated safeguarding lead confirms this.")
    if involvement.ended_at is not None:
        raise ValidationError("This involvement has ended; it cannot be confirmed.")
    if involvement.confirmed_at is None:
        involvement.confirmed_by = actor
        involvement.confirmed_at = timezone.now()
        involvement.save(update_fields=["confirmed_by", "confirmed_at"])
        log.info("involvement_confirmed", involvement=involvement.pk, actor=actor.pk)
    return involvement


@transaction.atomic
def involvement_end(*, actor: User, involvement: Involvement, reason: str) -> Involvement:
    involvement = Involvement.objects.select_for_update().get(pk=involvement.pk)
    _require(_may_manage(actor, involvement), "Only a designated or area safeguarding lead ends involvements.")
    if not reason.strip():
        raise ValidationError({"reason": "Say why the involvement is ending."})
    if involvement.ended_at is not None:
        raise ValidationError("This involvement has already ended.")
    involvement.ended_at = timezone.now()
    involvement.ended_by = actor
    involvement.end_reason = reason.strip()
    involvement.save(update_fields=["ended_at", "ended_by", "end_reason"])
    log.info("involvement_ended", involvement=involvement.pk, actor=actor.pk)
    return involvement


@transaction.atomic
def involvement_renew(*, actor: User, involvement: Involvement) -> Involvement:
    involvement = Involvement.objects.select_for_update().get(pk=involvement.pk)
    _require(
        involvement.practitioner_id == actor.pk or _may_manage(actor, involvement), "You cannot renew this involvement."
    )
    if involvement.ended_at is not None:
        raise ValidationError("This involvement has ended; add a new one instead.")
    involvement.last_activity_at = timezone.now()
    involvement.save(update_fields=["last_activity_at"])
    log.info("involvement_renewed", involvement=involvement.pk, actor=actor.pk)
    return involvement


def involvements_lapse(*, now=None) -> int:
    """Record as ended the involvements that lapsed for want of activity. Access already stopped."""
    now = now or timezone.now()
    cutoff = now - policy.lapse_after()
    system = policy.system_user()
    lapsed = 0
    for involvement in Involvement.objects.filter(ended_at__isnull=True, last_activity_at__lt=cutoff):
        with transaction.atomic():
            updated = Involvement.objects.filter(pk=involvement.pk, ended_at__isnull=True).update(
                ended_at=involvement.last_activity_at + policy.lapse_after(),
                ended_by=system,
                end_reason=f"Lapsed: no activity for {settings.JIGSAW_INVOLVEMENT_LAPSE_DAYS} days.",
            )
            lapsed += updated
    if lapsed:
        log.info("involvements_lapsed", count=lapsed)
    return lapsed


@transaction.atomic
def exceptional_access_open(*, actor: User, child, kind: ExceptionalAccessKind, reason: str) -> ExceptionalAccess:
    reason = reason.strip()
    if len(reason) < 20:
        raise ValidationError({"reason": "Write the reason in full (at least 20 characters): it will be reviewed."})
    if kind == ExceptionalAccessKind.AUDIT:
        _require(rules.has_perm("agencies.open_for_audit", actor), "Only auditors open a record for audit.")
        hours = settings.JIGSAW_AUDIT_OPENING_HOURS
    else:
        _require(actor.is_active and actor.agency_id is not None, "Break-glass needs a practitioner in an agency.")
        hours = settings.JIGSAW_BREAK_GLASS_HOURS
    now = timezone.now()
    opening = ExceptionalAccess.objects.create(
        kind=kind, user=actor, child=child, reason=reason, opened_at=now, expires_at=now + timedelta(hours=hours)
    )
    log.warning("exceptional_access_opened", kind=kind, opening=opening.pk, child=child.pk, actor=actor.pk)
    signals.exceptional_access_opened.send(sender=ExceptionalAccess, opening=opening)
    return opening


@transaction.atomic
def exceptional_access_review(
    *, actor: User, opening: ExceptionalAccess, outcome: str, note: str = ""
) -> ExceptionalAccess:
    opening = ExceptionalAccess.objects.select_for_update().get(pk=opening.pk)
    _require(rules.has_perm("agencies.review_exceptional_access", actor), "You cannot review exceptional access.")
    _require(opening.user_id != actor.pk, "Someone else must review your own exceptional access.")
    if opening.reviewed_at is not None:
        raise ValidationError("This opening has already been reviewed.")
    if outcome not in ReviewOutcome.values:
        raise ValidationError({"outcome": "Say whether the access was appropriate."})
    if outcome == ReviewOutcome.INAPPROPRIATE and not note.strip():
        raise ValidationError({"note": "Say why the access was not appropriate and what follows."})
    opening.reviewed_by = actor
    opening.reviewed_at = timezone.now()
    opening.review_outcome = outcome
    opening.review_note = note.strip()
    opening.save(update_fields=["reviewed_by", "reviewed_at", "review_outcome", "review_note"])
    log.info("exceptional_access_reviewed", opening=opening.pk, outcome=outcome, actor=actor.pk)
    signals.exceptional_access_reviewed.send(sender=ExceptionalAccess, opening=opening, actor=actor)
    return opening
