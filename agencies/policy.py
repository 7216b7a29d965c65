"""The one access policy: who may read and who may write a child's record, and on what basis.

Every selector that returns child data asks `access_for` (one child) or `readable_children_q`
(lists); the two agree by construction and a test proves it for every persona. Records a user may
not see do not exist for them: callers answer 404, never 403.

| who | read | write |
|---|---|---|
| practitioner with an active involvement (own, or their agency team's) | yes | yes |
| designated safeguarding lead of an agency with an active involvement | yes | yes |
| safeguarding lead for the child's area | yes | yes |
| emergency duty team of the child's area | yes (logged) | no |
| anyone with an open break-glass (written reason, 24 hours) | yes (logged, reviewed) | no |
| auditor with an open audit opening (written reason) | yes (logged, reviewed) | no |
| the platform's system account (commands, tasks) | yes (logged) | yes |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import rules
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from agencies.models import (
    AccessBasis,
    ExceptionalAccess,
    ExceptionalAccessKind,
    Involvement,
    Role,
    User,
)

SYSTEM_USERNAME = "system"


@dataclass(frozen=True)
class Access:
    basis: AccessBasis
    can_write: bool
    involvement: Involvement | None = None
    exceptional_access: ExceptionalAccess | None = None

    @property
    def awaiting_confirmation(self) -> bool:
        """A self-claimed involvement not yet confirmed: it records, and reads only its own agency's entries."""
        return self.involvement is not None and self.involvement.awaiting_confirmation

    @property
    def reason(self) -> str:
        if self.exceptional_access is not None:
            return self.exceptional_access.reason
        if self.involvement is not None:
            return f"involvement {self.involvement.pk}: {self.involvement.get_reason_display()}"
        return AccessBasis(self.basis).label


def lapse_after() -> timedelta:
    return timedelta(days=settings.JIGSAW_INVOLVEMENT_LAPSE_DAYS)


def involvement_active_q(*, now=None, prefix: str = "") -> Q:
    now = now or timezone.now()
    return Q(
        **{
            f"{prefix}started_on__lte": timezone.localdate(now),
            f"{prefix}ended_at__isnull": True,
            f"{prefix}last_activity_at__gte": now - lapse_after(),
        }
    )


def is_system(user) -> bool:
    return getattr(user, "username", None) == SYSTEM_USERNAME and not user.is_active


def _roles(user) -> set[str]:
    return user.role_codes()


def access_for(user, child, *, now=None) -> Access | None:
    """The strongest basis on which `user` may read `child` now, or None."""
    if child is None:
        return None
    return access_for_many(user, [child], now=now)[child.pk]


INVOLVEMENT_ROLES = {Role.PRACTITIONER, Role.DESIGNATED_SAFEGUARDING_LEAD, Role.LINE_MANAGER}


def access_for_many(user, children, *, now=None) -> dict[int, Access | None]:
    """The strongest basis on which `user` may read each child now, or None: child id -> access. The rules are
    in `_access_among`, once; this reads what they need for all the children together (a batch import names
    hundreds) in at most two queries: their active involvements, and break-glass openings only if asked."""
    children = list(children)
    if user is None:
        return {child.pk: None for child in children}
    if is_system(user):
        return {child.pk: Access(AccessBasis.SYSTEM, can_write=True) for child in children}
    if not user.is_authenticated or not user.is_active:
        return {child.pk: None for child in children}
    now = now or timezone.now()
    roles = _roles(user)
    ids = {child.pk for child in children}
    # Involvements with a record merged into one of these count for that one, as in access_for; in the model's
    # ordering, so that the first found is the one access_for's .first() takes.
    active: dict[int, list[Involvement]] = {pk: [] for pk in ids}
    # Only these roles read through involvements: an area lead's or the EDT's check needs no query at all.
    rows = (
        Involvement.objects.active(now=now)
        .filter(Q(child_id__in=ids) | Q(child__merged_into_id__in=ids))
        .annotate(child_merged_into_id=F("child__merged_into_id"), line_manager_id=F("practitioner__line_manager_id"))
        if roles & INVOLVEMENT_ROLES and (user.agency_id or Role.LINE_MANAGER in roles)
        else ()
    )
    for involvement in rows:
        for owner in {involvement.child_id, involvement.child_merged_into_id} & ids:
            active[owner].append(involvement)
    openings: dict[int, ExceptionalAccess] | None = None

    def opening_for(child_id: int) -> ExceptionalAccess | None:
        # Asked only of a child no involvement or role opens: most reads never need this query.
        nonlocal openings
        if openings is None:
            openings = {}
            for opening in ExceptionalAccess.objects.filter(
                user=user, child_id__in=ids, opened_at__lte=now, expires_at__gt=now
            ).order_by("-opened_at"):
                openings.setdefault(opening.child_id, opening)
        return openings.get(child_id)

    area_id = user.agency.area_id if user.agency_id else None
    return {child.pk: _access_among(user, roles, child, active[child.pk], opening_for, area_id) for child in children}


