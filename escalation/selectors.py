"""Reads for the escalation pages and report. Each takes the acting user and applies the access policy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet

from agencies import policy
from agencies.models import Area, Role, User
from chronology.models import Child
from escalation import clock
from escalation.models import (
    SEVERITY_RANK,
    Alert,
    AlertHistory,
    AlertRecipient,
    AlertState,
    ClosureRequest,
    ClosureState,
    Disagreement,
    DisagreementStage,
    DisagreementState,
    Notification,
    Referral,
)


def _is_area_lead(user: User) -> bool:
    return Role.AREA_SAFEGUARDING_LEAD in user.role_codes() and user.agency_id is not None


def _is_agency_lead(user: User) -> bool:
    return Role.DESIGNATED_SAFEGUARDING_LEAD in user.role_codes() and user.agency_id is not None


def works_queue(user: User) -> bool:
    return _is_area_lead(user) or _is_agency_lead(user)


def _works_q(user: User) -> Q:
    """An area lead works every alert in their area; a designated safeguarding lead, alerts sent to anyone
    in their agency; anyone, alerts sent or assigned to them."""
    q = Q(recipients__user=user) | Q(owner=user)
    if _is_area_lead(user):
        q |= Q(area_id=user.agency.area_id)
    if _is_agency_lead(user):
        q |= Q(recipients__user__agency_id=user.agency_id)
    return q


def alerts_visible(user: User) -> QuerySet[Alert]:
    """Alerts the user works (see `_works_q`), about children they may read now."""
    readable = Child.objects.filter(policy.readable_children_q(user)).values("pk")
    return Alert.objects.filter(_works_q(user), child_id__in=readable).distinct()


@dataclass
class QueueFilters:
    severity: str = ""
    state: str = "open"  # open (not closed), closed, all
    owner: str = ""  # "", "me", "unassigned"
    overdue: bool = False


def alert_queue(user: User, filters: QueueFilters, *, now: datetime | None = None) -> list[Alert]:
    """The queue: open alerts first by severity, then by time left to acknowledge (overdue first)."""
    now = now or clock.now()
    alerts = alerts_visible(user).select_related("child", "owner", "area")
    if filters.state == "open":
        alerts = alerts.exclude(state=AlertState.CLOSED)
    elif filters.state == "closed":
        alerts = alerts.filter(state=AlertState.CLOSED)
    if filters.severity:
        alerts = alerts.filter(severity=filters.severity)
    if filters.owner == "me":
        alerts = alerts.filter(owner=user)
    elif filters.owner == "sent-or-assigned":  # what the home page counts as the person's own
        alerts = alerts.filter(Q(owner=user) | Q(recipients__user=user)).distinct()
    elif filters.owner == "unassigned":
        alerts = alerts.filter(owner__isnull=True)
    if filters.overdue:
        alerts = alerts.filter(state=AlertState.OPEN, acknowledge_by__lte=now)
    rows = list(alerts[:500])
    rows.sort(
        key=lambda a: (
            a.state == AlertState.CLOSED,
            a.state != AlertState.OPEN,
            SEVERITY_RANK[a.severity],
            a.acknowledge_by,
        )
    )
    return rows


def alert_get(user: User, alert_id: int) -> Alert:
    """The alert, if the user may see it (Alert.DoesNotExist otherwise: a 404)."""
    return alerts_visible(user).select_related("child", "area", "owner", "assessment").get(pk=alert_id)


def disagreements_visible(user: User) -> QuerySet[Disagreement]:
    q = Q(raised_by=user) | Q(with_whom=user) | Q(stages__owner=user) | Q(stages__participants=user)
    if _is_area_lead(user):
        q |= Q(area_id=user.agency.area_id)
    readable = Child.objects.filter(policy.readable_children_q(user)).values("pk")
    return Disagreement.objects.filter(q, child_id__in=readable).distinct()


def disagreement_stages_open(user: User):
    """Current stages of open disagreements the user owns, takes part in, raised, or (area leads) oversees."""
    ids = disagreements_visible(user).filter(state=DisagreementState.OPEN).values("pk")
    return DisagreementStage.objects.filter(disagreement_id__in=ids, closed_at__isnull=True)


def disagreements_open(user: User) -> list[DisagreementStage]:
    """disagreement_stages_open, soonest due first, with what the queue shows of each."""
    return list(
        disagreement_stages_open(user)
        .select_related("disagreement__child", "disagreement__raised_by", "owner")
        .order_by("due_at")
    )


def referrals_awaiting(user: User) -> list[Referral]:
    """Referrals to the user's agency waiting for an outcome (area leads: every agency in the area)."""
    if _is_area_lead(user):
        q = Q(to_agency__area_id=user.agency.area_id)
    elif user.agency_id:
        q = Q(to_agency_id=user.agency_id)
    else:
        return []
    readable = Child.objects.filter(policy.readable_children_q(user)).values("pk")
    return list(
        Referral.objects.filter(q, outcome_at__isnull=True, child_id__in=readable)
        .select_related("child", "from_agency", "to_agency", "event")
        .order_by("outcome_due_at")
    )


