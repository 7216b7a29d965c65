"""Professional disagreement: the partnership's staged procedure, each stage with people, a due date,
an outcome and a rationale. An overdue stage prompts its owner, then moves up. The raiser hears every outcome."""

from __future__ import annotations

from datetime import datetime

import structlog
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse

from agencies import policy
from agencies.models import Role, User
from chronology.models import Child
from escalation import clock
from escalation.calendar import LONDON
from escalation.models import (
    Disagreement,
    DisagreementNote,
    DisagreementStage,
    DisagreementState,
    Severity,
    StageOutcome,
)
from escalation.policy import EscalationRules, rules_for_area
from escalation.services.delivery import notice_queue

log = structlog.get_logger(__name__)


def may_raise(user: User, child: Child, *, now: datetime | None = None, access=None) -> bool:
    """Any practitioner (or lead) involved with the child, through their own or their agency's involvement.
    `access` is the caller's own decision for this user and child, when it has one."""
    access = access if access is not None else policy.access_for(user, child, now=now)
    return access is not None and access.can_write and not policy.is_system(user)


def _note(d: Disagreement, kind: str, text: str, *, now: datetime, actor: User | None = None) -> None:
    DisagreementNote.objects.create(disagreement=d, at=now, actor=actor, kind=kind, text=text)


def _agencies(d: Disagreement) -> set[int]:
    return {a for a in (d.raised_by.agency_id, d.with_whom.agency_id if d.with_whom else None) if a}


def _with_role(role: str, agencies: set[int]) -> list[User]:
    return list(
        User.objects.filter(is_active=True, role_grants__role=role, agency_id__in=agencies).distinct().order_by("pk")
    )


def _stage_people(d: Disagreement, who: str) -> tuple[User | None, list[User]]:
    """(owner, participants) for a stage of the procedure."""
    agencies = _agencies(d)
    if who == "practitioners":
        people = [d.raised_by] + ([d.with_whom] if d.with_whom else [])
        return d.raised_by, people
    if who == "agency_leads_and_line_managers":
        leads = _with_role(Role.DESIGNATED_SAFEGUARDING_LEAD, agencies)
        managers = [u.line_manager for u in (d.raised_by, d.with_whom) if u is not None and u.line_manager]
        people = _unique(leads + managers)
        own = [u for u in people if u.agency_id == d.raised_by.agency_id]
        owner = (own or people or [None])[0]
        # Both sides are heard: the practitioners stay on, and an agency with nobody at this level is
        # represented by the area's safeguarding leads.
        people = _unique(people + [u for u in (d.raised_by, d.with_whom) if u is not None])
        if any(not any(u.agency_id == a for u in leads + managers) for a in agencies):
            people = _unique(people + _stage_people(d, "area_safeguarding_leads")[1])
        return owner, people
    if who == "senior_managers":
        people = _with_role(Role.SENIOR_MANAGER, agencies)
        own = [u for u in people if u.agency_id == d.raised_by.agency_id]
        return (own or people or [None])[0], people
    people = list(
        User.objects.filter(
            is_active=True, role_grants__role=Role.AREA_SAFEGUARDING_LEAD, agency__area_id=d.area_id
        ).distinct()
    )
    return (people or [None])[0], people


def _unique(users: list[User]) -> list[User]:
    return list({u.pk: u for u in users if u is not None}.values())


def _open_stage(d: Disagreement, number: int, rules: EscalationRules, now: datetime) -> DisagreementStage:
    spec = rules.stages[number - 1]
    owner, people = _stage_people(d, spec.who)
    if owner is None:
        # Nobody holds that role for these agencies: the area's safeguarding leads take the stage.
        owner, people = _stage_people(d, "area_safeguarding_leads")
    stage = DisagreementStage.objects.create(
        disagreement=d,
        number=number,
        title=spec.title,
        owner=owner,
        opened_at=now,
        due_at=rules.calendar.add_working_days(now, spec.working_days),
    )
    stage.participants.set([u for u in people if u is not None])
    _note(
        d,
        "stage_opened",
        f"Stage {number} ({spec.title}) opened; owner {owner or 'none found'}; "
        f"due {stage.due_at.astimezone(LONDON):%H:%M on %d %B %Y}.",
        now=now,
    )
    _tell(d, [owner], f"Professional disagreement: stage {number} ({spec.title}) is yours to lead", now, f"s{number}")
    others = [u for u in people if u is not None and (owner is None or u.pk != owner.pk)]
    _tell(d, others, f"Professional disagreement: you take part in stage {number} ({spec.title})", now, f"p{number}")
    return stage


def _tell(d: Disagreement, users, title: str, now: datetime, what: str) -> None:
    notice_queue(
        users=[u for u in users if u is not None],
        key=f"disagreement{d.pk}:{what}",
        severity=Severity.HIGH,
        title=title,
        link=reverse("disagreement-detail", args=[d.pk]),
        child=d.child,
        now=now,
    )


