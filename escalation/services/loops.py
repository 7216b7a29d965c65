"""Loops closed: referrals wait for the receiving agency's outcome and the referrer is told it; a case
closed at risk needs a designated safeguarding lead's countersignature; persistent concern below child
protection comes up for supervision by the pattern, not by choice."""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse

from agencies import policy
from agencies.models import Agency, Role, User
from chronology.linkage import record_ids
from chronology.models import Child, Event
from escalation import clock
from escalation.calendar import LONDON
from escalation.models import ClosureRequest, ClosureState, Referral, Severity
from escalation.policy import rules_for_area
from escalation.services.delivery import notice_queue

log = structlog.get_logger(__name__)

OUTCOME_TYPES = {"referral", "assessment", "strategy_discussion", "child_protection_conference", "case_closed"}
# A referral recorded more than this long after it happened is history: its outcome is not chased.
HISTORY_AFTER = timedelta(days=30)


def _leads(agency_id: int) -> list[User]:
    return list(
        User.objects.filter(
            is_active=True, agency_id=agency_id, role_grants__role=Role.DESIGNATED_SAFEGUARDING_LEAD
        ).distinct()
    )


def _leads_or_area(agency: Agency) -> list[User]:
    """An agency's designated safeguarding leads; the area's safeguarding leads where it has none."""
    return _leads(agency.pk) or list(
        User.objects.filter(
            is_active=True, agency__area_id=agency.area_id, role_grants__role=Role.AREA_SAFEGUARDING_LEAD
        ).distinct()
    )


def _referrer(referral: Referral) -> list[User]:
    return [referral.referred_by] if referral.referred_by else _leads_or_area(referral.from_agency)


def referrals_track(*, child_ids, now: datetime | None = None) -> int:
    """Inside the transaction that wrote events: open a loop for each new referral to another agency,
    and close the loops that an outcome from the receiving agency answers. A few queries for all the
    children at once (a batch import touches hundreds), and only referrals that name an agency."""
    now = now or clock.now()
    rules_cache = {}
    opened = 0
    children = {child.pk: child for child in Child.objects.filter(pk__in=child_ids)}
    groups, owner = _record_groups(children)
    referrals = (
        Event.objects.filter(
            child_id__in=list(owner), type="referral", referral_loop__isnull=True, details__has_key="to_agency"
        )
        .exclude(details__to_agency=None)
        .select_related("agency", "recorded_by_user")
    )
    for event in referrals:
        child = children[owner[event.child_id]]
        to_code = event.details.get("to_agency")
        to_agency = Agency.objects.filter(code=to_code).first() if isinstance(to_code, str) else None
        if to_agency is None or to_agency.pk == event.agency_id:
            continue
        referred_at = event.recorded_at or now
        if referred_at.date() - event.occurred_on > HISTORY_AFTER:
            continue
        if child.area_id not in rules_cache:
            rules_cache[child.area_id] = rules_for_area(child.area_id)
        rules = rules_cache[child.area_id]
        referral = Referral.objects.create(
            child=child,
            event=event,
            from_agency=event.agency,
            to_agency=to_agency,
            referred_by=event.recorded_by_user,
            referred_at=referred_at,
            outcome_due_at=rules.calendar.add_working_days(referred_at, rules.referral_outcome_working_days),
        )
        _receiving_team_involved(child, to_agency, referral, now)
        notice_queue(
            users=_leads_or_area(to_agency),
            key=f"referral{referral.pk}:received",
            severity=Severity.MEDIUM,
            title=f"Referral received from {event.agency.name}: outcome due",
            link=reverse("referral-detail", args=[referral.pk]),
            child=child,
            now=now,
        )
        opened += 1
    open_loops = Referral.objects.filter(child_id__in=list(owner), outcome_at__isnull=True).select_related(
        "to_agency", "event"
    )
    for referral in open_loops:
        ids = groups[owner[referral.child_id]]
        answer = (
            Event.objects.filter(
                child_id__in=ids,
                agency=referral.to_agency,
                type__in=OUTCOME_TYPES,
                occurred_on__gte=referral.event.occurred_on,
                pk__gt=referral.event_id,
            )
            .exclude(details__outcome=None)
            .order_by("pk")
            .first()
        )
        if answer is not None:
            _outcome(
                referral,
                outcome=answer.details.get("outcome", ""),
                text=answer.summary,
                by=None,
                event=answer,
                now=now,
            )
    return opened


