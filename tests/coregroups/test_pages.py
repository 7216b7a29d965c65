"""The core group pages: who may reach each one, and a chair's way through them, from starting the group to
issuing a copy of the pack (and the copy for parents only after every page is read and signed off)."""

from __future__ import annotations

import datetime
import hashlib
import html
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from agencies.models import AccessChannel, AccessLog
from chronology.models import Address
from coregroups import services
from coregroups.models import (
    ActionStatus,
    CoreGroup,
    Meeting,
    Member,
    MemberKind,
    Pack,
    PackCopy,
    PackState,
    PlanAction,
    Presence,
    Variant,
)
from tests.coregroups.conftest import entry, meeting_input
from tests.factories import give_second_factor
from tests.helpers import readable

PERSONAS = ["alice", "ann", "bob", "dsl", "lead", "edt", "auditor", "admin", "chair", "anonymous"]


def signed_in(user) -> Client:
    client = Client()
    if user is None:
        return client
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = give_second_factor(user).persistent_id
    session.save()
    return client


def text(response) -> str:
    """The page as a reader sees its words: entities decoded, white space collapsed."""
    return " ".join(html.unescape(response.content.decode()).split())


def day_fields(prefix: str, day: datetime.date | None) -> dict:
    if day is None:
        return {f"{prefix}_day": "", f"{prefix}_month": "", f"{prefix}_year": ""}
    return {f"{prefix}_day": day.day, f"{prefix}_month": day.month, f"{prefix}_year": day.year}


def options(page: str, select: str) -> set[str]:
    body = re.search(rf'<select name="{select}".*?</select>', page, re.S).group(0)
    return set(re.findall(r'<option value="([^"]*)"', body))


def png_width(data: bytes) -> int:
    return int.from_bytes(data[16:20], "big")


def hashes_in(page: str) -> set[str]:
    """The SHA-256 values a page shows: each in full, broken only by <wbr> where it may wrap."""
    return set(re.findall(r"\b[0-9a-f]{64}\b", page.replace("<wbr>", "")))


@pytest.fixture
def action(group, chair, alice):
    return services.action_add(
        actor=chair,
        group=group,
        description="Health visitor visits weekly and weighs Kit.",
        owner=group.members.get(user=alice),
        due_on=timezone.localdate() + datetime.timedelta(days=60),
        expected_impact="Kit's weight back on the 25th centile.",
    )


@pytest.fixture
def meeting(group, chair, action):
    return services.meeting_record(actor=chair, group=group, data=meeting_input(group))


def ready_pack(chair, meeting, variant, capture, **extra) -> Pack:
    with capture(execute=True):
        pack = services.pack_request(actor=chair, meeting=meeting, variant=variant, **extra)
    pack = Pack.objects.get(pk=pack.pk)
    assert pack.state == PackState.READY, pack.error
    return pack


# --- who may reach each page --------------------------------------------------------------------


def only(allowed: dict[str, int], others: int = 404) -> dict[str, int]:
    return {**dict.fromkeys(PERSONAS, others), "anonymous": 302, **allowed}


def everyone(status: int) -> dict[str, int]:
    return {**dict.fromkeys(PERSONAS, status), "anonymous": 302}


# What each persona gets on GET. kit's core group is chaired by `chair` (a social worker); alice is a member;
# the lead is the area's safeguarding lead, who manages any core group in the area; dsl and edt read kit's record
# but are not members. One meeting, a ready full pack with a copy issued to the chair, a ready copy for parents.
EXPECTED = {
    # kit already has a core group: those who may start one are taken to it
    "core-group-new": only({"chair": 302, "alice": 302, "dsl": 302, "lead": 302, "edt": 403}),
    "core-group": only({"chair": 200, "alice": 200, "dsl": 200, "lead": 200, "edt": 200}),
    "core-group-member-add": everyone(405),
    "core-group-action-add": everyone(405),
    "meeting-new": only({"chair": 200, "lead": 200, "alice": 403, "dsl": 403, "edt": 403}),
    "meeting": only({"chair": 200, "alice": 200, "dsl": 200, "lead": 200, "edt": 200}),
    "pack-request": everyone(405),
    "pack-progress": only({"chair": 200, "alice": 200, "lead": 200, "dsl": 403, "edt": 403}),
    "pack-issue": everyone(405),
    "pack-review": only({"chair": 200, "lead": 200, "alice": 403, "dsl": 403, "edt": 403}),
    "pack-page": only({"chair": 200, "lead": 200, "alice": 403, "dsl": 403, "edt": 403}),
    "pack-page-reviewed": everyone(405),
    "pack-sign-off": everyone(405),
    "pack-copy": only({"chair": 200, "alice": 403, "dsl": 403, "lead": 403, "edt": 403}),
}


