"""A core group chair records a meeting (the form refuses it once, with every problem listed) and requests the
chronology pack, then sees it ready; a second pack, left for a worker, shows its progress until it is done."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from agencies.models import Role
from coregroups import services
from coregroups.models import Meeting, MemberKind, Pack, PackState
from tests.factories import UserFactory, involve

pytestmark = [pytest.mark.external, pytest.mark.usefixtures("eager")]


@pytest.fixture
def chair(kit):
    """A social worker who chairs kit's core group."""
    user = UserFactory(
        username="chair",
        first_name="Cara",
        last_name="Chair",
        agency__code="agency-csc",
        roles=[Role.PRACTITIONER, Role.CORE_GROUP_CHAIR],
    )
    user.job_title = "Social worker"
    user.save()
    involve(kit, user)
    return user


@pytest.fixture
def named_group(kit, alice, chair):
    """kit's core group, with people named as they would be (member names are taken when they join)."""
    alice.first_name, alice.last_name = "Alice", "Invented"
    alice.save()
    group = services.core_group_start(
        actor=chair,
        child=kit,
        plan="cp",
        category="neglect",
        started_on=timezone.localdate() - datetime.timedelta(days=60),
        chair=chair,
    )
    services.member_add(actor=chair, group=group, kind=MemberKind.PROFESSIONAL, user=alice)
    services.member_add(actor=chair, group=group, kind=MemberKind.PARENT, name="Jo Invented", relationship="Mother")
    services.action_add(
        actor=chair,
        group=group,
        description="Health visitor visits weekly and weighs Kit.",
        owner=group.members.get(user=alice),
        due_on=timezone.localdate() + datetime.timedelta(days=60),
        expected_impact="Kit's weight back on the 25th centile.",
    )
    return group


