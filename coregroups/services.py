"""Core groups, their meetings and their packs: every write checks the actor may, and records who and when."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import structlog
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from agencies import policy
from agencies.models import AuditEntry, Role, User
from chronology.models import Child
from coregroups.models import (
    ActionProgress,
    ActionStatus,
    Attendance,
    CoreGroup,
    FamilyView,
    Meeting,
    Member,
    MemberKind,
    Pack,
    PackCopy,
    PackState,
    Plan,
    PlanAction,
    Presence,
    Safer,
    Variant,
)
from coregroups.selectors import may_be_issued

log = structlog.get_logger(__name__)

# An agency absent without apology from this many meetings running raises an alert.
ABSENCES_BEFORE_ALERT = 3


def _writer(actor: User, child: Child) -> None:
    access = policy.access_for(actor, child)
    if access is None:
        raise Child.DoesNotExist
    if not access.can_write:
        raise PermissionDenied("You can read this record but not work on its core group.")


def is_chair(user: User, group: CoreGroup) -> bool:
    return user.pk in (group.chair_id, group.deputy_id)


def may_manage(user: User, group: CoreGroup) -> bool:
    """The chair, the deputy and the area's safeguarding leads set up the group and record its meetings."""
    if policy.access_for(user, group.child) is None:
        return False
    if is_chair(user, group):
        return True
    return (
        Role.AREA_SAFEGUARDING_LEAD in user.role_codes()
        and user.agency_id
        and user.agency.area_id == group.child.area_id
    )


def _audit(actor: User, child: Child, action: str, target: str) -> None:
    AuditEntry.objects.create(at=timezone.now(), user=actor, action=action, child=child, target=target)


@transaction.atomic
def core_group_start(
    *, actor: User, child: Child, plan: str, started_on: date, chair: User, deputy: User | None = None, category=""
) -> CoreGroup:
    _writer(actor, child)
    problems = {}
    if plan not in Plan.values:
        problems["plan"] = "Choose the plan: child protection or child in need"
    if CoreGroup.objects.filter(child=child, ended_on__isnull=True).exists():
        problems["plan"] = "This child already has a core group: end it before starting another"
    if started_on > timezone.localdate():
        problems["started_on"] = "The start date must be today or in the past"
    for name, user in (("chair", chair), ("deputy", deputy)):
        if user is not None and (policy.access_for(user, child) is None or not user.is_active):
            problems[name] = f"{user} cannot read this child's record: involve them first"
    if deputy is not None and deputy.pk == chair.pk:
        problems["deputy"] = "The deputy must be someone other than the chair"
    if problems:
        raise ValidationError(problems)
    group = CoreGroup.objects.create(
        child=child,
        plan=plan,
        category=category,
        started_on=started_on,
        chair=chair,
        deputy=deputy,
        created_by=actor,
        created_at=timezone.now(),
    )
    for user in filter(None, (chair, deputy)):
        member_add(actor=actor, group=group, kind=MemberKind.PROFESSIONAL, user=user)
    _audit(actor, child, "core_group_started", f"core group {group.pk}")
    return group


@transaction.atomic
def member_add(
    *, actor: User, group: CoreGroup, kind: str, user: User | None = None, name: str = "", relationship: str = ""
) -> Member:
    if not may_manage(actor, group) and actor.pk != group.created_by_id:
        raise PermissionDenied("Only the chair, the deputy or the area's safeguarding leads change the group.")
    if kind not in MemberKind.values:
        raise ValidationError({"kind": "Choose who they are"})
    if kind == MemberKind.PROFESSIONAL:
        if user is None or user.agency_id is None:
            raise ValidationError({"user": "Choose the professional"})
        if policy.access_for(user, group.child) is None:
            raise ValidationError({"user": f"{user} cannot read this child's record: involve them first"})
        if group.members.filter(user=user, left_on__isnull=True).exists():
            raise ValidationError({"user": f"{user} is already a member"})
        name = str(user)
    elif not name.strip():
        raise ValidationError({"name": "Enter their name"})
    return Member.objects.create(
        group=group,
        kind=kind,
        user=user if kind == MemberKind.PROFESSIONAL else None,
        agency=user.agency if kind == MemberKind.PROFESSIONAL else None,
        name=name.strip(),
        relationship=relationship.strip(),
        joined_on=timezone.localdate(),
    )