def test_each_persona_gets_only_what_the_policy_allows(
    request, kit, chair, meeting, django_capture_on_commit_callbacks
):
    full = ready_pack(chair, meeting, Variant.FULL, django_capture_on_commit_callbacks)
    parents = ready_pack(chair, meeting, Variant.PARENTS, django_capture_on_commit_callbacks)
    copy = services.pack_issue(actor=chair, pack=full)
    urls = {
        "core-group-new": reverse("core-group-new", args=[kit.pk]),
        "core-group": reverse("core-group", args=[meeting.group_id]),
        "core-group-member-add": reverse("core-group-member-add", args=[meeting.group_id]),
        "core-group-action-add": reverse("core-group-action-add", args=[meeting.group_id]),
        "meeting-new": reverse("meeting-new", args=[meeting.group_id]),
        "meeting": reverse("meeting", args=[meeting.pk]),
        "pack-request": reverse("pack-request", args=[meeting.pk]),
        "pack-progress": reverse("pack-progress", args=[full.pk]),
        "pack-issue": reverse("pack-issue", args=[full.pk]),
        "pack-review": reverse("pack-review", args=[parents.pk]),
        "pack-page": reverse("pack-page", args=[parents.pk, 1]),
        "pack-page-reviewed": reverse("pack-page-reviewed", args=[parents.pk, 1]),
        "pack-sign-off": reverse("pack-sign-off", args=[parents.pk]),
        "pack-copy": reverse("pack-copy", args=[copy.pk]),
    }
    assert set(urls) == set(EXPECTED)
    got, wanted = {}, {}
    for persona in PERSONAS:
        client = signed_in(None if persona == "anonymous" else request.getfixturevalue(persona))
        for name, url in urls.items():
            response = client.get(url)
            got[(persona, name)] = response.status_code
            wanted[(persona, name)] = EXPECTED[name][persona]
            if persona == "anonymous":
                assert response["Location"].startswith(reverse("sign-in"))
    assert {k: v for k, v in got.items() if v != wanted[k]} == {}


