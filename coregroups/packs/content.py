"""What goes into a chronology pack, as plain data: read once from the database, then rendered.

Every pack is read as the platform reads for a meeting of professionals: restricted entries are
placeholders (a printed pack leaves the platform's access control; their text is read online by
those allowed), and entries filed in error are left out. The pack with restricted entries is the one
exception: rendered for one reader's agency, it shows that agency's restricted entries in full (every
agency's for the area's safeguarding leads) and is issued only to them. The copy for parents also leaves out the
indicated level and its reasons, restricted entries altogether, what anonymous people and neighbours
said, other children's details, and every address the chair marked.
"""

from __future__ import annotations

from datetime import date

from django.utils import timezone

from agencies.models import Involvement
from chronology import vocabulary as v
from chronology.linkage import record_ids
from chronology.models import Address, Event, Person
from chronology.services import on_chronology_q, superseded_ids
from coregroups.models import ActionProgress, Meeting, Variant
from coregroups.packs.document import PackContent, Row

# A summary longer than this is shortened in print; the full text stays online.
SUMMARY_LIMIT = 700
WITHHELD_SOURCES = {"anonymous", "neighbour"}
CHILD_ROLES = {"sibling"}
ADDRESS_WITHHELD = "[address withheld]"


def _day(value: date | None) -> str:
    return value.strftime("%d %b %Y") if value else ""


def _withhold(text: str, addresses: list[str]) -> str:
    for address in addresses:
        for line in filter(None, (part.strip() for part in address.replace(",", "\n").splitlines())):
            if len(line) >= 4:
                text = text.replace(line, ADDRESS_WITHHELD)
    return text


def pack_content(
    child, meeting: Meeting | None, variant: str, *, omitted_addresses: list[int] = (), reader_agency=None
) -> PackContent:
    """The pack for a core group meeting; without a meeting (the command, for a child with no core group
    yet), the same pack without the plan, its actions and the meeting."""
    from thresholds.panels import FLAG_WORDS
    from thresholds.services import latest_assessment

    group = meeting.group if meeting else None
    parents = variant == Variant.PARENTS
    ids = record_ids(child)
    now = timezone.now()
    content = PackContent(
        variant=variant,
        child_name=child.full_name,
        child_born=_day(child.date_of_birth),
        child_nhs=child.nhs_number or "not recorded",
        area=str(child.area or ""),
        meeting_on=_day(meeting.held_on) if meeting else "no meeting",
        plan=(group.get_plan_display() + (f" ({group.category})" if group.category else "")) if group else "none",
        chair=str(group.chair) if group else "",
        printed_as_of=timezone.localtime(now).strftime("%d %b %Y %H:%M"),
    )
    if variant == Variant.RESTRICTED:
        content.restricted_for = f"{reader_agency.name}'s people" if reader_agency else "the area's safeguarding leads"
        content.restricted_shown = f"recorded by {reader_agency.name}" if reader_agency else "of every agency"
    if not parents:
        snapshot = latest_assessment(child)
        if snapshot is not None:
            content.level = {
                "level": snapshot.level,
                "name": snapshot.level_name,
                "score": f"{snapshot.score:g}",
                "as_of": _day(snapshot.as_of),
                "toxic_trio": [
                    (label, bool(snapshot.toxic_trio.get(key)))
                    for key, label in (
                        ("domestic_abuse", "Domestic abuse"),
                        ("mental_health", "Parental mental ill health"),
                        ("substance_misuse", "Substance misuse"),
                    )
                ],
                "flags": [FLAG_WORDS.get(f, f.replace("_", " ")) for f in snapshot.flags],
                "reasons": [(r["text"], f"{r['points']:g}", len(r.get("events", []))) for r in snapshot.reasons],
            }
    people = Person.objects.filter(children__in=ids).distinct().order_by("role", "family_name")
    for person in people:
        if parents and person.role in CHILD_ROLES:
            continue
        content.household.append(
            {
                "name": f"{person.given_name} {person.family_name}".strip(),
                "role": v.PERSON_ROLES.get(person.role, person.role),
                "relationship": person.relationship,
                "factors": "" if parents else ", ".join(person.factors),
            }
        )
    withheld = []
    for address in Address.objects.filter(child_id__in=ids).order_by("-moved_in"):
        if parents and address.pk in omitted_addresses:
            withheld.append(address.address)
            continue
        moved = f" (from {_day(address.moved_in)})" if address.moved_in else ""
        content.addresses.append(f"{address.address.replace(chr(10), ', ')} {address.postcode}".strip() + moved)
    for involvement in (
        Involvement.objects.active(now=now)
        .filter(child_id__in=ids)
        .select_related("agency", "practitioner")
        .order_by("agency__name")
    ):
        user = involvement.practitioner
        content.agencies.append(
            {
                "agency": involvement.agency.name,
                "name": str(user) if user else "The agency's team",
                "role": (user.job_title if user else "") or involvement.get_reason_display(),
                "contact": " ".join(filter(None, [user.email, user.phone])) if user else "",
            }
        )
    progress = {p.action_id: p for p in ActionProgress.objects.filter(meeting=meeting)} if meeting else {}
    for action in group.actions.select_related("owner").order_by("number") if group else []:
        p = progress.get(action.pk)
        content.actions.append(
            {
                "number": action.number,
                "description": action.description,
                "owner": str(action.owner),
                "due": _day(action.due_on),
                "status": (p.get_status_display() if p else action.get_status_display()),
                "expected": action.expected_impact,
                "observed": (p.observed_impact if p and p.observed_impact else action.observed_impact),
                "progress": p.progress if p else "",
            }
        )
    previous = (
        Meeting.objects.filter(group=group, held_on__lt=meeting.held_on).order_by("-held_on", "-pk").first()
        if meeting
        else None
    )
    since = previous.held_on if previous else (group.started_on if group else timezone.localdate())
    content.new_since = _day(since)
    if previous is None:
        content.new_since_what = "the core group began" if group else "today"
    if parents:
        content.omitted = [
            "the indicated level and its reasons",
            "entries with restricted sharing",
            "what anonymous people and neighbours reported",
            "other children's details",
        ] + ([f"{len(withheld)} address{'es' if len(withheld) != 1 else ''} the chair marked"] if withheld else [])
    shown = (reader_agency.pk if reader_agency else ALL_AGENCIES) if variant == Variant.RESTRICTED else None
    content.rows = list(_rows(ids, variant, since if meeting else None, withheld, shown, late=previous is not None))
    content.new_rows = [row for row in content.rows if row.new]
    return content


