"""What needs each person, by their roles: the home page's reads, and "new since you last looked".

Every list here holds only children the person may read now (the access policy's list form); listing a child's
name is not a read of their record, so nothing here writes to the access log. Opening a record does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from agencies import policy
from agencies.models import ChronologyVisit, Involvement, Role, User
from chronology.models import Child, Event
from chronology.services import on_chronology_q

# A visit is a run of page views with no gap longer than this (the same as the idle sign-out).
VISIT_GAP = timedelta(minutes=30)
LEVELS = (1, 2, 3, 4)
LIST_LIMIT = 50


# --- new since you last looked ---------------------------------------------------------------------


@dataclass(frozen=True)
class Visit:
    first: bool  # this is the person's first look at this chronology: nothing can be new to them
    seen_until: datetime | None  # entries stored after this are new to them (None on the first look)
    first_visit: bool = False  # still their first visit: `seen_until` is when they first opened it


def chronology_visit(*, user: User, child: Child, now: datetime | None = None) -> Visit:
    """Record that `user` is looking at `child`'s chronology now, and say what is new to them.

    Call it after the access check. Within one visit (page views no more than VISIT_GAP apart) the same entries
    stay marked new, and so does anything stored while it lasts; a later visit marks what was stored since the
    previous one ended. On the first visit, what others stored after the first look is new. So whatever the home
    page counts as new since the last look (`_new_from_other_agencies`) is always marked here."""
    now = now or timezone.now()
    visit = ChronologyVisit.objects.select_for_update().filter(user=user, child=child).first()
    if visit is None:
        try:
            with transaction.atomic():
                ChronologyVisit.objects.create(user=user, child=child, visit_started_at=now, last_viewed_at=now)
        except IntegrityError:  # the same person's other tab got there first: this is that visit
            return Visit(first=True, seen_until=None)
        return Visit(first=True, seen_until=None)
    if now - visit.last_viewed_at > VISIT_GAP:
        visit.seen_until, visit.visit_started_at = visit.last_viewed_at, now
    visit.last_viewed_at = now
    visit.save(update_fields=["seen_until", "visit_started_at", "last_viewed_at"])
    if visit.seen_until is None:  # still the first visit, which began when they first opened it
        return Visit(first=False, seen_until=visit.visit_started_at, first_visit=True)
    return Visit(first=False, seen_until=visit.seen_until)


def new_entry_ids(*, user: User, visit: Visit, event_ids: list[int]) -> set[int]:
    """Which of these entries are new to `user` on this visit: stored after the previous visit ended, and not
    recorded by them."""
    if visit.seen_until is None or not event_ids:
        return set()
    return set(
        Event.objects.filter(pk__in=event_ids, stored_at__gt=visit.seen_until)
        .filter(on_chronology_q())
        .exclude(recorded_by_user=user)
        .values_list("pk", flat=True)
    )


def _new_from_other_agencies(user: User, child_ids: list[int]) -> tuple[dict[int, int | None], dict[int, datetime]]:
    """Per child: entries other agencies stored since `user` last looked (None: never opened), and when that was.
    Entries of a merged record count for the record it was merged into; withdrawn entries do not count. The
    chronology lists exactly these from the home page's link (`?new=on&since=`, `new_since_look`)."""
    visits = dict(
        ChronologyVisit.objects.filter(user=user, child_id__in=child_ids).values_list("child_id", "last_viewed_at")
    )
    counts: dict[int, int | None] = {pk: (0 if pk in visits else None) for pk in child_ids}
    if not visits:
        return counts, visits
    merged = dict(Child.objects.filter(merged_into_id__in=list(visits)).values_list("pk", "merged_into_id"))
    since = Q(pk__in=[])
    for record, surviving in [*((pk, pk) for pk in visits), *merged.items()]:
        since |= Q(child_id=record, stored_at__gt=visits[surviving])
    rows = (
        Event.objects.filter(since)
        .filter(on_chronology_q())
        .exclude(agency_id=user.agency_id)
        .values("child_id")
        .annotate(n=Count("pk"))
    )
    for row in rows:
        surviving = merged.get(row["child_id"], row["child_id"])
        counts[surviving] = (counts[surviving] or 0) + row["n"]
    return counts, visits


def new_since_look(value: str, *, now: datetime | None = None) -> datetime | None:
    """The moment a home page's "N new" link counted from (`since`, as it wrote it), if it is one."""
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None or moment > (now or timezone.now()):
        return None
    return moment


# --- levels --------------------------------------------------------------------------------------


def _with_level(children: QuerySet[Child]) -> QuerySet[Child]:
    from thresholds.models import Assessment

    latest = Assessment.objects.filter(child=OuterRef("pk")).order_by("-assessed_at", "-pk")
    return children.annotate(
        level=Subquery(latest.values("level")[:1]), level_name=Subquery(latest.values("level_name")[:1])
    )