@transaction.atomic
def disagreement_raise(
    *,
    actor: User,
    child: Child,
    decision_disputed: str,
    concern: str,
    with_whom: User | None = None,
    now: datetime | None = None,
) -> Disagreement:
    now = now or clock.now()
    if not may_raise(actor, child, now=now):
        raise PermissionDenied("Only a practitioner involved with the child raises a professional disagreement.")
    problems = {}
    if len(decision_disputed.strip()) < 10:
        problems["decision_disputed"] = "Say which decision (or lack of one) you disagree with, whose and when"
    if len(concern.strip()) < 20:
        problems["concern"] = "Say in full why what is being done does not protect the child"
    if with_whom is not None and with_whom.pk == actor.pk:
        problems["with_whom"] = "Name someone other than yourself, or leave it empty"
    if problems:
        raise ValidationError(problems)
    rules = rules_for_area(child.area_id)
    d = Disagreement.objects.create(
        child=child,
        area_id=child.area_id,
        raised_by=actor,
        raised_at=now,
        decision_disputed=decision_disputed.strip(),
        concern=concern.strip(),
        with_whom=with_whom,
    )
    _note(d, "raised", f"Raised by {actor}.", now=now, actor=actor)
    _open_stage(d, 1, rules, now)
    log.info("disagreement_raised", disagreement=d.pk, child=child.pk, actor=actor.pk)
    return d


def may_act(user: User, d: Disagreement) -> bool:
    stage = d.current_stage
    if policy.access_for(user, d.child) is None:
        return False
    if Role.AREA_SAFEGUARDING_LEAD in user.role_codes() and user.agency_id and user.agency.area_id == d.area_id:
        return True
    return stage is not None and (stage.owner_id == user.pk or stage.participants.filter(pk=user.pk).exists())


def may_view(user: User, d: Disagreement) -> bool:
    if policy.access_for(user, d.child) is None:
        return False
    if user.pk in (d.raised_by_id, d.with_whom_id) or may_act(user, d):
        return True
    return d.stages.filter(participants=user).exists() or d.stages.filter(owner=user).exists()


@transaction.atomic
def stage_record_outcome(
    *, actor: User, disagreement: Disagreement, outcome: str, rationale: str, now: datetime | None = None
) -> Disagreement:
    now = now or clock.now()
    d = Disagreement.objects.select_for_update().select_related("child", "raised_by").get(pk=disagreement.pk)
    if d.state != DisagreementState.OPEN:
        raise ValidationError("This disagreement is already resolved.")
    if not may_act(actor, d):
        raise PermissionDenied("Only the stage's owner, its participants or the area's safeguarding leads record it.")
    stage = d.current_stage
    rules = rules_for_area(d.area_id)
    problems = {}
    if outcome not in (StageOutcome.RESOLVED, StageOutcome.MOVED_UP):
        problems["outcome"] = "Say whether it was resolved or moves to the next stage"
    elif outcome == StageOutcome.MOVED_UP and stage.number >= len(rules.stages):
        problems["outcome"] = "This is the last stage: the partnership resolves it"
    if len(rationale.strip()) < 10:
        problems["rationale"] = "Write the rationale in full"
    if problems:
        raise ValidationError(problems)
    _close_stage(d, stage, outcome, rationale.strip(), actor, rules, now)
    return d


def _close_stage(d, stage, outcome, rationale, actor, rules, now) -> None:
    stage.closed_at, stage.closed_by, stage.outcome, stage.rationale = now, actor, outcome, rationale
    stage.save(update_fields=["closed_at", "closed_by", "outcome", "rationale"])
    label = StageOutcome(outcome).label
    _note(d, "stage_closed", f"Stage {stage.number}: {label}. {rationale}", now=now, actor=actor)
    if outcome == StageOutcome.RESOLVED:
        d.state, d.resolved_at = DisagreementState.RESOLVED, now
        d.save(update_fields=["state", "resolved_at"])
    else:
        _open_stage(d, stage.number + 1, rules, now)
    # The raiser hears every outcome, whoever recorded it.
    _tell(
        d,
        [d.raised_by],
        f"Your professional disagreement: stage {stage.number} {label.lower()}",
        now,
        f"o{stage.number}",
    )


def disagreements_chase(*, now: datetime | None = None) -> int:
    """An overdue stage prompts its owner; a stage still open one working day after the prompt moves up."""
    now = now or clock.now()
    acted = 0
    for stage in DisagreementStage.objects.filter(closed_at__isnull=True, due_at__lte=now).select_related(
        "disagreement", "owner"
    ):
        with transaction.atomic():
            d = Disagreement.objects.select_for_update().get(pk=stage.disagreement_id)
            stage = DisagreementStage.objects.select_for_update().get(pk=stage.pk)
            if stage.closed_at is not None:
                continue
            rules = rules_for_area(d.area_id)
            if stage.prompted_at is None:
                stage.prompted_at = now
                stage.save(update_fields=["prompted_at"])
                _note(
                    d, "prompted", f"Stage {stage.number} is overdue: {stage.owner or 'the owner'} prompted.", now=now
                )
                _tell(
                    d,
                    [stage.owner],
                    f"Overdue: professional disagreement stage {stage.number}",
                    now,
                    f"overdue{stage.number}",
                )
                acted += 1
            elif rules.calendar.add_working_days(stage.prompted_at, 1) <= now and stage.number < len(rules.stages):
                _close_stage(d, stage, StageOutcome.OVERDUE, "No outcome recorded after the prompt.", None, rules, now)
                acted += 1
    return acted