ALL_AGENCIES = "all"


def _rows(ids: list[int], variant: str, since: date | None, withheld: list[str], shown=None, *, late=True):
    """shown: whose restricted entries are printed in full (an agency's id, ALL_AGENCIES, or None). late: whether
    an older event recorded since `since` is new too (since a last meeting; not at a first one, where the whole
    history recorded when the group formed would otherwise be "new")."""
    parents = variant == Variant.PARENTS
    events = (
        Event.objects.filter(child_id__in=ids)
        .filter(on_chronology_q())
        .select_related("agency")
        .order_by("occurred_on", "pk")
    )
    if variant == Variant.SIGNIFICANT:
        events = events.filter(significant=True)
    superseded = superseded_ids(list(events.values_list("pk", flat=True)))
    for e in events.iterator(chunk_size=2000):
        if e.pk in superseded:
            continue
        restricted = e.sharing == "restricted"
        if parents and (restricted or e.information_source in WITHHELD_SOURCES):
            continue
        summary = e.summary
        in_full = restricted and shown is not None and (shown == ALL_AGENCIES or shown == e.agency_id)
        placeholder = restricted and not in_full
        if placeholder:
            summary = f"Restricted entry: {e.agency.name} holds the detail; ask them, or read it online if you may."
        if parents:
            summary = _withhold(summary, withheld)
        shortened = len(summary) > SUMMARY_LIMIT
        if shortened:
            summary = summary[:SUMMARY_LIMIT].rsplit(" ", 1)[0] + "..."
        yield Row(
            when=_day(e.occurred_on),
            agency=e.agency.name,
            kind=v.EVENT_TYPES.get(e.type, e.type),
            summary=summary,
            seen={True: "Yes", False: "No"}.get(e.child_seen, ""),
            source=v.INFORMATION_SOURCES.get(e.information_source, e.information_source),
            significant=e.significant,
            # New to the group: it happened, or (after a first meeting) was recorded here, since its last meeting.
            new=since is not None
            and (e.occurred_on >= since or (late and e.recorded_at is not None and e.recorded_at.date() >= since)),
            shortened=shortened,
            placeholder=placeholder,
            restricted=in_full,
        )
