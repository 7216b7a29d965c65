"""Reads for the core group pages. Each one that starts from an id checks the access policy and logs the read,
so a page cannot forget either; "does not exist" and "may not know it exists" are the same answer (a 404)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet

from agencies import policy
from agencies.models import AccessBasis, Involvement, Role, User
from agencies.services import Origin, access_log_record
from chronology.linkage import record_ids
from chronology.models import Address, Child
from coregroups.models import (
    FAMILY_KINDS,
    ActionStatus,
    CoreGroup,
    Meeting,
    Member,
    MemberKind,
    Pack,
    PackCopy,
    PlanAction,
    Variant,
)

# Poppler's tools, by full path: the arguments are our own file names and numbers, never what a user typed.
PDFTOPPM = shutil.which("pdftoppm") or "/usr/bin/pdftoppm"
PDFTOTEXT = shutil.which("pdftotext") or "/usr/bin/pdftotext"

# The bases on which someone works with the child (and may write): whom a core group is made of.
WORKING_BASES = {
    AccessBasis.INVOLVEMENT,
    AccessBasis.TEAM_INVOLVEMENT,
    AccessBasis.DESIGNATED_SAFEGUARDING_LEAD,
    AccessBasis.AREA_SAFEGUARDING_LEAD,
}


def _need_transaction() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("a logged read must run inside the transaction that builds the response")


def _read(actor: User, child: Child, what: str, origin: Origin) -> policy.Access:
    _need_transaction()
    access = policy.access_for(actor, child)
    if access is None:
        raise Child.DoesNotExist
    access_log_record(user=actor, child=child, access=access, what=what, origin=origin)
    return access


def group_get(*, actor: User, group_id: int, what: str, origin: Origin) -> tuple[CoreGroup, policy.Access]:
    group = (
        CoreGroup.objects.select_related("child__area", "chair__agency", "deputy__agency").filter(pk=group_id).first()
    )
    if group is None or policy.access_for(actor, group.child) is None:
        raise CoreGroup.DoesNotExist
    return group, _read(actor, group.child, what, origin)


def meeting_get(*, actor: User, meeting_id: int, what: str, origin: Origin) -> tuple[Meeting, policy.Access]:
    meeting = (
        Meeting.objects.select_related(
            "group__child__area", "group__chair", "group__deputy", "chaired_by", "recorded_by"
        )
        .filter(pk=meeting_id)
        .first()
    )
    if meeting is None or policy.access_for(actor, meeting.group.child) is None:
        raise Meeting.DoesNotExist
    return meeting, _read(actor, meeting.group.child, what, origin)


def may_be_issued(user: User, pack: Pack) -> bool:
    """A pack with restricted entries in full goes only to those who read them online: the people of the agency
    it was rendered for, and the area's safeguarding leads. Nobody else learns it exists."""
    if pack.variant != Variant.RESTRICTED:
        return True
    if Role.AREA_SAFEGUARDING_LEAD in user.role_codes():
        return True
    return pack.reader_agency_id is not None and pack.reader_agency_id == user.agency_id


def pack_find(*, actor: User, pack_id: int) -> tuple[Pack, policy.Access]:
    """A pack, unlogged: for the progress fragment, which the logged meeting page polls."""
    pack = (
        Pack.objects.select_related("meeting__group__child", "requested_by", "signed_off_by").filter(pk=pack_id).first()
    )
    access = policy.access_for(actor, pack.meeting.group.child) if pack else None
    if access is None or not may_be_issued(actor, pack):
        raise Pack.DoesNotExist
    return pack, access


def pack_get(*, actor: User, pack_id: int, what: str, origin: Origin) -> tuple[Pack, policy.Access]:
    _need_transaction()
    pack, access = pack_find(actor=actor, pack_id=pack_id)
    access_log_record(user=actor, child=pack.meeting.group.child, access=access, what=what, origin=origin)
    return pack, access


def copy_find(*, actor: User, copy_id: int) -> tuple[PackCopy, policy.Access]:
    copy = PackCopy.objects.select_related("pack__meeting__group__child", "issued_to").filter(pk=copy_id).first()
    access = policy.access_for(actor, copy.pack.meeting.group.child) if copy else None
    if access is None or not may_be_issued(actor, copy.pack):
        raise PackCopy.DoesNotExist
    return copy, access


def open_group(child: Child) -> CoreGroup | None:
    return (
        CoreGroup.objects.filter(child=child, ended_on__isnull=True)
        .select_related("chair__agency", "deputy__agency")
        .first()
    )


