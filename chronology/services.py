"""Writes to the chronology. Every entry point (browser, API, import) goes through here.

`event_problems` holds the rules every event must meet, wherever it comes from; `event_nudges` the
prompts the browser form adds where reviews found recording failures; `event_record` checks the
actor may write for the child, stores the event, its audit entry and announces it.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import structlog
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from agencies import policy
from agencies.models import Agency, AuditEntry, Involvement, InvolvementReason, Role, User
from chronology import checks, signals
from chronology import vocabulary as v
from chronology.models import Address, Child, Event, Person, months_between

log = structlog.get_logger(__name__)

JIGSAW_SOURCE = "jigsaw"
# Pregnancy and the unborn baby's circumstances are recorded on the child's chronology.
PREGNANCY = timedelta(weeks=42)
DNA_MIN_AGE_YEARS = 13
CONTACT_TYPES = frozenset({"home_visit", "health_contact", "no_access_visit"})

# Every field of an event the contract names, by its name in the contract.
CONTRACT_EVENT_FIELDS = [
    "ref",
    "child",
    "occurred_on",
    "date_precision",
    "agency",
    "type",
    "factors",
    "summary",
    "action_taken",
    "child_seen",
    "child_seen_alone",
    "child_voice",
    "source",
    "verified",
    "significant",
    "sharing",
    "recorded_at",
    "recorded_by",
    "amends",
    "amendment_reason",
    "amendment_kind",
    "people",
    "details",
]


@dataclass(slots=True)  # made for every line of an import: slots make it a third cheaper
class EventInput:
    occurred_on: date
    agency: Agency
    type: str
    summary: str
    date_precision: str = "day"
    factors: list[str] = field(default_factory=list)
    action_taken: str = ""
    child_seen: bool | None = None
    child_seen_alone: bool | None = None
    child_voice: str = ""
    information_source: str = "practitioner"
    verified: str = "unverified"
    significant: bool = False
    sharing: str = "all"
    details: dict = field(default_factory=dict)
    people: list[Person] = field(default_factory=list)
    amends: Event | None = None
    amendment_reason: str = ""
    amendment_kind: str = ""
    recorded_by: str = ""
    recorded_at: datetime | None = None
    extra: dict = field(default_factory=dict)
    # Set only by a service that has itself obtained a countersignature (a case closure at risk).
    countersigned_by: User | None = None


def record_group(child: Child) -> list[int]:
    """The ids of this child's record and of every record merged into it."""
    return [child.pk, *Child.objects.filter(merged_into=child).values_list("pk", flat=True)]


def event_problems(data: EventInput, *, child: Child, today: date | None = None) -> dict[str, list[str]]:
    """The rules every event meets, from any entry point. Field name -> messages."""
    today = today or timezone.localdate()
    problems: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        problems.setdefault(name, []).append(message)

    if data.type not in v.EVENT_TYPES:
        add("type", f"unknown type '{data.type}'")
    unknown = [code for code in data.factors if code not in v.FACTORS]
    if unknown:
        add("factors", f"unknown factor code{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")
    if len(set(data.factors)) != len(data.factors):
        add("factors", "a factor code is given twice")
    if data.occurred_on > today:
        add("occurred_on", "The date must be today or in the past")
    elif child.date_of_birth is not None and data.occurred_on < child.date_of_birth - PREGNANCY:
        add(
            "occurred_on",
            f"The date is before the child's life began: they were born on {child.date_of_birth:%-d %B %Y}",
        )
    if data.date_precision not in v.DATE_PRECISION:
        add("date_precision", f"unknown date precision '{data.date_precision}'")
    if not data.summary.strip():
        add("summary", "Enter what happened")
    if data.child_seen_alone and data.child_seen is False:
        add("child_seen_alone", "The child cannot have been seen alone if they were not seen")
    if data.information_source not in v.INFORMATION_SOURCES:
        add("source", f"unknown source '{data.information_source}'")
    if data.verified not in v.VERIFICATION:
        add("verified", f"unknown verification '{data.verified}'")
    if data.sharing not in v.SHARING:
        add("sharing", f"unknown sharing '{data.sharing}'")
    if data.amends is not None:
        if data.amends.child_id not in record_group(child) and data.amends.child_id != child.pk:
            add("amends", "An amendment must be recorded on the same child as the entry it corrects")
        if not data.amendment_reason.strip():
            add("amendment_reason", "Enter why the entry is being amended")
        if data.amendment_kind and data.amendment_kind not in v.AMENDMENT_KINDS:
            add("amendment_kind", f"unknown amendment kind '{data.amendment_kind}'")
    elif data.amendment_reason or data.amendment_kind:
        add("amends", "An amendment reason or kind needs the entry it amends")
    return problems