def _readable_surviving(actor: User) -> QuerySet[Child]:
    readable = Child.objects.filter(policy.readable_children_q(actor)).values("pk")
    return Child.objects.filter(pk__in=readable, merged_into__isnull=True)


def children_at_level(*, actor: User, level: int | None, minimum: bool = False) -> QuerySet[Child]:
    """The children `actor` may read whose indicated level is `level` (or at least it, with `minimum`); level None:
    not yet assessed. Surviving records only, highest level first."""
    children = _with_level(_readable_surviving(actor)).select_related("area")
    if level is None:
        children = children.filter(level__isnull=True)
    elif minimum:
        children = children.filter(level__gte=level)
    else:
        children = children.filter(level=level)
    return children.order_by("-level", "family_name", "given_name", "pk")


# --- the home page -------------------------------------------------------------------------------


@dataclass
class ChildRow:
    child: Child
    level: int | None
    level_name: str
    new: int | None = None  # entries other agencies added since the person last looked; None: never opened
    looked_at: datetime | None = None  # when they last looked
    awaiting_confirmation: bool = False


@dataclass
class Home:
    roles: list[str]
    practitioner: bool = False
    agency_lead: bool = False
    area_lead: bool = False
    auditor: bool = False
    chair: bool = False
    my_children: list[ChildRow] = field(default_factory=list)
    my_children_total: int = 0
    new_total: int = 0
    never_opened: int = 0
    my_actions: list = field(default_factory=list)
    my_alerts: list = field(default_factory=list)
    my_alerts_total: int = 0
    my_disagreements: list = field(default_factory=list)
    queue_open: int = 0
    queue_overdue: int = 0
    to_confirm: int = 0
    high_level_children: list[ChildRow] = field(default_factory=list)
    high_level_total: int = 0
    upcoming_meetings: list = field(default_factory=list)
    overdue_actions: list = field(default_factory=list)
    packs_to_issue: list = field(default_factory=list)
    per_level: dict = field(default_factory=dict)
    not_assessed: int = 0
    escalations_overdue: int = 0
    match_reviews: int = 0
    openings_to_review: int = 0
    supervises: bool = False  # line managers and designated leads: the supervision list


def _rows(children: list[Child]) -> list[ChildRow]:
    return [ChildRow(child=c, level=c.level, level_name=c.level_name or "") for c in children]


def _my_children(home: Home, user: User) -> None:
    """Children the practitioner works with (their own involvements, a merged record's counting for the record it
    was merged into), what other agencies added since they last looked first."""
    involved = Involvement.objects.active().filter(practitioner=user).values("child_id")
    children = list(
        _with_level(
            Child.objects.filter(Q(pk__in=involved) | Q(merged_records__pk__in=involved), merged_into__isnull=True)
            .distinct()
            .select_related("area")
        ).order_by("family_name", "given_name", "pk")
    )
    # Until a designated safeguarding lead confirms a self-claimed involvement the practitioner reads only their
    # own agency's entries, so what other agencies added is neither counted nor hinted at.
    access = policy.access_for_many(user, children)
    readable_whole = [c for c in children if access[c.pk] is not None and not access[c.pk].awaiting_confirmation]
    new, looked = _new_from_other_agencies(user, [c.pk for c in readable_whole])
    rows = [
        ChildRow(
            child=c,
            level=c.level,
            level_name=c.level_name or "",
            new=new.get(c.pk),
            looked_at=looked.get(c.pk),
            awaiting_confirmation=c.pk not in new,
        )
        for c in children
    ]
    rows.sort(key=lambda r: (r.awaiting_confirmation, r.new is None, -(r.new or 0), -(r.level or 0)))
    home.my_children_total = len(rows)
    home.my_children = rows[:LIST_LIMIT]
    home.new_total = sum(r.new or 0 for r in rows)
    home.never_opened = sum(1 for r in rows if r.new is None and not r.awaiting_confirmation)


def _my_actions(home: Home, user: User, today: date) -> None:
    from coregroups.models import ActionStatus, PlanAction

    open_states = [ActionStatus.NOT_STARTED, ActionStatus.IN_PROGRESS]
    readable = Child.objects.filter(policy.readable_children_q(user)).values("pk")
    home.my_actions = list(
        PlanAction.objects.filter(
            owner__user=user, status__in=open_states, group__ended_on__isnull=True, group__child_id__in=readable
        )
        .select_related("group__child")
        .order_by("due_on", "pk")[:LIST_LIMIT]
    )
    for action in home.my_actions:
        action.overdue = action.due_on < today


def _alerts(home: Home, user: User, now: datetime) -> None:
    from escalation import selectors as esc
    from escalation.models import AlertState

    open_alerts = esc.alerts_visible(user).exclude(state=AlertState.CLOSED)
    if home.agency_lead or home.area_lead:
        home.queue_open = open_alerts.count()
        home.queue_overdue = open_alerts.filter(state=AlertState.OPEN, acknowledge_by__lte=now).count()
        home.escalations_overdue = esc.disagreement_stages_open(user).filter(due_at__lte=now).count()
    mine = open_alerts.filter(Q(owner=user) | Q(recipients__user=user)).distinct()
    home.my_alerts_total = mine.count()
    home.my_alerts = list(mine.select_related("child").order_by("acknowledge_by")[:10])
    for alert in home.my_alerts:
        alert.overdue = alert.state == AlertState.OPEN and alert.acknowledge_by <= now