def professionals_for(child: Child, *, exclude: list[int] = ()) -> list[User]:
    """The professionals who work with the child now and may record on its record: whom a core group is made of.

    Candidates come from the involvements and the area; each is then asked of the access policy itself, so
    this list and the services' checks cannot disagree."""
    involved = Involvement.objects.active().filter(Q(child=child) | Q(child__merged_into=child))
    agencies = involved.values("agency_id")
    candidates = (
        User.objects.filter(is_active=True, agency__isnull=False)
        .filter(
            Q(pk__in=involved.filter(practitioner__isnull=False).values("practitioner_id"))
            | Q(agency_id__in=involved.filter(practitioner__isnull=True).values("agency_id"))
            | Q(agency_id__in=agencies, role_grants__role=Role.DESIGNATED_SAFEGUARDING_LEAD)
            | Q(agency__area_id=child.area_id, role_grants__role=Role.AREA_SAFEGUARDING_LEAD)
        )
        .exclude(pk__in=list(exclude))
        .select_related("agency")
        .prefetch_related("role_grants")
        .distinct()
        .order_by("last_name", "first_name", "username")
    )
    shown = []
    for user in candidates:
        access = policy.access_for(user, child)
        if access is not None and access.can_write and access.basis in WORKING_BASES:
            shown.append(user)
    return shown


def child_addresses(child: Child) -> QuerySet[Address]:
    return Address.objects.filter(child_id__in=record_ids(child)).order_by("-moved_in", "pk")


@dataclass
class GroupPage:
    professionals: list[Member]
    family: list[Member]
    actions: list[PlanAction]
    meetings: list[Meeting]
    next_meeting_on: object = None


def group_page(group: CoreGroup) -> GroupPage:
    members = list(group.members.filter(left_on__isnull=True).select_related("agency", "user"))
    actions = list(group.actions.select_related("owner__agency"))
    meetings = list(group.meetings.select_related("chaired_by"))
    return GroupPage(
        professionals=sorted(
            (m for m in members if m.kind == MemberKind.PROFESSIONAL), key=lambda m: (m.agency.name, m.name)
        ),
        family=[m for m in members if m.kind in FAMILY_KINDS],
        actions=actions,
        meetings=meetings,
        next_meeting_on=meetings[0].next_meeting_on if meetings else None,
    )


def open_actions(group: CoreGroup) -> list[PlanAction]:
    """The actions a meeting must record progress on (what services.meeting_problems asks for)."""
    return list(
        group.actions.exclude(status__in=[ActionStatus.DONE, ActionStatus.DROPPED]).select_related("owner__agency")
    )


@dataclass
class VariantPacks:
    variant: str
    label: str
    packs: list[Pack] = field(default_factory=list)


def meeting_packs(meeting: Meeting, user: User) -> list[VariantPacks]:
    """Every version of each variant, newest first, with its copies: what the meeting page lists. Of the packs
    with restricted entries, only those this user may be issued."""
    by_variant = {value: VariantPacks(value, label) for value, label in Variant.choices}
    packs = (
        Pack.objects.filter(meeting=meeting)
        .defer("pdf")
        .select_related("requested_by", "signed_off_by")
        .prefetch_related(Prefetch("copies", PackCopy.objects.defer("pdf").select_related("issued_to")))
        .order_by("variant", "-version")
    )
    for pack in packs:
        if may_be_issued(user, pack):
            by_variant[pack.variant].packs.append(pack)
    return list(by_variant.values())


def meeting_record_page(meeting: Meeting) -> dict:
    return {
        "attendance": list(
            meeting.attendance.select_related("member__agency").order_by("member__kind", "member__name")
        ),
        "family_views": list(meeting.family_views.select_related("member")),
        "progress": list(meeting.progress.select_related("action__owner")),
    }


def panel(child: Child) -> dict | None:
    group = open_group(child)
    if group is None:
        return None
    last = group.meetings.order_by("-held_on", "-pk").first()
    return {"group": group, "last_meeting": last, "next_meeting_on": last.next_meeting_on if last else None}


def page_png(pdf: bytes, page: int, *, resolution: int = 60) -> bytes:
    """One page of a PDF as a PNG, drawn by pdftoppm in a directory of its own."""
    with tempfile.TemporaryDirectory(prefix="jigsaw-pack-") as tmp:
        source = Path(tmp) / "pack.pdf"
        source.write_bytes(pdf)
        subprocess.run(  # noqa: S603
            [
                PDFTOPPM,
                "-png",
                "-r",
                str(resolution),
                "-f",
                str(page),
                "-l",
                str(page),
                "-singlefile",
                source,
                Path(tmp) / "page",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        return (Path(tmp) / "page.png").read_bytes()


def page_texts(pdf: bytes) -> list[str]:
    """The text of each page as pdftotext reads it: what a screen reader user reviews the page by."""
    with tempfile.TemporaryDirectory(prefix="jigsaw-pack-") as tmp:
        source = Path(tmp) / "pack.pdf"
        source.write_bytes(pdf)
        done = subprocess.run(  # noqa: S603
            [PDFTOTEXT, source, "-"], check=True, capture_output=True, timeout=60, text=True
        )
    return done.stdout.split("\f")[:-1]