def referral_get(user: User, referral_id: int) -> Referral:
    referral = Referral.objects.select_related("child", "from_agency", "to_agency", "event", "referred_by").get(
        pk=referral_id
    )
    if policy.access_for(user, referral.child) is None:
        raise Referral.DoesNotExist
    return referral


def closures_awaiting(user: User) -> list[ClosureRequest]:
    if not _is_agency_lead(user):
        return []
    readable = Child.objects.filter(policy.readable_children_q(user)).values("pk")
    return list(
        ClosureRequest.objects.filter(agency_id=user.agency_id, state=ClosureState.AWAITING, child_id__in=readable)
        .exclude(requested_by=user)
        .select_related("child", "requested_by")
    )


def closure_get(user: User, closure_id: int) -> ClosureRequest:
    closure = ClosureRequest.objects.select_related("child", "requested_by", "decided_by", "agency").get(pk=closure_id)
    if policy.access_for(user, closure.child) is None:
        raise ClosureRequest.DoesNotExist
    return closure


def unread_count(user: User) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notifications_for(user: User, *, limit: int = 100) -> list[Notification]:
    return list(Notification.objects.filter(user=user).select_related("child")[:limit])


def child_alerts(user: User, child: Child) -> list[Alert]:
    """Open alerts on the child's page, for those who may read the child (the page has checked)."""
    return list(Alert.objects.filter(child=child).exclude(state=AlertState.CLOSED).order_by("created_at")[:20])


def escalation_report(area: Area, *, now: datetime | None = None) -> dict:
    """Open alerts and escalations in an area, for monitoring: severity, age, owner, overdue."""
    now = now or clock.now()
    alerts = []
    for a in (
        Alert.objects.filter(area=area).exclude(state=AlertState.CLOSED).select_related("owner").order_by("created_at")
    ):
        alerts.append(
            {
                "id": a.pk,
                "child": a.child_id,
                "cause": a.cause,
                "severity": a.severity,
                "state": a.state,
                "raised_at": a.created_at.isoformat(),
                "age_hours": round((now - a.created_at).total_seconds() / 3600, 1),
                "owner": a.owner.username if a.owner else None,
                "tier": a.tier,
                "acknowledge_by": a.acknowledge_by.isoformat(),
                "overdue": a.state == AlertState.OPEN and a.acknowledge_by <= now,
            }
        )
    escalations = []
    for stage in (
        DisagreementStage.objects.filter(disagreement__area=area, closed_at__isnull=True)
        .select_related("disagreement", "owner")
        .order_by("due_at")
    ):
        d = stage.disagreement
        escalations.append(
            {
                "id": d.pk,
                "child": d.child_id,
                "stage": stage.number,
                "stage_title": stage.title,
                "raised_at": d.raised_at.isoformat(),
                "age_hours": round((now - d.raised_at).total_seconds() / 3600, 1),
                "owner": stage.owner.username if stage.owner else None,
                "due_at": stage.due_at.isoformat(),
                "overdue": stage.due_at <= now,
            }
        )
    referrals = [
        {
            "id": r.pk,
            "child": r.child_id,
            "from_agency": r.from_agency.code,
            "to_agency": r.to_agency.code,
            "outcome_due_at": r.outcome_due_at.isoformat(),
            "overdue": r.outcome_due_at <= now,
        }
        for r in Referral.objects.filter(to_agency__area=area, outcome_at__isnull=True)
        .select_related("from_agency", "to_agency")
        .order_by("outcome_due_at")
    ]
    return {
        "area": area.code,
        "at": now.isoformat(),
        "alerts": alerts,
        "escalations": escalations,
        "referrals_awaiting_outcome": referrals,
    }


# --- reads for the alert pages, the header and the child's page ----------------------------------


