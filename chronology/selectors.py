"""Reads of child data. Every one takes the acting user and goes through the access policy.

A child the actor may not read does not exist for them: `Child.DoesNotExist`, the same as for an
id that was never used. Each read of a record writes its access-log row in the caller's
transaction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Max, QuerySet

from agencies import policy
from agencies.models import AccessBasis, Agency, Involvement
from agencies.services import Origin, access_log_record
from chronology import visibility
from chronology.linkage import record_ids
from chronology.models import Child, Event


def children_readable(*, actor) -> QuerySet[Child]:
    """Every child `actor` may read now (for lists); reading a record still goes through child_get."""
    return Child.objects.filter(policy.readable_children_q(actor)).distinct()


def child_get(*, actor, child_id: int, what: str, origin: Origin) -> tuple[Child, policy.Access]:
    """One child's record for `actor`, logged; `Child.DoesNotExist` when absent or not allowed."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("child_get must run inside the transaction that builds the response")
    # By primary key, unsorted: the model's default ordering would only cost compiling an ORDER BY.
    child = next(iter(Child.objects.select_related("area").filter(pk=child_id).order_by()), None)
    access = policy.access_for(actor, child)
    if child is None or access is None:
        raise Child.DoesNotExist
    access_log_record(user=actor, child=child, access=access, what=what, origin=origin)
    return child, access


def child_involvements(*, actor, child: Child) -> QuerySet[Involvement]:
    if policy.access_for(actor, child) is None:
        raise Child.DoesNotExist
    return (
        Involvement.objects.filter(child=child)
        .select_related("agency", "practitioner", "created_by", "confirmed_by", "ended_by")
        .order_by("ended_at", "-started_on")
    )


@dataclass(frozen=True)
class Identifiers:
    nhs_number: str = ""
    upn: str = ""
    given_name: str = ""
    family_name: str = ""
    date_of_birth: date | None = None

    @property
    def by_name(self) -> bool:
        return bool(self.given_name and self.family_name and self.date_of_birth)

    def describe(self) -> str:
        if self.nhs_number:
            return "NHS number"
        if self.upn:
            return "unique pupil number"
        return "name and date of birth"


@dataclass(frozen=True)
class Match:
    child: Child
    access: policy.Access | None


def children_matching(*, actor, identifiers: Identifiers, origin: Origin) -> list[Match]:
    """Children matching exact identifiers: an NHS number, a UPN, or an exact name and date of birth.

    This is the only read that reveals a child the actor may not read, and then only the summary
    (name, date of birth, area), so they can record what they know or break glass. Each disclosure
    is logged.
    """
    if identifiers.nhs_number:
        found = Child.objects.filter(nhs_number=identifiers.nhs_number)
    elif identifiers.upn:
        found = Child.objects.filter(upn=identifiers.upn.upper())
    elif identifiers.by_name:
        found = Child.objects.filter(
            given_name__iexact=identifiers.given_name.strip(),
            family_name__iexact=identifiers.family_name.strip(),
            date_of_birth=identifiers.date_of_birth,
        )
    else:
        return []
    matches = []
    with transaction.atomic():
        for child in found.select_related("area")[:10]:
            access = policy.access_for(actor, child)
            if access is None:
                access_log_record(
                    user=actor,
                    child=child,
                    access=None,
                    basis=AccessBasis.IDENTIFIER_MATCH,
                    what=f"summary after an exact match on {identifiers.describe()}",
                    origin=origin,
                )
            matches.append(Match(child=child, access=access))
    return matches


def child_matching_one(*, actor, identifiers: Identifiers, child_id: int, origin: Origin) -> Child:
    """The child with `child_id`, only if it matches the exact identifiers given (re-checked, logged)."""
    for match in children_matching(actor=actor, identifiers=identifiers, origin=origin):
        if match.child.pk == child_id:
            return match.child
    raise Child.DoesNotExist


# --- the chronology -------------------------------------------------------------------------------

PAGE_SIZE = 50
TIMELINE_CACHE_SECONDS = 24 * 60 * 60


@dataclass(frozen=True)
class ChronologyFilters:
    agencies: tuple[int, ...] = ()
    types: tuple[str, ...] = ()
    factors: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    significant_only: bool = False
    newest_first: bool = False
    # "New since you last looked": stored after this moment, by someone other than this user.
    stored_after: datetime | None = None
    not_recorded_by: int | None = None
    not_agency: int | None = None  # the home page's count: what other agencies added

    @property
    def active(self) -> bool:
        return bool(
            self.agencies
            or self.types
            or self.factors
            or self.date_from
            or self.date_to
            or self.significant_only
            or self.stored_after
        )


@dataclass
class EntryView:
    event: Event
    view: str  # visibility.FULL or visibility.PLACEHOLDER
    superseded: bool
    filed_in_error: bool
    amendments: list
    can_amend: bool = False
    new: bool = False  # stored since the reader's previous visit, by someone else (chronology.home)


@dataclass
class Chronology:
    entries: list[EntryView]
    page: object
    total: int
    timeline_svg: str
    shows_filed_in_error: bool