VAGUE_SUMMARY = re.compile(
    r"^\W*(no (concerns?|issues?|problems?)( noted| raised| identified)?|n/?a|nfa|all (fine|ok|well)|fine|ok(ay)?"
    r"|appeared (fine|well|ok|happy)|seemed (fine|well|ok|happy)|well|happy|as (usual|before)|nothing to report"
    r"|[A-Z]{1,3}(\s*[,/&+]\s*[A-Z]{1,3})*)\W*$",
    re.IGNORECASE,
)


def summary_is_vague(summary: str) -> bool:
    text = summary.strip()
    return bool(VAGUE_SUMMARY.match(text)) or (len(text) < 25 and bool(re.match(r"^[A-Z]{1,3}\b", text)))


@dataclass(frozen=True)
class Nudge:
    field: str
    message: str
    confirm: str = ""  # the name of the confirmation that lets the practitioner go on, if any


def event_nudges(data: EventInput, *, child: Child, confirmed: set[str]) -> list[Nudge]:
    """Prompts where reviews found recording failures. Each holds the form until met or confirmed."""
    nudges = []
    age_years = months_between(child.date_of_birth, data.occurred_on) // 12
    if data.type == "did_not_attend" and age_years < DNA_MIN_AGE_YEARS:
        nudges.append(
            Nudge(
                "type",
                f"{child.given_name or 'The child'} was {age_years} then: a child under {DNA_MIN_AGE_YEARS} "
                "cannot take themselves to an appointment. "
                "Record 'Was not brought': the adult responsible did not bring them.",
            )
        )
    if data.type == "did_not_attend" and age_years >= DNA_MIN_AGE_YEARS and "attend_alone" not in confirmed:
        nudges.append(
            Nudge(
                "type",
                "Confirm the young person was expected to attend this appointment alone. "
                "If an adult was to bring them, record 'Was not brought'.",
                confirm="attend_alone",
            )
        )
    if data.type in CONTACT_TYPES and data.child_seen is None:
        nudges.append(
            Nudge(
                "child_seen",
                "Say whether you saw the child at this contact. Reviews keep finding children unseen for months.",
            )
        )
    if data.child_seen and not data.child_voice.strip():
        nudges.append(
            Nudge(
                "child_voice",
                "You saw the child: record what they said or showed of their daily life. Reviews keep finding the "
                "child's voice missing from records. If they could not say, write what you observed.",
            )
        )
    if summary_is_vague(data.summary) and "vague_summary" not in confirmed:
        nudges.append(
            Nudge(
                "summary",
                "This summary may not tell the next reader what happened. Say what you saw and heard, explicitly "
                "('no concerns' and initials hide the picture). Confirm below if it already does.",
                confirm="vague_summary",
            )
        )
    return nudges


def _may_write(actor: User, child: Child) -> policy.Access:
    access = policy.access_for(actor, child)
    if access is None:
        raise Child.DoesNotExist
    if not access.can_write:
        raise PermissionDenied("You can read this record but not record information on it.")
    return access


def amendment_allowed(*, actor: User, original: Event) -> None:
    """Raises PermissionDenied unless the actor may amend this entry."""
    _may_amend(actor, original)


def _may_amend(actor: User, original: Event) -> None:
    if policy.is_system(actor):
        return
    roles = actor.role_codes()
    if original.agency_id == actor.agency_id or Role.AREA_SAFEGUARDING_LEAD in roles:
        return
    raise PermissionDenied("Only the recording agency or a safeguarding lead for the area amends this entry.")


def _recorded_by(actor: User) -> str:
    parts = [actor.get_full_name() or actor.username]
    if actor.job_title:
        parts.append(actor.job_title)
    if actor.agency_id:
        parts.append(actor.agency.name)
    return ", ".join(parts)