def fill_date(page, legend: str, day: datetime.date) -> None:
    group = page.get_by_role("group", name=legend)
    group.get_by_label("Day", exact=True).fill(str(day.day))
    group.get_by_label("Month", exact=True).fill(str(day.month))
    group.get_by_label("Year", exact=True).fill(str(day.year))


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_a_chair_records_a_meeting_and_requests_the_pack(
    transactional_db, live_server, browser, sign_in_as, screenshot_dir, kit, alice, chair, named_group, javascript
):
    from config.celery import app

    suffix = "js" if javascript else "nojs"
    context = browser.new_context(java_script_enabled=javascript, viewport={"width": 1100, "height": 900})
    page = context.new_page()
    sign_in_as(page, chair)

    page.goto(f"{live_server.url}/children/{kit.pk}/")
    panel = page.locator("section.jigsaw-core-group")
    expect(panel).to_contain_text("Child protection plan (neglect)")
    expect(panel).to_contain_text("Cara Chair")
    panel.get_by_role("link", name="The core group: members, plan actions and meetings").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Core group")
    page.screenshot(path=screenshot_dir / f"core-group-{suffix}.png", full_page=True)
    page.get_by_role("link", name="Record a meeting").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Record a core group meeting")

    held = timezone.localdate() - datetime.timedelta(days=1)
    fill_date(page, "When was the meeting?", held)
    page.get_by_role("button", name="Record the meeting").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    for words in (
        "Record whether Jo Invented was present, sent apologies or was absent",
        "Record the child's views, or why they could not be gathered",
        "Record what Jo Invented said, or that they gave no view",
        "Record progress on action 1: say what happened",
        "Say whether the group judges the child safer",
        "Record the decisions",
    ):
        expect(summary).to_contain_text(words)
    page.screenshot(path=screenshot_dir / f"core-group-meeting-errors-{suffix}.png", full_page=True)
    assert not Meeting.objects.exists()
    # the summary's links take the keyboard to the field; what was typed is still there
    summary.get_by_role("link", name="Record the child's views, or why they could not be gathered").click()
    views = page.get_by_label("The child's views")
    if javascript:
        expect(views).to_be_focused()
    expect(page.get_by_role("group", name="When was the meeting?").get_by_label("Day", exact=True)).to_have_value(
        str(held.day)
    )

    for member, presence in (
        (f"Cara Chair ({chair.agency.name})", "Present"),
        (f"Alice Invented ({alice.agency.name})", "Apologies"),
        ("Jo Invented (parent)", "Present"),
    ):
        page.get_by_role("group", name=member).get_by_label(presence, exact=True).check()
    views.fill("Kit said she likes her new bed and wants her mum to come to the school play.")
    page.get_by_label("What Jo Invented said (mother)").fill("Jo said the weekly visits help and she is tired.")
    page.get_by_role("group", name="Status of action 1").get_by_label("In progress", exact=True).check()
    page.get_by_label("What happened on action 1").fill("Four weekly visits done; Kit's weight is stable.")
    page.get_by_label("Observed impact of action 1 on the child (optional)").fill("Kit has gained 300 g.")
    page.get_by_role("group", name="Does the core group judge the child safer since the last meeting?").get_by_label(
        "Partly", exact=True
    ).check()
    page.get_by_label("On what evidence?").fill("Seen at home weekly by the health visitor; nursery attendance 95%.")
    page.get_by_label("Decisions").fill("Continue the plan; review the nursery place in four weeks.")
    fill_date(page, "When is the next meeting? (optional)", held + datetime.timedelta(days=28))
    page.get_by_role("button", name="Record the meeting").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Core group meeting of {held:%-d %B %Y}")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("recorded")
    meeting = Meeting.objects.get()
    expect(page.locator("#attendance")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("Kit said she likes her new bed")
    page.screenshot(path=screenshot_dir / f"core-group-meeting-{suffix}.png", full_page=True)

    # the pack renders in this process when asked (the embedded default), so it is ready at once
    page.get_by_role("button", name="Request a new pack of the full chronology").click()
    pack = Pack.objects.get()
    card = page.locator(f"#pack-{pack.pk}")
    expect(card).to_contain_text("Full chronology: version 1")
    expect(card.locator(".govuk-tag")).to_have_text("Ready")
    expect(card).to_contain_text(pack.sha256)
    expect(card.get_by_role("button", name="Issue me a copy")).to_be_visible()
    card.scroll_into_view_if_needed()
    page.screenshot(path=screenshot_dir / f"core-group-pack-ready-{suffix}.png", full_page=True)

    # a pack left for the pack worker: the page shows its progress, and then that it is ready
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False  # queued on the in-memory broker, where no worker takes it
    try:
        page.get_by_role("button", name="Request a new pack of significant events only").click()
    finally:
        app.conf.task_always_eager = previous
    waiting = Pack.objects.get(variant="significant")
    assert waiting.state == PackState.QUEUED
    card = page.locator(f"#pack-{waiting.pk}")
    expect(card).to_contain_text("Waiting to be rendered")
    expect(card.locator("progress")).to_be_visible()
    page.screenshot(path=screenshot_dir / f"core-group-pack-waiting-{suffix}.png", full_page=True)
    if javascript:
        page.evaluate("window.notReloaded = true")
    services.pack_render_now(pack_id=waiting.pk)  # what the pack worker does
    if not javascript:
        card.get_by_role("link", name="Refresh").click()
    expect(card.locator(".govuk-tag")).to_have_text("Ready", timeout=10_000)
    expect(card).to_contain_text(Pack.objects.get(pk=waiting.pk).sha256)
    if javascript:
        assert page.evaluate("window.notReloaded") is True  # updated in place
    assert meeting.packs.count() == 2
    context.close()


def test_the_chair_reviews_the_copy_for_parents_page_by_page_then_issues_it(
    transactional_db, live_server, browser, sign_in_as, screenshot_dir, kit, alice, chair, named_group
):
    from chronology.models import Address
    from tests.coregroups.conftest import entry, meeting_input

    refuge = Address.objects.create(child=kit, address="Flat 2, Refuge House\nHidden Road", postcode="ZZ1 1ZZ")
    entry(kit, alice, 5, "Kit and her mum are staying at Refuge House; Kit was seen and was well.")
    meeting = services.meeting_record(actor=chair, group=named_group, data=meeting_input(named_group))
    context = browser.new_context(viewport={"width": 1100, "height": 900}, accept_downloads=True)
    page = context.new_page()
    # The test server shares one in-memory SQLite connection between its threads, so two images loading at once
    # would collide there: page 1's image is loaded here, the other pages' images in tests/coregroups.
    page.route(re.compile(r".*/pages/([2-9]|[1-9][0-9]+)\.png$"), lambda route: route.abort())
    sign_in_as(page, chair)
    page.goto(f"{live_server.url}/meetings/{meeting.pk}/")
    parents = page.locator("#packs-parents")
    parents.get_by_label("Flat 2, Refuge House").check()
    parents.get_by_role("button", name="Request a new pack for parents").click()
    pack = Pack.objects.get(variant="parents")
    assert pack.omitted_addresses == [refuge.pk]
    card = page.locator(f"#pack-{pack.pk}")
    expect(card).to_contain_text("Not signed off")
    expect(card.get_by_role("button", name="Issue me a copy")).to_have_count(0)
    card.get_by_role("link", name="Review the copy for parents page by page").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Review the copy for parents, version 1")
    first = page.locator("#page-1 img")
    first.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => { const i = document.querySelector('#page-1 img'); return i.complete && i.naturalWidth }"
    )
    assert first.evaluate("img => img.naturalWidth") == 702  # A4 landscape at 60 dots an inch
    page.screenshot(path=screenshot_dir / "core-group-parent-copy-review.png", full_page=True)
    for n in range(1, pack.pages + 1):
        page.get_by_role("button", name=f"I have read page {n}").click()
        expect(page.locator(f"#page-{n}")).to_contain_text("Read")
    page.get_by_role("button", name="Sign off the copy for parents").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("signed off")
    with page.expect_download() as download:
        page.locator(f"#pack-{pack.pk}").get_by_role("button", name="Issue me a copy").click()
    assert download.value.suggested_filename.endswith("-parents-v1-copy1.pdf")
    page.reload()  # the copy was a download: the page itself stayed as it was
    expect(page.locator(f"#pack-{pack.pk}")).to_contain_text(f"Signed off by {chair}")
    expect(page.locator(f"#pack-{pack.pk} table")).to_contain_text("Cara Chair")
    page.locator(f"#pack-{pack.pk}").scroll_into_view_if_needed()
    page.screenshot(path=screenshot_dir / "core-group-parent-copy-issued.png", full_page=True)
    context.close()