def _visible_events(actor, child: Child, access: policy.Access):
    from chronology.services import on_chronology_q

    ids = record_ids(child)
    events = Event.objects.filter(child_id__in=ids)
    if access.awaiting_confirmation:
        # Until a designated safeguarding lead confirms a self-claimed involvement, the practitioner reads
        # only what their own agency recorded: recording about a child must not open the whole record.
        events = events.filter(agency_id=actor.agency_id)
    shows_withdrawn = visibility.sees_filed_in_error(actor)
    if not shows_withdrawn:
        events = events.filter(on_chronology_q())
    return events, shows_withdrawn


def _filtered(events, filters: ChronologyFilters):
    if filters.agencies:
        events = events.filter(agency_id__in=filters.agencies)
    if filters.types:
        events = events.filter(type__in=filters.types)
    if filters.date_from:
        events = events.filter(occurred_on__gte=filters.date_from)
    if filters.date_to:
        events = events.filter(occurred_on__lte=filters.date_to)
    if filters.significant_only:
        events = events.filter(significant=True)
    if filters.stored_after:
        from chronology.services import on_chronology_q

        # What is new since a visit: withdrawn entries are not, even for readers who see them.
        events = events.filter(on_chronology_q(), stored_at__gt=filters.stored_after)
    if filters.not_recorded_by:
        events = events.exclude(recorded_by_user_id=filters.not_recorded_by)
    if filters.not_agency:
        events = events.exclude(agency_id=filters.not_agency)
    if filters.factors:
        # JSON list containment differs between databases; ids of matching events keep it portable.
        wanted = set(filters.factors)
        matching = [pk for pk, codes in events.values_list("pk", "factors") if wanted & set(codes or [])]
        events = events.filter(pk__in=matching)
    return events


def chronology_get(
    *,
    actor,
    child: Child,
    access: policy.Access,
    filters: ChronologyFilters,
    page_number,
    agencies: list[Agency],
) -> Chronology:
    """One page of the child's chronology as `actor` may see it. The caller has checked access."""
    from django.core.paginator import Paginator

    events, shows_withdrawn = _visible_events(actor, child, access)
    filtered = _filtered(events, filters)
    stats = filtered.aggregate(total=Count("pk"), last=Max("pk"))
    # Page through ids in the index's order first, then load only the page's rows with their joins:
    # the cost stays that of one page however long the chronology, whatever the planner's statistics.
    order = ("-occurred_on", "-recorded_at", "-pk") if filters.newest_first else ("occurred_on", "recorded_at", "pk")
    ordered_ids = filtered.order_by(*order).values_list("pk", flat=True)
    paginator = Paginator(ordered_ids, PAGE_SIZE)
    paginator.count = stats["total"]  # already counted: spare the database a second COUNT
    page = paginator.get_page(page_number)
    entries = _entries(actor, access, list(page.object_list))
    return Chronology(
        entries=entries,
        page=page,
        total=stats["total"],
        timeline_svg=_timeline(child, filtered, filters, shows_withdrawn, stats, agencies),
        shows_filed_in_error=shows_withdrawn,
    )


@dataclass
class ChronologyPage:
    entries: list[EntryView]
    total: int
    number: int
    num_pages: int