def event_record(*, actor: User, child: Child, data: EventInput) -> Event:
    """Record one event on `child` as `actor`, who must be allowed to write for the child.

    Raises `Child.DoesNotExist` when the child does not exist for the actor, `PermissionDenied` when
    they may read but not write, and `ValidationError` (field -> messages) when a rule is broken.
    Nothing is written unless everything is.
    """
    with transaction.atomic():
        child = Child.objects.select_for_update().get(pk=child.pk)
        access = _may_write(actor, child)
        if not policy.is_system(actor) and data.agency.pk != actor.agency_id:
            raise PermissionDenied("You record information for your own agency only.")
        if data.amends is not None:
            _may_amend(actor, data.amends)
        problems = event_problems(data, child=child)
        for name, messages in checks.problems(actor=actor, child=child, data=data).items():
            problems.setdefault(name, []).extend(messages)
        if problems:
            raise ValidationError(problems)
        now = timezone.now()
        event = Event.objects.create(
            child=child,
            source_system=JIGSAW_SOURCE,
            ref=f"j-{uuid.uuid4().hex}",
            occurred_on=data.occurred_on,
            date_precision=data.date_precision,
            agency=data.agency,
            type=data.type,
            factors=list(data.factors),
            summary=data.summary.strip(),
            action_taken=data.action_taken.strip(),
            child_seen=data.child_seen,
            child_seen_alone=data.child_seen_alone,
            child_voice=data.child_voice.strip(),
            information_source=data.information_source,
            verified=data.verified,
            significant=data.significant,
            sharing=data.sharing,
            recorded_at=now,
            recorded_by=data.recorded_by or _recorded_by(actor),
            recorded_by_user=None if policy.is_system(actor) else actor,
            amends=data.amends,
            amendment_reason=data.amendment_reason.strip(),
            amendment_kind=(data.amendment_kind or "correction") if data.amends else "",
            details=dict(data.details),
            extra=dict(data.extra),
            given_fields=list(CONTRACT_EVENT_FIELDS),
        )
        if data.people:
            event.people.set(data.people)
        AuditEntry.objects.create(
            at=now,
            user=actor,
            action="event_amended" if data.amends else "event_recorded",
            child=child,
            target=f"event {event.pk}",
            detail={"type": event.type, "amends": data.amends.pk if data.amends else None},
        )
        if access.involvement is not None:
            Involvement.objects.filter(pk=access.involvement.pk).update(last_activity_at=now)
        signals.events_written.send(sender=Event, child_ids=[child.pk], actor=actor)
        transaction.on_commit(lambda: signals.events_recorded.send(sender=Event, child_ids=[child.pk], actor=actor))
    log.info(
        "event_recorded", event_id=event.pk, child=child.pk, actor=actor.pk, amends=getattr(data.amends, "pk", None)
    )
    return event


def superseded_ids(event_ids) -> set[int]:
    """Which of these events a later entry amends."""
    return set(Event.objects.filter(amends_id__in=list(event_ids)).values_list("amends_id", flat=True))


def on_chronology_q() -> Q:
    """Events still on the chronology: neither a filed-in-error amendment nor an entry one withdraws. (An anti-join
    on the amended entry's index, not a list of every withdrawn id.)"""
    withdrawing = Event.objects.filter(amends_id=OuterRef("pk"), amendment_kind="filed_in_error")
    return ~Q(amendment_kind="filed_in_error") & ~Exists(withdrawing)


# --- the child record --------------------------------------------------------------------------------


@dataclass
class ChildInput:
    given_name: str
    family_name: str
    date_of_birth: date
    sex: str = ""
    nhs_number: str = ""
    upn: str = ""
    ethnicity: str = ""
    religion: str = ""
    first_language: str = ""


class ChildExists(Exception):
    """The NHS number or UPN belongs to a child already on the platform: one child, one record."""

    def __init__(self, child: Child):
        super().__init__("A child with this NHS number or unique pupil number is already on Jigsaw")
        self.child = child


def child_create(*, actor: User, data: ChildInput) -> Child:
    """Add a child the platform does not know yet, in the actor's area, with the actor working with them.

    A child whose NHS number or UPN is already known is not created again: `ChildExists` names the
    record, and the caller offers the exact-identifier route (record information, or break-glass).
    A likely match by name and date of birth is created all the same and queued for a lead to review.
    """
    from chronology import linkage

    adders = {Role.PRACTITIONER, Role.DESIGNATED_SAFEGUARDING_LEAD, Role.AREA_SAFEGUARDING_LEAD}
    if not actor.agency_id or not actor.role_codes() & adders:
        raise PermissionDenied("Only practitioners and safeguarding leads in an agency add children.")
    existing = linkage.child_with_identifiers(nhs_number=data.nhs_number, upn=data.upn)
    if existing is not None:
        raise ChildExists(existing)
    if data.date_of_birth > timezone.localdate() + PREGNANCY:
        raise ValidationError({"date_of_birth": "The date of birth is too far in the future"})
    with transaction.atomic():
        now = timezone.now()
        child = Child.objects.create(
            given_name=data.given_name.strip(),
            family_name=data.family_name.strip(),
            date_of_birth=data.date_of_birth,
            sex=data.sex,
            nhs_number=data.nhs_number,
            upn=data.upn.upper(),
            ethnicity=data.ethnicity.strip(),
            religion=data.religion.strip(),
            first_language=data.first_language.strip(),
            area=actor.agency.area,
        )
        Involvement.objects.create(
            child=child,
            agency_id=actor.agency_id,
            practitioner=actor,
            reason=InvolvementReason.ALLOCATED,
            reason_detail="Added the child to Jigsaw",
            started_on=timezone.localdate(),
            created_by=actor,
            last_activity_at=now,
            confirmed_by=actor,
            confirmed_at=now,
        )
        AuditEntry.objects.create(at=now, user=actor, action="child_created", child=child, target=f"child {child.pk}")
        linkage.likely_matches_queue(child)
    log.info("child_created", child=child.pk, actor=actor.pk)
    return child