def test_a_refused_page_says_nothing_about_the_child_and_logs_nothing(
    bob, kit, chair, meeting, django_capture_on_commit_callbacks
):
    pack = ready_pack(chair, meeting, Variant.PARENTS, django_capture_on_commit_callbacks)
    client = signed_in(bob)
    for url in (
        reverse("core-group-new", args=[kit.pk]),
        reverse("core-group", args=[meeting.group_id]),
        reverse("meeting", args=[meeting.pk]),
        reverse("pack-review", args=[pack.pk]),
        reverse("pack-page", args=[pack.pk, 1]),
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Kit" not in readable(response)
    for url in (
        reverse("core-group-member-add", args=[meeting.group_id]),
        reverse("pack-request", args=[meeting.pk]),
        reverse("pack-issue", args=[pack.pk]),
    ):
        assert client.post(url, {"form": "family", "variant": "full"}).status_code == 404, url
    assert not AccessLog.objects.filter(user=bob).exists()
    assert not PackCopy.objects.exists() and Pack.objects.count() == 1


def test_readers_who_may_not_act_are_refused_and_nothing_changes(alice, dsl, edt, group, chair, meeting):
    assert signed_in(edt).post(reverse("meeting-new", args=[group.pk]), {}).status_code == 403
    assert signed_in(edt).post(reverse("core-group-new", args=[group.child_id]), {}).status_code == 403
    alice_client = signed_in(alice)
    owner = group.members.get(user=alice).pk
    assert (
        alice_client.post(
            reverse("core-group-action-add", args=[group.pk]),
            {"action-description": "Alice adds an action of her own.", "action-owner": owner},
        ).status_code
        == 403
    )
    assert alice_client.post(reverse("core-group-member-add", args=[group.pk]), {"form": "family"}).status_code == 403
    # a member may ask for a pack, but only the chair prepares the copy for parents
    assert alice_client.post(reverse("pack-request", args=[meeting.pk]), {"variant": "parents"}).status_code == 403
    # dsl reads kit's record but is not in the core group: no packs
    assert signed_in(dsl).post(reverse("pack-request", args=[meeting.pk]), {"variant": "full"}).status_code == 403
    page = text(signed_in(dsl).get(reverse("meeting", args=[meeting.pk])))
    assert "Packs for this meeting are issued to the core group's members." in page
    assert "Request a new pack" not in page
    assert PlanAction.objects.count() == 1 and Member.objects.filter(group=group).count() == 3
    assert not Pack.objects.exists()


def test_every_page_about_the_child_logs_the_read(alice, kit, group, meeting):
    client = signed_in(alice)
    for url in (reverse("core-group", args=[group.pk]), reverse("meeting", args=[meeting.pk])):
        assert client.get(url).status_code == 200
    what = list(AccessLog.objects.filter(user=alice, child=kit).order_by("pk").values_list("what", "channel"))
    assert what == [("core group", AccessChannel.PAGE), ("core group meeting", AccessChannel.PAGE)]


# --- a chair's way through ----------------------------------------------------------------------


def test_a_chair_starts_a_core_group_after_correcting_the_form(kit, alice, chair):
    client = signed_in(chair)
    url = reverse("core-group-new", args=[kit.pk])
    page = client.get(url).content.decode()
    # those who work with kit, and nobody else
    for name in ("chair", "deputy"):
        assert options(page, name) == {"", str(chair.pk), str(alice.pk)}

    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    response = client.post(
        url, {"plan": "cp", **day_fields("started", tomorrow), "chair": chair.pk, "deputy": chair.pk}
    )
    page = text(response)
    assert "<title>Error: Start a core group" in page
    assert 'href="#id_category">Choose the category of the child protection plan' in page
    assert 'href="#id_deputy">The deputy must be someone other than the chair' in page
    assert not CoreGroup.objects.exists()
    response = client.post(
        url, {"plan": "cp", "category": "neglect", **day_fields("started", tomorrow), "chair": chair.pk}
    )
    assert 'href="#id_started_day">The start date must be today or in the past' in text(response)
    assert not CoreGroup.objects.exists()

    started = timezone.localdate() - datetime.timedelta(days=14)
    response = client.post(
        url,
        {"plan": "cp", "category": "neglect", **day_fields("started", started), "chair": chair.pk, "deputy": alice.pk},
    )
    group = CoreGroup.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("core-group", args=[group.pk])
    assert (group.chair, group.deputy, group.started_on, group.category) == (chair, alice, started, "neglect")
    page = text(client.get(response["Location"]))
    assert "Child protection plan (neglect)" in page
    assert "Record a meeting" in page
    # starting another is not offered: the open group is shown instead
    assert client.get(url)["Location"] == reverse("core-group", args=[group.pk])


def test_the_chair_adds_members_and_actions(kit, alice, chair, group):
    from tests.factories import UserFactory, involve

    nurse = UserFactory(username="nurse", first_name="Nia", last_name="Nurse", agency__code="agency-school-nurse")
    from agencies.models import Role, RoleGrant

    RoleGrant.objects.create(user=nurse, role=Role.PRACTITIONER)
    involve(kit, nurse)
    client = signed_in(chair)
    url = reverse("core-group", args=[group.pk])
    page = client.get(url).content.decode()
    # those who work with kit and are not yet members
    assert options(page, "professional-user") == {"", str(nurse.pk)}

    add = reverse("core-group-member-add", args=[group.pk])
    response = client.post(add, {"form": "professional", "professional-user": nurse.pk})
    assert response.status_code == 302
    assert group.members.filter(user=nurse, agency=nurse.agency, kind=MemberKind.PROFESSIONAL).exists()

    page = text(client.post(add, {"form": "family", "family-kind": "", "family-name": ""}))
    assert 'href="#id_family-kind">Choose who they are' in page
    assert 'href="#id_family-name">Enter their name' in page
    response = client.post(
        add,
        {"form": "family", "family-kind": "carer", "family-name": "Sam Invented", "family-relationship": "Stepfather"},
    )
    assert response.status_code == 302
    assert group.members.filter(kind=MemberKind.CARER, name="Sam Invented", relationship="Stepfather").exists()

    action_url = reverse("core-group-action-add", args=[group.pk])
    page = text(client.post(action_url, {"action-description": "Do", "action-expected_impact": ""}))
    assert 'href="#id_action-owner">Choose who owns the action' in page
    assert 'href="#id_action-due_day">Enter the date it is due' in page
    assert 'href="#id_action-expected_impact">Say what should be different for the child' in page
    # in the order of the form
    assert page.index("Choose who owns the action") < page.index("Enter the date it is due")
    assert page.index("Enter the date it is due") < page.index("Say what should be different for the child")
    owner = group.members.get(user=nurse)
    due = timezone.localdate() + datetime.timedelta(days=30)
    page = text(
        client.post(
            action_url,
            {
                "action-description": "Do",
                "action-owner": owner.pk,
                **day_fields("action-due", due),
                "action-expected_impact": "Kit is fed.",
            },
        )
    )
    assert 'href="#id_action-description">Say what will be done' in page  # the service's own rule
    assert not PlanAction.objects.exists()
    response = client.post(
        action_url,
        {
            "action-description": "School nurse sees Kit every Monday and records her weight.",
            "action-owner": owner.pk,
            **day_fields("action-due", due),
            "action-expected_impact": "Kit's weight is checked weekly and any loss acted on the same day.",
        },
    )
    assert response.status_code == 302
    action = PlanAction.objects.get()
    assert (action.number, action.owner, action.due_on) == (1, owner, due)
    page = text(client.get(url))
    for words in (
        "School nurse sees Kit every Monday",
        "Nia Nurse",
        "Sam Invented",
        "Carer (Stepfather)",
        "Jo Invented",
        "Kit's weight is checked weekly",
        "Not started",
    ):
        assert words in page, words


def test_a_chair_records_a_meeting_once_everything_is_there(kit, alice, chair, group, action):
    client = signed_in(chair)
    url = reverse("meeting-new", args=[group.pk])
    members = {m.name: m for m in group.members.all()}
    parent = members["Jo Invented"]
    page = client.get(url).content.decode()
    for m in members.values():
        assert f'name="attendance_{m.pk}"' in page
    assert f'name="view_{parent.pk}"' in page
    assert f'name="action_{action.pk}_progress"' in page

    response = client.post(url, {**day_fields("held", None)})
    page = text(response)
    assert "<title>Error: Record a core group meeting" in page
    for anchor, words in [
        ("id_held_day", "Enter the date of the meeting"),
        (f"id_attendance_{parent.pk}", "Record whether Jo Invented was present, sent apologies or was absent"),
        ("id_child_view", "Record the child's views, or why they could not be gathered"),
        (f"id_view_{parent.pk}", "Record what Jo Invented said, or that they gave no view"),
        (f"id_action_{action.pk}_progress", "Record progress on action 1: say what happened"),
        ("id_safer", "Say whether the group judges the child safer"),
        ("id_safer_evidence", "Say on what evidence"),
        ("id_decisions", "Record the decisions"),
    ]:
        assert f'href="#{anchor}">{words}' in page, words
    # the summary lists the problems in the order of the form
    assert page.index("Enter the date of the meeting") < page.index("Record the decisions")
    assert not Meeting.objects.exists()

    held = timezone.localdate() - datetime.timedelta(days=2)
    data = {
        **day_fields("held", held),
        **{f"attendance_{m.pk}": Presence.PRESENT for m in members.values()},
        f"attendance_{members[str(alice)].pk}": Presence.APOLOGIES,
        "child_view": "Kit said she likes her new bed and wants her mum to come to school plays.",
        f"view_{parent.pk}": "Jo said the visits help and she wants the nursery place to continue.",
        f"action_{action.pk}_status": ActionStatus.IN_PROGRESS,
        f"action_{action.pk}_progress": "Four weekly visits done; weight stable.",
        f"action_{action.pk}_impact": "Kit has gained 300 g.",
        "safer": "partly",
        "safer_evidence": "Seen at home weekly by the health visitor; nursery attendance 95%.",
        "decisions": "Continue the plan; review the nursery place in four weeks.",
        **day_fields("next", held - datetime.timedelta(days=1)),
    }
    page = text(client.post(url, data))
    assert 'href="#id_next_day">The next meeting must be after this one' in page
    assert not Meeting.objects.exists()

    data.update(day_fields("next", held + datetime.timedelta(days=28)))
    response = client.post(url, data)
    meeting = Meeting.objects.get()
    assert response["Location"] == reverse("meeting", args=[meeting.pk])
    assert meeting.attendance.get(member=members[str(alice)]).presence == Presence.APOLOGIES
    action.refresh_from_db()
    assert action.status == ActionStatus.IN_PROGRESS and action.observed_impact == "Kit has gained 300 g."

    page = text(client.get(response["Location"]))
    for words in (
        "Core group meeting of",
        "Apologies",
        "Kit said she likes her new bed",
        "Jo said the visits help",
        "Four weekly visits done; weight stable.",
        "Kit has gained 300 g.",
        "Partly",
        "Seen at home weekly by the health visitor",
        "Continue the plan; review the nursery place in four weeks.",
        f"{held + datetime.timedelta(days=28):%-d %B %Y}",
    ):
        assert words in page, words
    # the child's page shows the group, its chair and the next meeting
    child_page = text(client.get(reverse("child-detail", args=[kit.pk])))
    assert "Core group" in child_page and str(chair) in child_page
    assert f"{held + datetime.timedelta(days=28):%-d %B %Y}" in child_page
    assert reverse("core-group", args=[group.pk]) in child_page


def test_a_member_requests_a_pack_sees_its_hash_issues_a_copy_and_downloads_it(
    kit, alice, chair, meeting, django_capture_on_commit_callbacks
):
    entry(kit, alice, 10, "Home visit: Kit seen in her bedroom; the home was warm and there was food.")
    client = signed_in(chair)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("pack-request", args=[meeting.pk]), {"variant": "full"})
    pack = Pack.objects.get()
    assert response["Location"] == reverse("meeting", args=[meeting.pk]) + f"#pack-{pack.pk}"
    assert pack.state == PackState.READY and pack.version == 1
    page = client.get(response["Location"]).content.decode()
    assert pack.sha256 in hashes_in(page)
    assert "Full chronology: version 1" in page and "Ready" in page
    assert 'hx-trigger="every 2s"' not in page  # nothing left to poll

    response = client.post(reverse("pack-issue", args=[pack.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    copy = PackCopy.objects.get()
    assert response.content == bytes(copy.pdf) and response.content.startswith(b"%PDF")
    assert copy.issued_to == chair and copy.master_sha256 == pack.sha256
    assert copy.sha256 == hashlib.sha256(response.content).hexdigest() != pack.sha256
    issued = AccessLog.objects.filter(user=chair, child=kit, channel=AccessChannel.PDF).get()
    assert "export" in issued.what and "copy 1" in issued.what

    # the meeting page lists the copy with both hashes
    page = client.get(reverse("meeting", args=[meeting.pk])).content.decode()
    assert {copy.sha256, pack.sha256} <= hashes_in(page)
    download = client.get(reverse("pack-copy", args=[copy.pk]))
    assert download.status_code == 200 and download.content == response.content
    assert download["Cache-Control"] == "private, no-store"
    assert AccessLog.objects.filter(user=chair, child=kit, channel=AccessChannel.PDF).count() == 2
    # a member who was not issued the copy gets their own, numbered 2
    assert signed_in(alice).get(reverse("pack-copy", args=[copy.pk])).status_code == 403
    mine = signed_in(alice).post(reverse("pack-issue", args=[pack.pk]))
    assert mine.status_code == 200 and PackCopy.objects.get(issued_to=alice).number == 2

    # a new pack is a new version: the first stays as it was
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("pack-request", args=[meeting.pk]), {"variant": "full"})
    assert list(Pack.objects.order_by("version").values_list("version", "sha256")) == [
        (1, pack.sha256),
        (2, Pack.objects.get(version=2).sha256),
    ]


def test_the_page_shows_progress_while_a_pack_renders(chair, alice, meeting):
    pack = services.pack_request(actor=chair, meeting=meeting, variant=Variant.SIGNIFICANT)  # not yet rendered
    Pack.objects.filter(pk=pack.pk).update(state=PackState.RENDERING, progress=40)
    response = signed_in(chair).get(reverse("meeting", args=[meeting.pk]))
    page = response.content.decode()
    assert f'hx-get="{reverse("pack-progress", args=[pack.pk])}" hx-trigger="every 2s"' in page
    assert '<progress id="pack-' in page and 'value="40"' in page
    assert "Rendering: 40% done" in page
    assert re.search(rf'href="{reverse("meeting", args=[meeting.pk])}\?shown=[0-9.]+#pack-{pack.pk}">Refresh</a>', page)
    # the poller runs under the page's content security policy
    # htmx, from this site with the page's nonce, does the polling; no script is written into the page.
    nonce = re.search(r'<script src="/static/htmx/htmx.min.js" nonce="([^"]+)"></script>', page).group(1)
    assert f"'nonce-{nonce}'" in response["Content-Security-Policy"]
    assert signed_in(alice).get("/static/htmx/htmx.min.js").status_code == 200
    fragment = signed_in(alice).get(reverse("pack-progress", args=[pack.pk])).content.decode()
    assert "Rendering: 40% done" in fragment and "<html" not in fragment
    Pack.objects.filter(pk=pack.pk).update(state=PackState.READY, progress=100, sha256="a" * 64, pages=3, events=7)
    fragment = signed_in(alice).get(reverse("pack-progress", args=[pack.pk])).content.decode()
    assert 'hx-trigger="every 2s"' not in fragment and "a" * 16 + "<wbr>" in fragment and "Issue me a copy" in fragment


def test_the_copy_for_parents_is_issued_only_after_every_page_is_read_and_signed_off(
    kit, alice, chair, meeting, django_capture_on_commit_callbacks
):
    refuge = Address.objects.create(child=kit, address="Flat 2, Refuge House\nHidden Road", postcode="ZZ1 1ZZ")
    Address.objects.create(child=kit, address="12 Invented Street\nNorthtown", postcode="ZZ9 9ZZ")
    entry(kit, alice, 5, "Kit and her mum are staying at Refuge House for now.")
    client = signed_in(chair)
    page = client.get(reverse("meeting", args=[meeting.pk])).content.decode()
    assert f'id="omit-{refuge.pk}" name="omit" type="checkbox" value="{refuge.pk}"' in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("pack-request", args=[meeting.pk]), {"variant": "parents", "omit": [str(refuge.pk)]})
    pack = Pack.objects.get(variant=Variant.PARENTS)
    assert pack.state == PackState.READY and pack.omitted_addresses == [refuge.pk]
    assert pack.pages >= 1

    # not yet reviewed: no button to issue it, and asking anyway is refused
    page = text(client.get(reverse("meeting", args=[meeting.pk])))
    assert "Not signed off" in page and "Review the copy for parents page by page" in page
    response = client.post(reverse("pack-issue", args=[pack.pk]), follow=True)
    assert "issued only after the chair has reviewed and signed it off" in text(response)
    assert not PackCopy.objects.exists()

    review = reverse("pack-review", args=[pack.pk])
    page = text(client.get(review))
    assert f"0 of {pack.pages} page" in page
    for n in range(1, pack.pages + 1):
        assert f'src="{reverse("pack-page", args=[pack.pk, n])}"' in page
        assert f"I have read page {n}" in page
    assert "Sign off the copy for parents" not in page
    image = client.get(reverse("pack-page", args=[pack.pk, 1]))
    assert image["Content-Type"] == "image/png" and image.content.startswith(b"\x89PNG")
    assert png_width(image.content) == 702  # A4 landscape at 60 dots an inch
    assert png_width(client.get(reverse("pack-page", args=[pack.pk, 1]) + "?size=large").content) == 1754
    assert client.get(reverse("pack-page", args=[pack.pk, pack.pages + 1])).status_code == 404
    # the words of each page are there to read too, and the marked address is not among them
    pages_text = page[page.index("Page 1 of") :]
    assert "OFFICIAL-SENSITIVE" in pages_text and "[address withheld]" in pages_text
    assert "Refuge House" not in pages_text and "12 Invented Street" in pages_text

    response = client.post(reverse("pack-sign-off", args=[pack.pk]), follow=True)
    assert "Review every page before signing off" in text(response)
    pack.refresh_from_db()
    assert pack.signed_off_at is None
    for n in range(1, pack.pages + 1):
        response = client.post(reverse("pack-page-reviewed", args=[pack.pk, n]))
        assert response.status_code == 302
    page = text(client.get(review))
    assert f"{pack.pages} of {pack.pages} page" in page and "Sign off the copy for parents" in page
    response = client.post(reverse("pack-sign-off", args=[pack.pk]))
    assert response["Location"] == reverse("meeting", args=[meeting.pk]) + f"#pack-{pack.pk}"
    pack.refresh_from_db()
    assert pack.signed_off_by == chair

    page = text(client.get(reverse("meeting", args=[meeting.pk])))
    assert f"Signed off by {chair}" in page
    response = client.post(reverse("pack-issue", args=[pack.pk]))
    assert response["Content-Type"] == "application/pdf"
    assert PackCopy.objects.get().pack == pack
    # the review, its pages and the copy are in the access log
    whats = list(AccessLog.objects.filter(user=chair, child=kit).values_list("what", flat=True))
    assert any("reviewing the copy for parents" in w for w in whats)
    assert any("page 1 as an image" in w for w in whats)
    assert any(w.startswith("chronology pack export (issued): copy for parents") for w in whats)


def test_the_child_page_offers_to_start_a_core_group(kit, alice, edt):
    page = text(signed_in(alice).get(reverse("child-detail", args=[kit.pk])))
    assert "No core group." in page
    assert reverse("core-group-new", args=[kit.pk]) in page
    page = text(signed_in(edt).get(reverse("child-detail", args=[kit.pk])))
    assert "No core group." in page and reverse("core-group-new", args=[kit.pk]) not in page


def test_a_pack_with_restricted_entries_is_listed_and_issued_only_to_its_readers(
    alice, chair, meeting, django_capture_on_commit_callbacks
):
    """alice (agency A) asks for the pack with restricted entries; the chair (children's social care) never sees it
    listed, and its issue, progress and copy are 404 to the chair."""
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(alice).post(reverse("pack-request", args=[meeting.pk]), {"variant": "restricted"})
    assert response.status_code == 302
    pack = Pack.objects.get(variant=Variant.RESTRICTED)
    assert pack.reader_agency_id == alice.agency_id
    mine = text(signed_in(alice).get(reverse("meeting", args=[meeting.pk])))
    assert "Full chronology with restricted entries: version 1" in mine and "those recorded by" in mine
    theirs = text(signed_in(chair).get(reverse("meeting", args=[meeting.pk])))
    assert "Full chronology with restricted entries" in theirs  # the section, to request one of their own
    assert "Full chronology with restricted entries: version 1" not in theirs
    chair_client = signed_in(chair)
    assert chair_client.post(reverse("pack-issue", args=[pack.pk])).status_code == 404
    assert chair_client.get(reverse("pack-progress", args=[pack.pk])).status_code == 404
    issued = signed_in(alice).post(reverse("pack-issue", args=[pack.pk]))
    assert issued.status_code == 200 and issued["Content-Type"] == "application/pdf"
    assert not PackCopy.objects.filter(issued_to=chair).exists()


def test_the_key_facts_name_the_plan_a_core_group_works_to_before_its_start_is_recorded(client_for, alice, kit, group):
    page = client_for(alice).get(reverse("child-detail", args=[kit.pk])).content.decode()
    assert f"Child protection plan since {group.started_on:%-d %B %Y}" in page
    assert "No plan recorded" not in page