def chronology_page(
    *, actor, child: Child, access: policy.Access, filters: ChronologyFilters, page_number: int, page_size: int
) -> ChronologyPage:
    """One page of `page_size` entries of the child's chronology as `actor` may see it, without the timeline
    drawing (for agencies' systems). The caller has checked access and logged the read. `EmptyPage` past the
    last page; an empty chronology has one, empty, page."""
    from django.core.paginator import EmptyPage

    events, _ = _visible_events(actor, child, access)
    filtered = _filtered(events, filters)
    total = filtered.count()
    num_pages = max(1, -(-total // page_size))
    if page_number < 1 or page_number > num_pages:
        raise EmptyPage(f"There are {num_pages} pages of {page_size} entries.")
    order = ("-occurred_on", "-recorded_at", "-pk") if filters.newest_first else ("occurred_on", "recorded_at", "pk")
    start = (page_number - 1) * page_size
    ids = list(filtered.order_by(*order).values_list("pk", flat=True)[start : start + page_size])
    return ChronologyPage(entries=_entries(actor, access, ids), total=total, number=page_number, num_pages=num_pages)


def chronology_entry(*, actor, child: Child, access: policy.Access, event_id: int) -> EntryView:
    """One entry of the child's chronology as `actor` sees it there; `Event.DoesNotExist` for an entry that is
    not on the chronology they read (another child's, or filed in error and hidden from them)."""
    events, _ = _visible_events(actor, child, access)
    if not events.filter(pk=event_id).exists():
        raise Event.DoesNotExist
    return _entries(actor, access, [event_id])[0]


_AMENDED_UNREAD = (
    "summary",
    "action_taken",
    "child_voice",
    "factors",
    "details",
    "extra",
    "given_fields",
    "amendment_reason",
    "recorded_by",
)


def _entries(actor, access: policy.Access, ids: list[int]) -> list[EntryView]:
    """What `actor` sees of each of these events, in this order: placeholders, amendments, withdrawals."""
    # Of the entry amended, only its date is shown: its text and data are not read again.
    loaded = (
        Event.objects.filter(pk__in=ids)
        .select_related("agency", "amends")
        .defer(*(f"amends__{name}" for name in _AMENDED_UNREAD))
        .in_bulk()
    )
    page_events = [loaded[pk] for pk in ids]
    amendments: dict[int, list] = {}
    for amendment in Event.objects.filter(amends_id__in=ids).select_related("agency").order_by("recorded_at"):
        amendments.setdefault(amendment.amends_id, []).append(amendment)
    # An entry with an amendment is superseded: the amendments just read say which, without another query.
    superseded = set(amendments)
    withdrawn = {e.pk for e in page_events if e.is_filed_in_error} | {
        a.amends_id for group in amendments.values() for a in group if a.is_filed_in_error
    }
    may_write = access.can_write
    return [
        EntryView(
            event=e,
            view=visibility.event_view(actor, e),
            superseded=e.pk in superseded,
            filed_in_error=e.pk in withdrawn,
            amendments=amendments.get(e.pk, []),
            can_amend=may_write and e.pk not in withdrawn and e.pk not in superseded and e.agency_id == actor.agency_id,
        )
        for e in page_events
    ]


def _timeline(child, filtered, filters, shows_withdrawn, stats, agencies) -> str:
    """The timeline drawing, cached: events never change, so their count and newest id identify the set."""
    from chronology.timeline import timeline_svg

    if not stats["total"]:
        return ""
    fingerprint = repr(
        (record_ids(child), filters, shows_withdrawn, stats["total"], stats["last"], [(a.pk, a.name) for a in agencies])
    )
    key = "timeline:" + hashlib.sha256(fingerprint.encode()).hexdigest()
    svg = cache.get(key)
    if svg is None:
        rows = list(filtered.order_by("occurred_on").values_list("occurred_on", "agency_id", "significant", "type"))
        svg = timeline_svg(rows, agencies)
        cache.set(key, svg, TIMELINE_CACHE_SECONDS)
    return svg


def entries_new_count(*, actor, child: Child, access: policy.Access, since: datetime) -> int:
    """How many entries on the chronology `actor` reads were stored after `since` by someone else."""
    from chronology.services import on_chronology_q

    events, _ = _visible_events(actor, child, access)
    # Withdrawn entries are never news, even to the leads and auditors who still read them.
    return events.filter(on_chronology_q(), stored_at__gt=since).exclude(recorded_by_user_id=actor.pk).count()


def chronology_agencies(*, actor, child: Child, access: policy.Access) -> list[Agency]:
    """The agencies with entries on the child's chronology, for the filters and the timeline's lanes."""
    events, _ = _visible_events(actor, child, access)
    return list(Agency.objects.filter(pk__in=events.values("agency_id")).order_by("name"))


@dataclass
class KeyFacts:
    age: str
    not_independently_mobile: bool
    mobility_derived: bool
    plans: list[str]
    involvements: list
    household: list
    addresses: list
    aliases: list


def _current_plans(ids: list[int]) -> list[str]:
    from chronology import vocabulary as v

    current: dict[str, date] = {}
    rows = Event.objects.filter(child_id__in=ids, type__in=["plan_start", "plan_end"]).order_by("occurred_on", "pk")
    for kind, details, occurred_on in rows.values_list("type", "details", "occurred_on"):
        plan = (details or {}).get("plan")
        if not plan:
            continue
        if kind == "plan_start":
            current[plan] = occurred_on
        else:
            current.pop(plan, None)
    # A core group working to a plan says the child is on it, even before anyone records the plan's start.
    from coregroups.models import CoreGroup

    for plan, started_on in CoreGroup.objects.filter(child_id__in=ids, ended_on__isnull=True).values_list(
        "plan", "started_on"
    ):
        current.setdefault(plan, started_on)
    return [f"{v.PLANS.get(plan, plan)} since {since:%-d %B %Y}" for plan, since in current.items()]


def child_key_facts(*, actor, child: Child, today: date) -> KeyFacts:
    """The facts on top of the chronology. The caller has checked access and logged the read."""
    from chronology.models import Address, ChildAlias, Person

    ids = record_ids(child)
    involvements = list(
        Involvement.objects.active()
        .filter(child_id__in=ids)
        .select_related("agency", "practitioner")
        .order_by("agency__name", "practitioner__last_name")
    )
    # Moves across borders show: each address knows whether its area differs from the one before it.
    addresses = list(Address.objects.filter(child_id__in=ids).select_related("area").order_by("moved_in", "pk"))
    previous = None
    for address in addresses:
        address.crossed_border = previous is not None and address.area_label != previous
        previous = address.area_label
    return KeyFacts(
        age=child.age_text_on(today),
        not_independently_mobile=child.not_independently_mobile_on(today),
        mobility_derived=child.not_independently_mobile_recorded is None,
        plans=_current_plans(ids),
        involvements=involvements,
        household=list(Person.objects.filter(children__in=ids).distinct().order_by("role", "family_name")),
        addresses=list(reversed(addresses)),
        aliases=list(ChildAlias.objects.filter(child_id__in=ids)),
    )