def household_member_add(
    *,
    actor: User,
    child: Child,
    role: str,
    given_name: str,
    family_name: str,
    relationship: str = "",
    factors: list[str] | None = None,
) -> Person:
    """Record a household member or significant adult: the men in the household must be visible too."""
    with transaction.atomic():
        _may_write(actor, child)
        if role not in v.PERSON_ROLES:
            raise ValidationError({"role": "Choose the person's role"})
        unknown = [code for code in factors or [] if code not in v.FACTORS]
        if unknown:
            raise ValidationError({"factors": f"unknown factor codes {', '.join(unknown)}"})
        person = Person.objects.create(
            source=JIGSAW_SOURCE,
            ref=f"p-{uuid.uuid4().hex}",
            role=role,
            given_name=given_name.strip(),
            family_name=family_name.strip(),
            relationship=relationship.strip(),
            factors=list(factors or []),
        )
        person.children.add(child)
        AuditEntry.objects.create(
            at=timezone.now(), user=actor, action="household_member_added", child=child, target=f"person {person.pk}"
        )
    return person


def address_add(
    *, actor: User, child: Child, address: str, postcode: str, area_name: str, moved_in: date | None
) -> Address:
    """Record an address; a move into another area shows on the record as a move across a border."""
    from agencies.models import Area

    with transaction.atomic():
        _may_write(actor, child)
        if not address.strip():
            raise ValidationError({"address": "Enter the address"})
        if moved_in and moved_in > timezone.localdate():
            raise ValidationError({"moved_in": "The date must be today or in the past"})
        area = Area.objects.filter(name__iexact=area_name.strip()).first() if area_name.strip() else None
        record = Address.objects.create(
            child=child,
            address=address.strip(),
            postcode=postcode.strip().upper(),
            area=area,
            area_name="" if area else area_name.strip(),
            moved_in=moved_in,
        )
        AuditEntry.objects.create(
            at=timezone.now(), user=actor, action="address_added", child=child, target=f"address {record.pk}"
        )
    return record


CHILD_DETAIL_FIELDS = (
    "sex",
    "ethnicity",
    "religion",
    "first_language",
    "setting",
    "not_independently_mobile_recorded",
    "young_carer",
    "elective_home_education",
)


def child_details_update(*, actor: User, child: Child, changes: dict, alias: tuple[str, str, str] | None = None):
    """Change the child's details (not events: those are evidence). Each change is kept in the audit trail."""
    from chronology.models import ChildAlias

    with transaction.atomic():
        child = Child.objects.select_for_update().get(pk=child.pk)
        _may_write(actor, child)
        unknown = set(changes) - set(CHILD_DETAIL_FIELDS)
        if unknown:
            raise ValidationError(f"these details cannot be changed here: {', '.join(sorted(unknown))}")
        before = {name: getattr(child, name) for name in changes}
        for name, value in changes.items():
            setattr(child, name, value)
        changed = {name: (str(before[name]), str(value)) for name, value in changes.items() if before[name] != value}
        if changed:
            child.save(update_fields=list(changes))
        if alias and (alias[0].strip() or alias[1].strip()):
            ChildAlias.objects.create(
                child=child, given_name=alias[0].strip(), family_name=alias[1].strip(), note=alias[2].strip()
            )
            changed["alias"] = ("", f"{alias[0]} {alias[1]}".strip())
        if changed:
            AuditEntry.objects.create(
                at=timezone.now(),
                user=actor,
                action="child_details_changed",
                child=child,
                target=f"child {child.pk}",
                detail={"changed": changed},
            )
    return child