def _disagreements(home: Home, user: User, now: datetime) -> None:
    """The open professional disagreements the person raised, is named in, owns a stage of or takes part in
    (leads' oversight of the rest is the queue's count)."""
    from escalation import selectors as esc

    personal = Q(disagreement__raised_by=user) | Q(disagreement__with_whom=user) | Q(owner=user) | Q(participants=user)
    stages = esc.disagreement_stages_open(user).filter(personal).distinct()
    home.my_disagreements = list(stages.select_related("disagreement__child", "owner").order_by("due_at")[:LIST_LIMIT])
    for stage in home.my_disagreements:
        stage.overdue = stage.due_at <= now


def _chair(home: Home, user: User, today: date) -> None:
    from coregroups.models import ActionStatus, CoreGroup, Meeting, Pack, PackState, PlanAction, Variant

    readable = Child.objects.filter(policy.readable_children_q(user)).values("pk")
    groups = CoreGroup.objects.filter(Q(chair=user) | Q(deputy=user), ended_on__isnull=True, child_id__in=readable)
    group_ids = list(groups.values_list("pk", flat=True))
    home.chair = bool(group_ids) or Role.CORE_GROUP_CHAIR in user.role_codes()
    if not group_ids:
        return
    latest = Meeting.objects.filter(group=OuterRef("pk")).order_by("-held_on", "-pk")
    upcoming = (
        groups.annotate(next_on=Subquery(latest.values("next_meeting_on")[:1]))
        .filter(next_on__gte=today)
        .select_related("child")
        .order_by("next_on")
    )
    home.upcoming_meetings = list(upcoming[:LIST_LIMIT])
    home.overdue_actions = list(
        PlanAction.objects.filter(
            group_id__in=group_ids, status__in=[ActionStatus.NOT_STARTED, ActionStatus.IN_PROGRESS], due_on__lt=today
        )
        .select_related("group__child", "owner")
        .order_by("due_on", "pk")[:LIST_LIMIT]
    )
    ready = (
        Pack.objects.filter(meeting__group_id__in=group_ids, state=PackState.READY)
        .filter(
            Q(variant=Variant.PARENTS, signed_off_at__isnull=True)
            | (~Q(variant=Variant.PARENTS) & Q(copies__isnull=True))
        )
        .select_related("meeting__group__child")
        .distinct()
        .order_by("meeting__held_on", "variant", "-version")
    )
    home.packs_to_issue = list(ready[:LIST_LIMIT])


def _agency_lead(home: Home, user: User) -> None:
    from agencies.selectors import involvements_to_confirm

    home.to_confirm = involvements_to_confirm(actor=user).count()
    high = children_at_level(actor=user, level=3, minimum=True)
    home.high_level_total = high.count()
    home.high_level_children = _rows(list(high[:LIST_LIMIT]))


def _area_lead(home: Home, user: User) -> None:
    from chronology.linkage import match_candidates_visible

    counted = dict(
        _with_level(_readable_surviving(user)).values("level").annotate(n=Count("pk")).values_list("level", "n")
    )
    home.per_level = {level: counted.get(level, 0) for level in LEVELS}
    home.not_assessed = counted.get(None, 0)
    home.match_reviews = match_candidates_visible(actor=user).count()


def _openings(home: Home, user: User) -> None:
    from agencies.selectors import exceptional_access_to_review

    home.openings_to_review = exceptional_access_to_review(actor=user).count()


def home_for(*, user: User, now: datetime | None = None) -> Home:
    now = now or timezone.now()
    today = timezone.localdate(now)
    codes = user.role_codes()
    home = Home(
        roles=[grant.get_role_display() for grant in user.role_grants.all()],
        practitioner=Role.PRACTITIONER in codes and user.agency_id is not None,
        agency_lead=Role.DESIGNATED_SAFEGUARDING_LEAD in codes and user.agency_id is not None,
        area_lead=Role.AREA_SAFEGUARDING_LEAD in codes and user.agency_id is not None,
        auditor=Role.AUDITOR in codes and user.agency_id is not None,
    )
    from escalation.services.loops import may_supervise

    home.supervises = may_supervise(user)
    if home.practitioner:
        _my_children(home, user)
        _my_actions(home, user, today)
    _alerts(home, user, now)
    _disagreements(home, user, now)
    _chair(home, user, today)
    if home.agency_lead:
        _agency_lead(home, user)
    if home.area_lead:
        _area_lead(home, user)
    if home.area_lead or home.auditor:
        _openings(home, user)
    return home
