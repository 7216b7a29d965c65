"""The screenshots in docs/guide/: each role signs in through the real forms and visits the pages its guide
describes. Every screenshot is taken only after the page shows what the guide says it shows, so a broken page
fails here instead of becoming a wrong picture.

Regenerate the images with:

    DATABASE_URL=postgres://... .venv/bin/python -m pytest -p no:cacheprovider tests/browser/test_guide.py
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone
from playwright.sync_api import expect

from agencies.models import AgencyKind, ExceptionalAccessKind, InvolvementReason, Role, User
from agencies.services import exceptional_access_open
from chronology.home import chronology_visit
from chronology.models import Child
from chronology.services import EventInput, event_record
from coregroups import services as coregroups
from coregroups.models import CoreGroup, Meeting, MemberKind, Pack, Presence, Safer
from escalation.models import Alert, AlertState
from tests.factories import ChildFactory, involve, persona
from tests.helpers import REPO

pytestmark = [pytest.mark.external, pytest.mark.usefixtures("eager")]

IMAGES = REPO / "docs" / "guide" / "images"
VIEWPORT = {"width": 1000, "height": 800}
MAX_BYTES = 250_000


@dataclass
class World:
    hana: User  # health visitor: a practitioner
    sam: User  # school teacher: a practitioner in another agency
    dara: User  # health visiting's designated safeguarding lead
    cara: User  # social worker who chairs Kit's core group
    lena: User  # the area's safeguarding lead
    ade: User  # the area's auditor
    kit: Child  # on a child protection plan; the school has added two entries since Hana last looked
    noor: Child  # a baby with a bruise: a critical alert
    zed: Child  # opened by break-glass
    group: CoreGroup
    meeting: Meeting


def named(username, agency_code, kind, first, last, job_title, *roles) -> User:
    user = persona(username, agency_code, kind, *roles)
    user.first_name, user.last_name, user.job_title = first, last, job_title
    user.save()
    user.agency.name = {
        "agency-hv": "Northshire Health Visiting",
        "agency-school": "Brookfield Primary School",
        "agency-csc": "Northshire Children's Social Care",
    }[agency_code]
    user.agency.save()
    return user


def record(child, user, day: datetime.date, kind: str, summary: str, **extra):
    return event_record(
        actor=user,
        child=child,
        data=EventInput(occurred_on=day, agency=user.agency, type=kind, summary=summary, **extra),
    )


def build_world() -> World:
    hv, school, csc = AgencyKind.HEALTH_VISITING, AgencyKind.SCHOOL, AgencyKind.CHILDRENS_SOCIAL_CARE
    hana = named("hana", "agency-hv", hv, "Hana", "Invented", "Health visitor", Role.PRACTITIONER)
    sam = named("sam", "agency-school", school, "Sam", "Invented", "Class teacher", Role.PRACTITIONER)
    dara = named("dara", "agency-hv", hv, "Dara", "Invented", "Named nurse", Role.DESIGNATED_SAFEGUARDING_LEAD)
    cara = named(
        "cara", "agency-csc", csc, "Cara", "Invented", "Social worker", Role.PRACTITIONER, Role.CORE_GROUP_CHAIR
    )
    lena = named("lena", "agency-csc", csc, "Lena", "Invented", "Safeguarding lead", Role.AREA_SAFEGUARDING_LEAD)
    ade = named("ade", "agency-csc", csc, "Ade", "Invented", "Auditor", Role.AUDITOR)

    today = timezone.localdate()
    kit = ChildFactory(given_name="Kit", family_name="Invented", nhs_number="9991234519")
    noor = ChildFactory(given_name="Noor", family_name="Invented", date_of_birth=today - datetime.timedelta(days=70))
    zed = ChildFactory(given_name="Zed", family_name="Invented", nhs_number="9991234500")
    for user in (hana, sam, cara):
        involve(kit, user, days_ago=90)
    involve(noor, hana)
    # A practitioner who found a child and recorded information: their lead confirms the involvement.
    rae = ChildFactory(given_name="Rae", family_name="Invented")
    colleague = named("jo", "agency-hv", hv, "Jo", "Invented", "Community nursery nurse", Role.PRACTITIONER)
    involve(rae, colleague, reason=InvolvementReason.RECORDED_INFORMATION, days_ago=2)

    # Three hours ago: the chronology as Hana last saw it.
    earlier = timezone.now() - datetime.timedelta(hours=3)
    with time_machine.travel(earlier, tick=False):
        day = today - datetime.timedelta(days=40)
        record(kit, hana, day, "home_visit", "New birth visit to Kit's sibling: Kit seen; the flat was cold.")
        record(kit, sam, day + datetime.timedelta(days=6), "school_absence", "Kit absent; no call from home.")
        record(
            kit,
            cara,
            day + datetime.timedelta(days=12),
            "home_visit",
            "Child protection visit: Kit seen alone, said she was hungry at weekends.",
            child_seen=True,
            child_seen_alone=True,
        )
        record(
            kit,
            hana,
            day + datetime.timedelta(days=15),
            "was_not_brought",
            "Kit was not brought to her development review; mother did not answer the phone.",
        )
        record(
            kit,
            sam,
            day + datetime.timedelta(days=18),
            "disclosure",
            "Kit told her teacher there is often no breakfast and she looks after her baby brother after school.",
            child_seen=True,
        )
        record(
            kit,
            cara,
            day + datetime.timedelta(days=20),
            "home_conditions_concern",
            "Little food in the cupboards; Kit's bed had no sheets and the heating was off.",
            child_seen=True,
        )
        group = coregroups.core_group_start(
            actor=cara,
            child=kit,
            plan="cp",
            category="neglect",
            started_on=today - datetime.timedelta(days=30),
            chair=cara,
        )
        coregroups.member_add(actor=cara, group=group, kind=MemberKind.PROFESSIONAL, user=hana)
        coregroups.member_add(actor=cara, group=group, kind=MemberKind.PROFESSIONAL, user=sam)
        coregroups.member_add(actor=cara, group=group, kind=MemberKind.PARENT, name="Jo Parent", relationship="Mother")
        coregroups.action_add(
            actor=cara,
            group=group,
            description="Health visitor visits weekly and weighs Kit.",
            owner=group.members.get(user=hana),
            due_on=today + datetime.timedelta(days=28),
            expected_impact="Kit's weight back on the 25th centile.",
        )
        coregroups.action_add(
            actor=cara,
            group=group,
            description="School offers Kit a place at breakfast club.",
            owner=group.members.get(user=sam),
            due_on=today - datetime.timedelta(days=2),
            expected_impact="Kit starts the school day fed.",
        )
        with transaction.atomic():  # as the chronology page does
            chronology_visit(user=hana, child=kit, now=earlier + datetime.timedelta(minutes=5))

    visits, breakfast = group.actions.order_by("pk")
    data = coregroups.MeetingInput(
        held_on=today - datetime.timedelta(days=1),
        child_view="Kit said she likes her teacher and wants her mum to come to the school play.",
        safer=Safer.PARTLY,
        safer_evidence="Kit seen at home weekly by the health visitor; the flat was warm at the last two visits.",
        decisions="Continue the plan; the school to offer Kit a breakfast club place this week.",
        next_meeting_on=today + datetime.timedelta(days=27),
        attendance={m.pk: Presence.PRESENT for m in group.members.all()},
        family_views={
            m.pk: "The visits help. I am tired and money is short."
            for m in group.members.all()
            if m.kind == MemberKind.PARENT
        },
        progress={
            visits.pk: ("in_progress", "Four weekly visits done; Kit's weight is steady.", "Kit has gained 300 g."),
            breakfast.pk: ("not_started", "The club had no place until this week.", ""),
        },
    )
    meeting = coregroups.meeting_record(actor=cara, group=group, data=data)
    coregroups.pack_request(actor=cara, meeting=meeting, variant="full")

    # Since Hana last looked, the school has added two entries.
    absent = "Kit absent; no call from home, and no answer when the school rang."
    record(kit, sam, today - datetime.timedelta(days=3), "school_absence", absent)
    record(
        kit,
        sam,
        today - datetime.timedelta(days=1),
        "presentation_concern",
        "Kit came to school without a coat in the rain and said there was no food at home.",
        child_seen=True,
        factors=["16A"],
    )
    # A baby not yet mobile with a bruise: a critical alert for the health visitors' lead and the area's leads.
    record(
        noor,
        hana,
        today,
        "injury",
        "Bruise on the cheek seen at the baby clinic; mother says the baby rolled into the cot side.",
        details={"injury_kind": "bruise"},
    )
    # An emergency opening, for the area lead and the auditor to review.
    exceptional_access_open(
        actor=sam,
        child=zed,
        kind=ExceptionalAccessKind.BREAK_GLASS,
        reason="Zed arrived at school with an adult we do not know, who says the parents are in hospital.",
    )
    return World(hana, sam, dara, cara, lena, ade, kit, noor, zed, group, meeting)


@pytest.fixture
def world(transactional_db):
    return build_world()


def shot(target, name: str, **options) -> None:
    """Write docs/guide/images/<name>.png."""
    target.screenshot(path=IMAGES / f"{name}.png", **options)


def shot_between(page, top, bottom, name: str) -> None:
    """A full-width picture of the page from the top of one element to the bottom of another."""
    first, last = top.bounding_box(), bottom.bounding_box()
    scroll = page.evaluate("window.scrollY")
    y = first["y"] + scroll - 15
    height = last["y"] + scroll + last["height"] + 4 - y
    shot(page, name, full_page=True, clip={"x": 0, "y": y, "width": VIEWPORT["width"], "height": height})


def test_the_guide_screenshots(live_server, browser, sign_in_as, world):
    IMAGES.mkdir(parents=True, exist_ok=True)
    url = live_server.url
    w = world

    def signed_in(user):
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        sign_in_as(page, user)
        return context, page

    def h1(page):
        return page.get_by_role("heading", level=1)

    # --- practitioner ---
    context, page = signed_in(w.hana)
    expect(h1(page)).to_have_text("Welcome, Hana Invented")
    mine = page.locator("section[aria-labelledby=my-children-heading]")
    expect(mine).to_contain_text("2 new entries from other agencies")
    expect(mine.locator("tr", has_text="Kit Invented")).to_contain_text("2 new")
    expect(mine.locator("tr", has_text="Noor Invented")).to_contain_text("Not opened yet")
    expect(page.locator("section[aria-labelledby=my-actions-heading]")).to_contain_text("Kit Invented: action 1")
    shot(page, "practitioner-home", full_page=True)

    mine.get_by_role("link", name="Kit Invented").first.click()
    expect(h1(page)).to_have_text("Kit Invented")
    expect(page.get_by_text("2 entries were added by others since your last visit")).to_be_visible()
    new = page.locator(".jigsaw-entry", has=page.locator(".jigsaw-new-tag"))
    expect(new).to_have_count(2)
    expect(new.filter(has_text="without a coat")).to_have_count(1)
    # Newest first, as most people read it: the new entries at the top, still marked on this visit.
    page.get_by_role("link", name="show the newest first").click()
    entries = page.locator(".jigsaw-entry")
    expect(entries.first).to_contain_text("without a coat")
    expect(entries.first.locator(".jigsaw-new-tag")).to_have_text("New since you last looked")
    expect(new).to_have_count(2)
    filters = page.locator("details", has_text="Filter the chronology")
    if filters.get_attribute("open") is not None:  # choosing the order opens the filters: close them for the picture
        filters.locator("summary").click()
        page.evaluate("document.activeElement.blur()")
    expect(filters.get_by_role("button", name="Apply filters")).to_be_hidden()
    shot_between(page, page.locator("#chronology"), entries.nth(2), "practitioner-chronology-new")

    page.get_by_role("link", name="Record an event").first.click()
    expect(h1(page)).to_contain_text("Record an event")
    page.get_by_label("What kind of event is this?").select_option("home_visit")
    when = page.get_by_role("group", name="When did it happen?")
    today = timezone.localdate()
    for label, value in (("Day", today.day), ("Month", today.month), ("Year", today.year)):
        when.get_by_label(label, exact=True).fill(str(value))
    page.get_by_label("What happened").fill("Weekly visit: Kit seen and weighed; the flat was warm today.")
    page.evaluate("document.activeElement.blur()")
    expect(when.get_by_label("Year", exact=True)).to_have_value(str(today.year))
    happened = page.locator(".govuk-form-group", has=page.get_by_label("What happened")).last
    shot_between(page, page.locator("header").first, happened, "practitioner-record-event")

    page.goto(f"{url}/children/find")
    page.get_by_label("NHS number").fill("999 123 4500")
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("heading", name="1 child found")).to_be_visible()
    expect(page.get_by_role("button", name="Record information about Zed")).to_be_visible()
    expect(page.get_by_text("Open this record in an emergency (break-glass)")).to_be_visible()
    shot(page, "practitioner-find-child", full_page=True)
    context.close()

    # --- designated safeguarding lead ---
    # The guide's words name these numbers: Noor's critical alert, and two high alerts for Kit (her level rose to
    # 3, and cumulative neglect). Health visiting works with both children.
    alert = Alert.objects.get(child=w.noor)
    agency_open = 3
    assert Alert.objects.filter(child=w.kit, severity="high").exclude(state=AlertState.CLOSED).count() == 2
    context, page = signed_in(w.dara)
    queue = page.locator("section[aria-labelledby=queue-heading]")
    expect(queue).to_contain_text("Your agency's escalation queue")
    expect(queue.get_by_role("link", name=f"{agency_open} open alerts")).to_be_visible()
    expect(queue.get_by_role("link", name="1 involvement to confirm")).to_be_visible()
    high = page.locator("section[aria-labelledby=high-level-heading]")
    expect(high.get_by_role("link", name="2 children")).to_be_visible()
    expect(high.locator("li", has_text="Kit Invented")).to_contain_text("Level 3")
    expect(high.locator("li", has_text="Noor Invented")).to_contain_text("Level 4")
    expect(page.locator("section[aria-labelledby=my-alerts-heading]")).to_contain_text("Noor Invented: Critical alert")
    shot(page, "dsl-home", full_page=True)

    queue.get_by_role("link", name=f"{agency_open} open alerts").click()
    expect(h1(page)).to_have_text("Alerts and escalations")
    expect(page.get_by_role("table", name=f"{agency_open} alerts")).to_be_visible()
    row = page.locator("tbody tr", has_text="Noor Invented")
    expect(row).to_contain_text("Critical")
    expect(page.locator("tbody tr", has_text="Kit Invented")).to_have_count(2)
    expect(page.locator("tbody tr", has_text="Cumulative neglect")).to_contain_text("High")
    shot(page, "dsl-alert-queue", full_page=True)

    row.get_by_role("link", name="Noor Invented").click()
    expect(h1(page)).to_have_text(alert.title)
    expect(page.get_by_text("Reasons and the entries behind them")).to_be_visible()
    expect(page.locator("main")).to_contain_text("indicated level rose from 1 to 4")
    acknowledge = page.get_by_role("button", name="Acknowledge this alert")
    shot_between(page, page.locator("header").first, acknowledge, "dsl-alert")

    page.goto(f"{url}/involvements/to-confirm")
    expect(page.locator("main tr", has_text="Rae Invented")).to_contain_text("Jo Invented")
    shot(page, "dsl-involvements-to-confirm", full_page=True)

    page.goto(f"{url}/children/?level=3-plus")
    expect(h1(page)).to_have_text("Children at indicated level 3 or above")
    expect(page.locator("main table")).to_contain_text("Noor Invented")
    expect(page.locator("main table")).to_contain_text("Kit Invented")
    shot(page, "dsl-children-by-level", full_page=True)
    context.close()

    # --- core group chair ---
    context, page = signed_in(w.cara)
    chair = page.locator("section[aria-labelledby=chair-heading]")
    expect(chair).to_contain_text("Core groups you chair")
    expect(chair.get_by_role("link", name="Kit Invented").first).to_be_visible()
    expect(chair).to_contain_text("Overdue")
    expect(chair).to_contain_text("Full chronology, version 1")
    shot(page, "chair-home", full_page=True)

    page.goto(f"{url}/core-groups/{w.group.pk}/")
    expect(h1(page)).to_have_text("Core group")
    expect(page.locator("main")).to_contain_text("School offers Kit a place at breakfast club")
    expect(page.locator("main")).to_contain_text("No deputy")
    shot(page, "chair-core-group", full_page=True)

    page.goto(f"{url}/meetings/{w.meeting.pk}/")
    expect(h1(page)).to_have_text(f"Core group meeting of {w.meeting.held_on:%-d %B %Y}")
    expect(page.locator("main")).to_contain_text("Continue the plan; the school to offer Kit a breakfast club place")
    expect(page.locator("main")).to_contain_text("Partly")
    shot_between(page, page.locator("header").first, page.locator("main table").nth(1), "chair-meeting")
    card = page.locator(f"#pack-{Pack.objects.get(meeting=w.meeting).pk}")
    expect(card).to_contain_text("Full chronology: version 1")
    expect(card.get_by_role("button", name="Issue me a copy")).to_be_visible()
    shot_between(page, page.get_by_role("heading", name="Chronology packs"), card, "chair-meeting-packs")
    context.close()

    # --- area safeguarding lead ---
    context, page = signed_in(w.lena)
    levels = page.locator("section[aria-labelledby=levels-heading]")
    expect(levels).to_contain_text("Children you can open, by indicated level")
    for name in ("1 child at level 3", "1 child at level 4", "2 children not yet assessed"):
        expect(levels.get_by_role("link", name=name)).to_be_visible()
    expect(
        page.locator("section[aria-labelledby=queue-heading]").get_by_role("link", name="4 open alerts")
    ).to_be_visible()
    expect(page.locator("section[aria-labelledby=reviews-heading]")).to_contain_text("1 break-glass opening")
    shot(page, "area-lead-home", full_page=True)

    page.goto(f"{url}/alerts/")
    expect(h1(page)).to_have_text("Alerts and escalations")
    expect(page.get_by_role("table", name="4 alerts")).to_be_visible()
    expect(page.locator("tbody tr", has_text="Noor Invented")).to_contain_text("Critical")
    expect(page.locator("tbody tr", has_text="Zed Invented")).to_contain_text("High")
    shot(page, "area-lead-alert-queue", full_page=True)

    page.get_by_role("link", name="Home").click()
    levels.get_by_role("link", name="1 child at level 4").click()
    expect(h1(page)).to_have_text("Children at indicated level 4")
    expect(page.locator("main table")).to_contain_text("Noor Invented")
    shot(page, "area-lead-children-by-level", full_page=True)
    context.close()

    # --- auditor ---
    context, page = signed_in(w.ade)
    reviews = page.locator("section[aria-labelledby=reviews-heading]")
    expect(reviews.get_by_role("link", name="1 break-glass opening")).to_be_visible()
    shot(page, "auditor-home", full_page=True)

    reviews.get_by_role("link", name="1 break-glass opening").click()
    expect(h1(page)).to_have_text("Break-glass and audit openings to review")
    expect(page.locator("main")).to_contain_text("Zed Invented")
    expect(page.locator("main")).to_contain_text("Sam Invented")
    shot(page, "auditor-access-reviews", full_page=True)

    page.goto(f"{url}/audit/access-log")
    expect(h1(page)).to_have_text("Access log")
    log = page.locator("main table").first
    expect(log).to_contain_text("Hana Invented")
    expect(log).to_contain_text("Own involvement")
    shot_between(page, page.locator("header").first, log, "auditor-access-log")
    context.close()

    # Small enough to sit in the repository.
    oversized = {p.name: p.stat().st_size for p in IMAGES.glob("*.png") if p.stat().st_size >= MAX_BYTES}
    assert not oversized, f"clip these: {oversized}"