def _record_groups(children: dict[int, Child]) -> tuple[dict[int, list[int]], dict[int, int]]:
    """Each child's record ids (`linkage.record_ids`: its own and every record merged into it, at any depth),
    one query per level of merging for all of them; and, for each of those ids, the child whose record it is."""
    groups = {pk: [pk] for pk in children}
    owner = {pk: pk for pk in children}
    frontier = list(children)
    while frontier:
        found = Child.objects.filter(merged_into_id__in=frontier).values_list("pk", "merged_into_id")
        frontier = []
        for pk, into in found:
            if pk not in owner:
                owner[pk] = owner[into]
                groups[owner[into]].append(pk)
                frontier.append(pk)
    return groups, owner


def _receiving_team_involved(child: Child, agency: Agency, referral: Referral, now: datetime) -> None:
    """A referral gives the receiving agency's team a working relationship with the child, so that
    it can read what it was sent and answer it."""
    from agencies.models import Involvement, InvolvementReason

    if Involvement.objects.active(now=now).filter(child=child, agency=agency).exists():
        return
    Involvement.objects.create(
        child=child,
        agency=agency,
        reason=InvolvementReason.REFERRAL,
        reason_detail=f"Referral from {referral.from_agency.name}",
        started_on=now.astimezone(LONDON).date(),
        created_by=referral.referred_by or policy.system_user(),
        last_activity_at=now,
    )


def _outcome(referral: Referral, *, outcome: str, text: str, by: User | None, event=None, now: datetime) -> None:
    referral.outcome, referral.outcome_text, referral.outcome_at = outcome, text, now
    referral.outcome_by, referral.outcome_event = by, event
    referral.save(update_fields=["outcome", "outcome_text", "outcome_at", "outcome_by", "outcome_event"])
    notice_queue(
        users=_referrer(referral),
        key=f"referral{referral.pk}:outcome",
        severity=Severity.MEDIUM,
        title=f"The outcome of your referral to {referral.to_agency.name} is recorded",
        link=reverse("referral-detail", args=[referral.pk]),
        child=referral.child,
        now=now,
    )


def may_answer(user: User, referral: Referral) -> bool:
    if policy.access_for(user, referral.child) is None:
        return False
    roles = user.role_codes()
    if Role.AREA_SAFEGUARDING_LEAD in roles and user.agency_id and user.agency.area_id == referral.child.area_id:
        return True
    return user.agency_id == referral.to_agency_id


@transaction.atomic
def referral_outcome_record(
    *, actor: User, referral: Referral, outcome: str, text: str, now: datetime | None = None
) -> Referral:
    from chronology.vocabulary import OUTCOMES

    now = now or clock.now()
    referral = Referral.objects.select_for_update().select_related("child", "to_agency").get(pk=referral.pk)
    if not may_answer(actor, referral):
        raise PermissionDenied("Only the receiving agency records a referral's outcome.")
    if referral.outcome_at is not None:
        raise ValidationError("The outcome of this referral is already recorded.")
    problems = {}
    if outcome not in OUTCOMES:
        problems["outcome"] = "Choose the outcome"
    if len(text.strip()) < 10:
        problems["text"] = "Say what was decided and why"
    if problems:
        raise ValidationError(problems)
    _outcome(referral, outcome=outcome, text=text.strip(), by=actor, now=now)
    return referral


# --- closures -----------------------------------------------------------------------------------