def _access_among(user, roles, child, active, opening_for, area_id) -> Access | None:
    """The access policy's rules, strongest basis first, over the child's active involvements (newest first)."""

    def first(test):
        return next((i for i in active if test(i)), None)

    if user.agency_id and Role.PRACTITIONER in roles:
        own = first(lambda i: i.practitioner_id == user.pk)
        if own:
            return Access(AccessBasis.INVOLVEMENT, can_write=True, involvement=own)
        team = first(lambda i: i.practitioner_id is None and i.agency_id == user.agency_id)
        if team:
            return Access(AccessBasis.TEAM_INVOLVEMENT, can_write=True, involvement=team)
    if user.agency_id and Role.DESIGNATED_SAFEGUARDING_LEAD in roles:
        agencys = first(lambda i: i.agency_id == user.agency_id)
        if agencys:
            return Access(AccessBasis.DESIGNATED_SAFEGUARDING_LEAD, can_write=True, involvement=agencys)
    if Role.LINE_MANAGER in roles and first(lambda i: i.line_manager_id == user.pk):
        return Access(AccessBasis.LINE_MANAGER, can_write=False)
    in_area = area_id is not None and area_id == child.area_id
    if in_area and Role.AREA_SAFEGUARDING_LEAD in roles:
        return Access(AccessBasis.AREA_SAFEGUARDING_LEAD, can_write=True)
    if in_area and Role.EMERGENCY_DUTY_TEAM in roles:
        return Access(AccessBasis.EMERGENCY_DUTY_TEAM, can_write=False)
    opening = opening_for(child.pk)
    if opening and (opening.kind != ExceptionalAccessKind.AUDIT or Role.AUDITOR in roles):
        basis = AccessBasis.AUDIT if opening.kind == ExceptionalAccessKind.AUDIT else AccessBasis.BREAK_GLASS
        return Access(basis, can_write=False, exceptional_access=opening)
    return None


def readable_children_q(user, *, now=None) -> Q:
    """A filter on Child for the children `user` may read now: the list form of `access_for`."""
    if is_system(user):
        return Q()
    if user is None or not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    now = now or timezone.now()
    roles = _roles(user)
    q = Q(pk__in=[])
    involvement = Q(pk__in=[])
    if user.agency_id and Role.PRACTITIONER in roles:
        involvement |= Q(practitioner=user) | Q(practitioner__isnull=True, agency_id=user.agency_id)
    if user.agency_id and Role.DESIGNATED_SAFEGUARDING_LEAD in roles:
        involvement |= Q(agency_id=user.agency_id)
    if Role.LINE_MANAGER in roles:
        involvement |= Q(practitioner__line_manager=user)
    involved = Involvement.objects.active(now=now).filter(involvement).values("child_id")
    q |= Q(pk__in=involved) | Q(merged_records__pk__in=involved)
    if user.agency_id and roles & {Role.AREA_SAFEGUARDING_LEAD, Role.EMERGENCY_DUTY_TEAM}:
        q |= Q(area_id=user.agency.area_id)
    openings = ExceptionalAccess.objects.filter(user=user, opened_at__lte=now, expires_at__gt=now)
    if Role.AUDITOR not in roles:
        openings = openings.exclude(kind=ExceptionalAccessKind.AUDIT)
    q |= Q(pk__in=openings.values("child_id"))
    return q


# --- rules: the same policy as object permissions -----------------------------------------------


@rules.predicate
def can_read_child(user, child) -> bool:
    return access_for(user, child) is not None


@rules.predicate
def can_write_child(user, child) -> bool:
    access = access_for(user, child)
    return access is not None and access.can_write


@rules.predicate
def manages_involvements(user, child) -> bool:
    """Designated safeguarding leads (for their agency) and area safeguarding leads add and end involvements."""
    if not user.is_authenticated or not user.agency_id:
        return False
    roles = _roles(user)
    if Role.AREA_SAFEGUARDING_LEAD in roles and (child is None or user.agency.area_id == child.area_id):
        return True
    return Role.DESIGNATED_SAFEGUARDING_LEAD in roles and (child is None or can_read_child(user, child))


@rules.predicate
def is_area_safeguarding_lead(user) -> bool:
    return user.is_authenticated and Role.AREA_SAFEGUARDING_LEAD in _roles(user)


@rules.predicate
def is_auditor(user) -> bool:
    return user.is_authenticated and Role.AUDITOR in _roles(user)


@rules.predicate
def is_designated_safeguarding_lead(user) -> bool:
    return user.is_authenticated and Role.DESIGNATED_SAFEGUARDING_LEAD in _roles(user)


rules.add_perm("chronology.view_child", can_read_child)
rules.add_perm("chronology.record_for_child", can_write_child)
rules.add_perm("agencies.manage_involvements", manages_involvements)
rules.add_perm("agencies.confirm_involvements", is_designated_safeguarding_lead)
rules.add_perm("agencies.review_exceptional_access", is_area_safeguarding_lead | is_auditor)
# Area safeguarding leads review break-glass openings, so they read what was read.
rules.add_perm("agencies.view_access_log", is_auditor | is_area_safeguarding_lead)
rules.add_perm("agencies.open_for_audit", is_auditor)


def system_identity() -> User:
    """The system account for permission checks only, without reading it from the database. Never
    saved and never named as the author of a row: for that, use `system_user()`."""
    return User(username=SYSTEM_USERNAME, is_active=False)


def system_user() -> User:
    """The account commands and tasks act as when no person is named. It can never sign in."""
    user, _ = User.objects.get_or_create(
        username=SYSTEM_USERNAME,
        defaults={"first_name": "Jigsaw", "last_name": "system account", "is_active": False},
    )
    return user