@transaction.atomic
def action_add(
    *, actor: User, group: CoreGroup, description: str, owner: Member, due_on: date, expected_impact: str
) -> PlanAction:
    if not may_manage(actor, group):
        raise PermissionDenied("Only the chair, the deputy or the area's safeguarding leads change the plan.")
    problems = {}
    if len(description.strip()) < 5:
        problems["description"] = "Say what will be done"
    if owner.group_id != group.pk or owner.left_on is not None:
        problems["owner"] = "Choose a member of this core group"
    if len(expected_impact.strip()) < 5:
        problems["expected_impact"] = "Say what should be different for the child"
    if problems:
        raise ValidationError(problems)
    number = (group.actions.aggregate(n=Max("number"))["n"] or 0) + 1
    return PlanAction.objects.create(
        group=group,
        number=number,
        description=description.strip(),
        owner=owner,
        due_on=due_on,
        expected_impact=expected_impact.strip(),
        created_at=timezone.now(),
    )


@dataclass
class MeetingInput:
    held_on: date
    child_view: str
    safer: str
    safer_evidence: str
    decisions: str
    next_meeting_on: date | None = None
    attendance: dict[int, str] = field(default_factory=dict)  # member id -> presence
    family_views: dict[int, str] = field(default_factory=dict)  # member id -> what they said
    progress: dict[int, tuple[str, str, str]] = field(default_factory=dict)  # action id -> (status, text, impact)


def meeting_problems(group: CoreGroup, data: MeetingInput) -> dict[str, str]:
    problems = {}
    members = {m.pk: m for m in group.members.filter(left_on__isnull=True)}
    if data.held_on > timezone.localdate():
        problems["held_on"] = "The meeting date must be today or in the past"
    missing = [str(m) for pk, m in members.items() if data.attendance.get(pk) not in Presence.values]
    if missing:
        problems["attendance"] = "Record the attendance of every member: " + ", ".join(missing)
    if not data.child_view.strip():
        problems["child_view"] = "Record the child's views, or why they could not be gathered"
    for pk, m in members.items():
        if m.kind in (MemberKind.PARENT, MemberKind.CARER) and not data.family_views.get(pk, "").strip():
            problems[f"view_{pk}"] = f"Record what {m.name} said, or that they gave no view"
    if data.safer not in Safer.values:
        problems["safer"] = "Say whether the group judges the child safer"
    if len(data.safer_evidence.strip()) < 10:
        problems["safer_evidence"] = "Say on what evidence"
    for action in group.actions.exclude(status__in=[ActionStatus.DONE, ActionStatus.DROPPED]):
        status, text, _ = data.progress.get(action.pk, ("", "", ""))
        if status not in ActionStatus.values or not text.strip():
            problems[f"action_{action.pk}"] = f"Record progress on action {action.number}"
    if not data.decisions.strip():
        problems["decisions"] = "Record the decisions"
    if data.next_meeting_on and data.next_meeting_on <= data.held_on:
        problems["next_meeting_on"] = "The next meeting must be after this one"
    return problems


@transaction.atomic
def meeting_record(*, actor: User, group: CoreGroup, data: MeetingInput) -> Meeting:
    """Record a meeting whole: attendance, views, progress on every open action, the judgement and decisions.

    The deputy chairs when the chair is absent: the meeting goes ahead.
    """
    group = CoreGroup.objects.select_for_update().get(pk=group.pk)
    if not may_manage(actor, group):
        raise PermissionDenied("Only the chair, the deputy or the area's safeguarding leads record a meeting.")
    problems = meeting_problems(group, data)
    if problems:
        raise ValidationError(problems)
    chair_member = group.members.filter(user=group.chair, left_on__isnull=True).first()
    chair_present = chair_member is None or data.attendance.get(chair_member.pk) == Presence.PRESENT
    meeting = Meeting.objects.create(
        group=group,
        held_on=data.held_on,
        chaired_by=group.chair if chair_present or group.deputy is None else group.deputy,
        child_view=data.child_view.strip(),
        safer=data.safer,
        safer_evidence=data.safer_evidence.strip(),
        decisions=data.decisions.strip(),
        next_meeting_on=data.next_meeting_on,
        recorded_by=actor,
        recorded_at=timezone.now(),
    )
    Attendance.objects.bulk_create(
        [Attendance(meeting=meeting, member_id=pk, presence=p) for pk, p in data.attendance.items()]
    )
    FamilyView.objects.bulk_create(
        [FamilyView(meeting=meeting, member_id=pk, view=text.strip()) for pk, text in data.family_views.items() if text]
    )
    for action in group.actions.all():
        if action.pk not in data.progress:
            continue
        status, text, impact = data.progress[action.pk]
        ActionProgress.objects.create(
            meeting=meeting, action=action, status=status, progress=text.strip(), observed_impact=impact.strip()
        )
        action.status = status
        if impact.strip():
            action.observed_impact = impact.strip()
        action.save(update_fields=["status", "observed_impact"])
    _audit(actor, group.child, "core_group_meeting_recorded", f"meeting {meeting.pk}")
    _absences_alert(group, meeting)
    return meeting