def _risk(child: Child):
    """(level, flags) of the child's latest snapshot, or None when nothing calls for a countersignature."""
    from thresholds.services import latest_assessment

    latest = latest_assessment(child)
    if latest is None or (latest.level < 3 and not latest.flags):
        return None
    return latest.level, list(latest.flags)


def closure_risk(child: Child) -> tuple[int, list[str]] | None:
    """(indicated level, open flags) that make closing the child's case need a countersignature, or None."""
    return _risk(child)


def closure_check(*, actor, child, data) -> dict[str, str]:
    """Registered with the chronology: refuse a case closure at risk without a countersignature."""
    if data.type != "case_closed" or data.amends is not None or data.countersigned_by is not None:
        return {}
    risk = _risk(child)
    if risk is None:
        return {}
    from thresholds.panels import FLAG_WORDS

    level, flags = risk
    words = "; ".join(FLAG_WORDS.get(f, f.replace("_", " ")).lower() for f in flags)
    return {
        "type": (
            f"The indicated level is {level}"
            + (f" with open flags ({words})" if flags else "")
            + ": closing the case needs a designated safeguarding lead's countersignature. "
            "Use 'Request case closure' on the child's page."
        )
    }


def closure_countersigned(child: Child) -> bool:
    """Whether the child's latest case closure was countersigned here by a designated safeguarding lead:
    the decision to close at risk was already made, with its rationale, by the person accountable for it."""
    latest = Event.objects.filter(child_id__in=record_ids(child), type="case_closed").order_by("-occurred_on", "-pk")
    event = latest.first()
    return event is not None and ClosureRequest.objects.filter(event=event, state=ClosureState.COUNTERSIGNED).exists()


def may_countersign(user: User, request: ClosureRequest) -> bool:
    """A designated safeguarding lead of the requester's agency, never the requester; where the agency has
    none, a safeguarding lead for the child's area."""
    if user.pk == request.requested_by_id or policy.access_for(user, request.child) is None:
        return False
    roles = user.role_codes()
    if Role.DESIGNATED_SAFEGUARDING_LEAD in roles and user.agency_id == request.agency_id:
        return True
    return (
        Role.AREA_SAFEGUARDING_LEAD in roles
        and user.agency_id is not None
        and user.agency.area_id == request.child.area_id
        and not _leads(request.agency_id)
    )


@transaction.atomic
def closure_request(
    *, actor: User, child: Child, occurred_on, summary: str, outcome: str = "", now: datetime | None = None
) -> ClosureRequest:
    now = now or clock.now()
    access = policy.access_for(actor, child, now=now)
    if access is None or not access.can_write or actor.agency_id is None:
        raise PermissionDenied("You cannot record a closure for this child.")
    problems = {}
    if len(summary.strip()) < 10:
        problems["summary"] = "Say why the case is closing and what is in place for the child"
    if occurred_on > now.date():
        problems["occurred_on"] = "The date must be today or in the past"
    if problems:
        raise ValidationError(problems)
    risk = _risk(child) or (0, [])
    request = ClosureRequest.objects.create(
        child=child,
        agency=actor.agency,
        requested_by=actor,
        requested_at=now,
        occurred_on=occurred_on,
        summary=summary.strip(),
        outcome=outcome,
        level_at_request=risk[0],
        flags_at_request=risk[1],
    )
    notice_queue(
        users=[u for u in _leads_or_area(actor.agency) if u.pk != actor.pk],
        key=f"closure{request.pk}:requested",
        severity=Severity.HIGH,
        title="A case closure at risk needs your countersignature",
        link=reverse("closure-detail", args=[request.pk]),
        child=child,
        now=now,
    )
    return request