def alert_recipients(alert: Alert) -> list[AlertRecipient]:
    return list(alert.recipients.select_related("user__agency").order_by("tier", "added_at", "pk"))


def alert_history(alert: Alert) -> list[AlertHistory]:
    return list(alert.history.select_related("actor").order_by("at", "pk"))


def alert_assign_candidates(alert: Alert) -> list[User]:
    """People an alert could be assigned to: its recipients and the area's safeguarding leads (the caller
    keeps those who may work it now)."""
    recipients = AlertRecipient.objects.filter(alert=alert).values("user_id")
    return list(
        User.objects.filter(
            Q(pk__in=recipients) | Q(role_grants__role=Role.AREA_SAFEGUARDING_LEAD, agency__area_id=alert.area_id),
            is_active=True,
        )
        .select_related("agency")
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def child_alerts_for_panel(user: User, child: Child) -> list[tuple[Alert, bool]]:
    """The child's open alerts, each with whether the user may open it. A break-glass alert concerns
    someone's access rather than the child, so only those who review it see it here."""
    # The page has checked the user may read this child: which of its alerts they work is all that is left,
    # asked in the same query.
    works = Alert.objects.filter(_works_q(user), pk=OuterRef("pk"))
    alerts = list(
        Alert.objects.filter(child=child)
        .exclude(state=AlertState.CLOSED)
        .annotate(works=Exists(works))
        .order_by("created_at")[:20]
    )
    return [(a, a.works) for a in alerts if a.works or not a.exceptional_access_id]


def child_disagreements_open(user: User, child: Child) -> list[tuple[Disagreement, DisagreementStage | None, bool]]:
    """Open professional disagreements about the child: (disagreement, its current stage, whether the user
    takes part in it or oversees it and so may open it)."""
    open_ = list(
        Disagreement.objects.filter(child=child, state=DisagreementState.OPEN)
        .order_by("raised_at")
        .prefetch_related("stages")
    )
    if not open_:
        return []
    visible = set(disagreements_visible(user).filter(child=child).values_list("pk", flat=True))
    rows = []
    for d in open_:
        current = [s for s in d.stages.all() if s.closed_at is None]
        rows.append((d, max(current, key=lambda s: s.number) if current else None, d.pk in visible))
    return rows


# --- the procedure pages ------------------------------------------------------------------------


def disagreement_get(user: User, disagreement_id: int) -> Disagreement:
    """The disagreement with its child, stages and notes, if the user may see it (DoesNotExist otherwise: a 404)."""
    from escalation.services.disagreements import may_view

    d = (
        Disagreement.objects.select_related("child", "area", "raised_by__agency", "with_whom__agency")
        .filter(pk=disagreement_id)
        .first()
    )
    if d is None or not may_view(user, d):
        raise Disagreement.DoesNotExist
    return d


def disagreement_stages(d: Disagreement) -> list[DisagreementStage]:
    return list(
        d.stages.select_related("owner__agency", "closed_by")
        .prefetch_related("participants__agency")
        .order_by("number")
    )


def practitioners_involved(user: User, child: Child, *, now: datetime | None = None) -> QuerySet[User]:
    """The named practitioners working with the child now (not the user): whom a disagreement may be with."""
    if policy.access_for(user, child, now=now) is None:
        raise Child.DoesNotExist
    from agencies.models import Involvement

    involved = Involvement.objects.active(now=now).filter(child=child, practitioner__isnull=False)
    return (
        User.objects.filter(pk__in=involved.values("practitioner_id"), is_active=True)
        .exclude(pk=user.pk)
        .select_related("agency")
        .order_by("last_name", "first_name", "username")
    )


def closures_awaiting_for_child(user: User, child: Child) -> list[ClosureRequest]:
    """Requests to close this child's case still waiting for a countersignature (the page has checked access)."""
    return list(
        ClosureRequest.objects.filter(child=child, state=ClosureState.AWAITING)
        .select_related("requested_by", "agency")
        .order_by("requested_at")
    )


def notification_get(user: User, notification_id: int) -> Notification:
    """One of the user's own notifications (Notification.DoesNotExist for anyone else's: a 404)."""
    return Notification.objects.get(pk=notification_id, user=user)


def readable_child_ids(user: User, child_ids) -> set[int]:
    """Which of these children the user may read now: a notification names a child only to those who still may."""
    ids = {pk for pk in child_ids if pk}
    if not ids:
        return set()
    return set(Child.objects.filter(policy.readable_children_q(user), pk__in=ids).values_list("pk", flat=True))