def _absences_alert(group: CoreGroup, meeting: Meeting) -> None:
    """An agency absent without apology from three meetings running: an alert for the people who act on it."""
    from escalation.models import Severity
    from escalation.services.alerts import alert_raise

    recent = list(group.meetings.order_by("-held_on", "-pk")[:ABSENCES_BEFORE_ALERT])
    if len(recent) < ABSENCES_BEFORE_ALERT:
        return
    by_agency: dict[int, list[set[str]]] = {}
    for m in recent:
        seen: dict[int, set[str]] = {}
        for row in m.attendance.select_related("member"):
            if row.member.agency_id:
                seen.setdefault(row.member.agency_id, set()).add(row.presence)
        for agency_id, presences in seen.items():
            by_agency.setdefault(agency_id, []).append(presences)
    for agency_id, runs in by_agency.items():
        # Absent: nobody from the agency came and nobody sent apologies, at each of the last three meetings.
        if len(runs) == ABSENCES_BEFORE_ALERT and all(p == {Presence.ABSENT} for p in runs):
            agency = meeting.group.members.filter(agency_id=agency_id).first().agency
            alert_raise(
                child=group.child,
                cause=f"core_group_absence:{group.pk}:{agency_id}",
                severity=Severity.HIGH,
                title=f"{agency.name} absent from {ABSENCES_BEFORE_ALERT} core group meetings running",
                text=(
                    f"{agency.name} was absent without apology from the last {ABSENCES_BEFORE_ALERT} core group "
                    f"meetings ({', '.join(f'{m.held_on:%d %B %Y}' for m in reversed(recent))}). The child's plan "
                    "depends on every agency: find out why and agree how they will take part."
                ),
            )


# --- packs --------------------------------------------------------------------------------------


def may_read_packs(user: User, meeting: Meeting) -> bool:
    group = meeting.group
    if policy.access_for(user, group.child) is None:
        return False
    return may_manage(user, group) or group.members.filter(user=user, left_on__isnull=True).exists()


def restricted_reader_agency(user: User):
    """Whose restricted entries a pack rendered for this reader shows in full, as the platform shows them
    online (chronology.visibility): None for the area's safeguarding leads (every agency's), otherwise the
    reader's own agency's."""
    if Role.AREA_SAFEGUARDING_LEAD in user.role_codes():
        return None
    return user.agency


@transaction.atomic
def pack_request(*, actor: User, meeting: Meeting, variant: str, omitted_addresses: list[int] = ()) -> Pack:
    """A new numbered version of the pack for this meeting and variant, rendered in the background. The pack
    with restricted entries is rendered for its requester: their agency's restricted entries in full (every
    agency's for an area safeguarding lead), the rest as placeholders."""
    if not may_read_packs(actor, meeting):
        raise PermissionDenied("Only the core group's members request its packs.")
    if variant == Variant.PARENTS and not may_manage(actor, meeting.group):
        raise PermissionDenied("The chair prepares the copy for parents.")
    if variant not in Variant.values:
        raise ValidationError({"variant": "Choose which pack"})
    reader_agency = None
    if variant == Variant.RESTRICTED:
        reader_agency = restricted_reader_agency(actor)
        if reader_agency is None and Role.AREA_SAFEGUARDING_LEAD not in actor.role_codes():
            raise ValidationError("Only someone in an agency, or an area safeguarding lead, reads restricted entries.")
    last = Pack.objects.filter(meeting=meeting, variant=variant).aggregate(n=Max("version"))["n"] or 0
    pack = Pack.objects.create(
        meeting=meeting,
        variant=variant,
        version=last + 1,
        requested_by=actor,
        requested_at=timezone.now(),
        omitted_addresses=list(omitted_addresses) if variant == Variant.PARENTS else [],
        reader_agency=reader_agency,
    )
    pk = pack.pk

    def queue():
        from coregroups.tasks import pack_render

        try:
            pack_render.apply_async((pk,), queue="packs")
        except Exception as exc:  # the broker is down: the sweep starts it
            log.warning("pack_not_queued", pack=pk, error=type(exc).__name__)

    transaction.on_commit(queue)
    return pack