@transaction.atomic
def closure_decide(
    *, actor: User, request: ClosureRequest, countersign: bool, rationale: str, now: datetime | None = None
) -> ClosureRequest:
    from chronology.services import EventInput, event_record

    now = now or clock.now()
    request = (
        ClosureRequest.objects.select_for_update().select_related("child", "requested_by", "agency").get(pk=request.pk)
    )
    if not may_countersign(actor, request):
        raise PermissionDenied("A designated safeguarding lead of the agency, not the requester, decides.")
    if request.state != ClosureState.AWAITING:
        raise ValidationError("This request has already been decided.")
    if len(rationale.strip()) < 10:
        raise ValidationError({"rationale": "Write the rationale for the decision in full"})
    request.decided_by, request.decided_at, request.rationale = actor, now, rationale.strip()
    if countersign:
        request.state = ClosureState.COUNTERSIGNED
        request.event = event_record(
            actor=request.requested_by,
            child=request.child,
            data=EventInput(
                occurred_on=request.occurred_on,
                agency=request.agency,
                type="case_closed",
                summary=f"{request.summary}\n\nClosure countersigned by {actor} ({actor.job_title or 'DSL'}): "
                f"{request.rationale}",
                details={"outcome": request.outcome} if request.outcome else {},
                countersigned_by=actor,
            ),
        )
    else:
        request.state = ClosureState.DECLINED
    request.save(update_fields=["state", "decided_by", "decided_at", "rationale", "event"])
    notice_queue(
        users=[request.requested_by],
        key=f"closure{request.pk}:decided",
        severity=Severity.MEDIUM,
        title=f"Your case closure request was {'countersigned' if countersign else 'declined'}",
        link=reverse("closure-detail", args=[request.pk]),
        child=request.child,
        now=now,
    )
    return request


# --- supervision --------------------------------------------------------------------------------


SUPERVISORS = {Role.LINE_MANAGER, Role.DESIGNATED_SAFEGUARDING_LEAD, Role.SENIOR_MANAGER}


def may_supervise(user: User) -> bool:
    return bool(user.role_codes() & SUPERVISORS)


def supervision_children(*, user: User, now: datetime | None = None) -> list[dict]:
    """Children the user's reports (or, for a designated safeguarding lead, their agency) work with whose
    indicated level has stayed at 2 or 3 for the policy's months or more: chosen by the pattern, not by
    the practitioner, for reflective supervision.

    The level is replayed by the engine month by month back from today (not read from stored snapshots,
    which start when a record arrived here, however old its history).
    """
    from agencies.models import Involvement
    from thresholds import engine
    from thresholds.facts import facts_for
    from thresholds.services import policy_for_area

    now = now or clock.now()
    today = now.astimezone(LONDON).date()
    months = rules_for_area(user.agency.area_id if user.agency_id else None).supervision_months
    reports = list(user.reports.filter(is_active=True).values_list("pk", flat=True))
    involvements = Involvement.objects.active(now=now).filter(practitioner_id__in=reports)
    child_ids = set(involvements.values_list("child_id", flat=True))
    if Role.DESIGNATED_SAFEGUARDING_LEAD in user.role_codes():
        child_ids |= set(
            Involvement.objects.active(now=now).filter(agency_id=user.agency_id).values_list("child_id", flat=True)
        )
        # Their agency's practitioners are the ones a designated safeguarding lead supervises.
        involvements = Involvement.objects.active(now=now).filter(
            Q(practitioner_id__in=reports) | Q(agency_id=user.agency_id)
        )
    rows = []
    for child in Child.objects.filter(pk__in=child_ids, merged_into__isnull=True).order_by("family_name"):
        if policy.access_for(user, child, now=now) is None:
            continue
        child_facts, events = facts_for(child)
        rules = policy_for_area(child.area_id)
        level = engine.assess(child_facts, events, today, rules).level
        if level not in (2, 3):
            continue
        back = 0
        while back < 60:
            day = _months_before(today, back + 1)
            if engine.assess(child_facts, events, day, rules).level not in (2, 3):
                break
            back += 1
        if back >= months:
            workers = sorted({str(i.practitioner) for i in involvements.filter(child=child) if i.practitioner})
            rows.append({"child": child, "months": back, "level": level, "workers": workers})
    rows.sort(key=lambda r: -r["months"])
    return rows


def _months_before(day, months: int):
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return day.replace(year=year, month=month + 1, day=min(day.day, 28))