def pack_render_now(*, pack_id: int) -> Pack:
    """Render a queued pack once; a pack already rendered is never rendered again (frozen)."""
    from coregroups.packs.content import pack_content
    from coregroups.packs.render import render_pack, sha256

    claimed = Pack.objects.filter(pk=pack_id, state=PackState.QUEUED).update(
        state=PackState.RENDERING, progress=1, as_of=timezone.now()
    )
    pack = Pack.objects.select_related("meeting__group__child").get(pk=pack_id)
    if not claimed:
        return pack

    def progress(percent: int) -> None:
        Pack.objects.filter(pk=pack_id, state=PackState.RENDERING).update(progress=max(1, min(percent, 99)))

    try:
        content = pack_content(
            pack.meeting.group.child,
            pack.meeting,
            pack.variant,
            omitted_addresses=pack.omitted_addresses,
            reader_agency=pack.reader_agency,
        )
        pdf, pages = render_pack(content, progress=progress)
    except Exception as exc:
        Pack.objects.filter(pk=pack_id).update(state=PackState.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000])
        log.exception("pack_failed", pack=pack_id)
        raise
    Pack.objects.filter(pk=pack_id, state=PackState.RENDERING).update(
        state=PackState.READY,
        progress=100,
        pdf=pdf,
        sha256=sha256(pdf),
        pages=pages,
        events=len(content.rows),
        rendered_at=timezone.now(),
    )
    log.info("pack_rendered", pack=pack_id, pages=pages, events=len(content.rows))
    return Pack.objects.get(pk=pack_id)


@transaction.atomic
def parent_copy_page_reviewed(*, actor: User, pack: Pack, page: int) -> Pack:
    pack = Pack.objects.select_for_update().select_related("meeting__group").get(pk=pack.pk)
    if pack.variant != Variant.PARENTS or pack.state != PackState.READY:
        raise ValidationError("Only a rendered copy for parents is reviewed page by page.")
    if not may_manage(actor, pack.meeting.group):
        raise PermissionDenied("The chair reviews the copy for parents.")
    if not 1 <= page <= (pack.pages or 0):
        raise ValidationError({"page": f"There is no page {page}."})
    if page not in pack.pages_reviewed:
        pack.pages_reviewed = sorted([*pack.pages_reviewed, page])
        pack.save(update_fields=["pages_reviewed"])
    return pack


@transaction.atomic
def parent_copy_sign_off(*, actor: User, pack: Pack) -> Pack:
    pack = Pack.objects.select_for_update().select_related("meeting__group").get(pk=pack.pk)
    if not may_manage(actor, pack.meeting.group):
        raise PermissionDenied("The chair signs off the copy for parents.")
    unread = [p for p in range(1, (pack.pages or 0) + 1) if p not in pack.pages_reviewed]
    if pack.variant != Variant.PARENTS or pack.state != PackState.READY:
        raise ValidationError("Only a rendered copy for parents is signed off.")
    if unread:
        raise ValidationError(f"Review every page before signing off: pages {', '.join(map(str, unread))} not yet.")
    pack.signed_off_by, pack.signed_off_at = actor, timezone.now()
    pack.save(update_fields=["signed_off_by", "signed_off_at"])
    _audit(actor, pack.meeting.group.child, "parent_copy_signed_off", f"pack {pack.pk}")
    return pack


@transaction.atomic
def pack_issue(*, actor: User, pack: Pack) -> PackCopy:
    """Stamp "Printed by NAME on DATE, copy N" on every page of the frozen master; both hashes recorded."""
    from coregroups.packs.render import sha256, stamp_copy

    # Only the pack's row is locked: the agency it was rendered for may be empty (an outer join).
    pack = (
        Pack.objects.select_for_update(of=("self",))
        .select_related("meeting__group__child", "reader_agency")
        .get(pk=pack.pk)
    )
    if not may_read_packs(actor, pack.meeting):
        raise PermissionDenied("Only the core group's members are issued its packs.")
    if not may_be_issued(actor, pack):
        whose = f"{pack.reader_agency.name}'s people" if pack.reader_agency else "the area's safeguarding leads"
        raise PermissionDenied(
            f"This pack shows restricted entries in full: it is issued only to {whose}. Request the pack with "
            "restricted entries for yourself, or issue the full chronology pack."
        )
    if not pack.issuable:
        raise ValidationError(
            "The copy for parents is issued only after the chair has reviewed and signed it off."
            if pack.variant == Variant.PARENTS
            else "The pack is not ready."
        )
    master = bytes(pack.pdf)
    if sha256(master) != pack.sha256:
        raise ValidationError("The stored master does not match its recorded hash: it cannot be issued.")
    number = (pack.copies.aggregate(n=Max("number"))["n"] or 0) + 1
    now = timezone.localtime()
    pdf = stamp_copy(
        master, f"Printed by {actor.get_full_name() or actor.username} on {now:%d %b %Y %H:%M}, copy {number}"
    )
    copy = PackCopy.objects.create(
        pack=pack,
        number=number,
        issued_to=actor,
        issued_at=now,
        pdf=pdf,
        sha256=sha256(pdf),
        master_sha256=pack.sha256,
    )
    _audit(actor, pack.meeting.group.child, "pack_copy_issued", f"pack {pack.pk} copy {number}")
    return copy
