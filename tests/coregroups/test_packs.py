"""Core group meetings and the chronology pack, read back as a reader would: pdftotext and pdftoppm."""

from __future__ import annotations

import datetime
import hashlib
import shutil
import subprocess

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command

from agencies.models import AccessLog
from chronology.models import Address
from coregroups import services
from coregroups.models import MemberKind, Pack, PackState, Presence, Variant
from coregroups.packs import render
from escalation.models import Alert
from tests.coregroups.conftest import entry, meeting_input
from tests.factories import AgencyFactory, UserFactory, involve
from thresholds.services import child_reassess


def text_of(pdf: bytes, tmp_path) -> list[str]:
    """The text of each page, as pdftotext reads it."""
    assert shutil.which("pdftotext"), "pdftotext is needed (poppler-utils; make test installs it)"
    path = tmp_path / "pack.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True)
    return out.stdout.split("\f")[:-1]


def rendered(pack: Pack) -> Pack:
    pack = Pack.objects.get(pk=pack.pk)
    assert pack.state == PackState.READY, pack.error
    return pack


@pytest.fixture
def meeting(group, chair, kit, alice):
    services.action_add(
        actor=chair,
        group=group,
        description="Health visitor visits weekly and weighs Kit.",
        owner=group.members.get(user=alice),
        due_on=datetime.date(2026, 12, 31),
        expected_impact="Kit's weight back on the 25th centile.",
    )
    return services.meeting_record(actor=chair, group=group, data=meeting_input(group))


def request(chair, meeting, variant, django_capture_on_commit_callbacks, **extra):
    with django_capture_on_commit_callbacks(execute=True):
        pack = services.pack_request(actor=chair, meeting=meeting, variant=variant, **extra)
    return rendered(pack)


def test_new_counts_from_the_last_meeting_or_at_the_first_from_the_day_the_group_began(
    meeting, group, chair, kit, alice
):
    from coregroups.packs.content import pack_content

    entry(kit, alice, 400, "Home visit a year before the group: flat cold, Kit seen.")  # recorded today, late
    first = pack_content(kit, meeting, Variant.FULL)
    assert (first.new_since_what, first.new_since) == ("the core group began", f"{group.started_on:%d %b %Y}")
    # At a first meeting only what happened since the group began is new: history recorded as it formed is not.
    assert [r.summary for r in first.new_rows] == []
    second = services.meeting_record(actor=chair, group=group, data=meeting_input(group, days_ago=0))
    later = pack_content(kit, second, Variant.FULL)
    assert (later.new_since_what, later.new_since) == ("the last meeting", f"{meeting.held_on:%d %b %Y}")
    # After it, an older event shared late is new to the group.
    assert [r.summary for r in later.new_rows] == ["Home visit a year before the group: flat cold, Kit seen."]


def test_a_meeting_needs_every_attendance_view_and_progress(group, chair):
    data = meeting_input(group, child_view="", safer="", decisions="")
    data.attendance.popitem()
    data.family_views = {}
    with pytest.raises(ValidationError) as refused:
        services.meeting_record(actor=chair, group=group, data=data)
    problems = refused.value.message_dict
    assert {"attendance", "child_view", "safer", "decisions"} <= set(problems)
    assert any(key.startswith("view_") for key in problems)  # the mother's view
    assert not group.meetings.exists()


def test_the_deputy_chairs_when_the_chair_is_absent(group, chair, kit, dsl):
    involve(kit, dsl)
    group.deputy = dsl
    group.save()
    meeting = services.meeting_record(
        actor=dsl, group=group, data=meeting_input(group, presence={str(chair): Presence.APOLOGIES})
    )
    assert meeting.chaired_by == dsl


def test_an_agency_absent_three_meetings_running_raises_an_alert(group, chair, kit, bob):
    involve(kit, bob)
    services.member_add(actor=chair, group=group, kind=MemberKind.PROFESSIONAL, user=bob)
    for days_ago in (60, 30):
        services.meeting_record(
            actor=chair, group=group, data=meeting_input(group, days_ago=days_ago, presence={str(bob): "absent"})
        )
    assert not Alert.objects.filter(child=kit).exists()
    services.meeting_record(
        actor=chair, group=group, data=meeting_input(group, days_ago=1, presence={str(bob): "absent"})
    )
    alert = Alert.objects.get(child=kit, cause__startswith="core_group_absence")
    assert bob.agency.name in alert.title and "3 core group meetings running" in alert.title
    # Apologies are not absence without apology: no second alert, and the open one is not repeated.
    services.meeting_record(
        actor=chair, group=group, data=meeting_input(group, days_ago=0, presence={str(bob): "absent"})
    )
    assert Alert.objects.filter(child=kit, cause__startswith="core_group_absence").count() == 1


def test_the_pack_as_a_reader_sees_it(meeting, chair, kit, alice, dsl, tmp_path, django_capture_on_commit_callbacks):
    entry(kit, alice, 400, "Home visit before the plan: Kit seen, flat cold.")
    entry(kit, alice, 5, "Kit seen at clinic; weight up. " + "Mother said she is coping better now. " * 40)
    entry(kit, dsl, 3, "Restricted: disclosure by mother about her partner.", sharing="restricted")
    for k in range(60):
        entry(kit, alice, 300 - k * 4, f"Weekly visit number {k}: Kit seen and weighed.")
    child_reassess(child_id=kit.pk)
    pack = request(chair, meeting, Variant.FULL, django_capture_on_commit_callbacks)
    pages = text_of(bytes(pack.pdf), tmp_path)
    assert len(pages) == pack.pages >= 3
    for number, page in enumerate(pages, start=1):
        assert page.count("OFFICIAL-SENSITIVE") >= 2, f"page {number} lacks the classification at top and bottom"
        assert "Kit Invented" in page, f"page {number} lacks the child's name"
        assert f"Page {number} of {len(pages)}" in page
    chronology_pages = [p for p in pages if "What happened" in p]
    assert len(chronology_pages) >= 2  # the table header repeats on every page of the table
    whole = "\n".join(pages)
    assert "Indicated level" in whole and "Toxic trio" in whole
    assert "Health visitor visits weekly" in whole and "Kit's weight back on the 25th centile" in whole
    assert "New since the core group began" in whole  # its first meeting: there is no last one
    assert "Restricted entry:" in whole and "disclosure by mother" not in whole
    assert "shortened: the full text is online" in whole
    assert pack.sha256 == hashlib.sha256(bytes(pack.pdf)).hexdigest()


def test_the_copy_for_parents_leaves_out_what_it_must(
    meeting, chair, kit, alice, tmp_path, django_capture_on_commit_callbacks
):
    from chronology.models import Person

    sibling = Person.objects.create(source="t", ref="sib", role="sibling", given_name="Robin", family_name="Sibling")
    sibling.children.add(kit)
    hidden = Address.objects.create(child=kit, address="12 Refuge Road\nNorthtown", postcode="NT1 1AA")
    entry(kit, alice, 10, "Neighbour rang: shouting at night.", information_source="neighbour")
    entry(kit, alice, 9, "Anonymous caller said Kit is left alone.", information_source="anonymous")
    entry(kit, alice, 8, "Visit at 12 Refuge Road: Kit seen and well.")
    child_reassess(child_id=kit.pk)
    pack = request(chair, meeting, Variant.PARENTS, django_capture_on_commit_callbacks, omitted_addresses=[hidden.pk])
    whole = "\n".join(text_of(bytes(pack.pdf), tmp_path))
    assert "copy for parents" in whole.lower()
    for absent in ("Indicated level", "Toxic trio", "shouting at night", "left alone", "Robin", "12 Refuge Road"):
        assert absent not in whole, absent
    assert "[address withheld]" in whole and "Kit seen and well" in whole
    # Not issued before the chair has read every page and signed it off.
    with pytest.raises(ValidationError):
        services.pack_issue(actor=chair, pack=pack)
    with pytest.raises(ValidationError):
        services.parent_copy_sign_off(actor=chair, pack=pack)
    with pytest.raises(PermissionDenied):
        services.parent_copy_page_reviewed(actor=alice, pack=pack, page=1)
    for page in range(1, pack.pages + 1):
        services.parent_copy_page_reviewed(actor=chair, pack=pack, page=page)
    pack = services.parent_copy_sign_off(actor=chair, pack=pack)
    assert services.pack_issue(actor=chair, pack=pack).number == 1


def test_a_pack_is_frozen_numbered_and_every_copy_stamped(
    meeting, chair, alice, kit, tmp_path, django_capture_on_commit_callbacks
):
    first = request(chair, meeting, Variant.FULL, django_capture_on_commit_callbacks)
    master = bytes(first.pdf)
    entry(kit, alice, 1, "A new visit after the first pack.")
    second = request(chair, meeting, Variant.FULL, django_capture_on_commit_callbacks)
    first.refresh_from_db()
    assert (first.version, second.version) == (1, 2)
    assert bytes(first.pdf) == master and first.sha256 != second.sha256  # never overwritten
    assert services.pack_render_now(pack_id=first.pk).sha256 == first.sha256  # rendered once only
    copy1 = services.pack_issue(actor=chair, pack=first)
    copy2 = services.pack_issue(actor=alice, pack=first)
    assert (copy1.number, copy2.number) == (1, 2)
    assert copy1.master_sha256 == first.sha256 and copy1.sha256 == hashlib.sha256(bytes(copy1.pdf)).hexdigest()
    pages = text_of(bytes(copy2.pdf), tmp_path)
    assert all(f"Printed by {alice.get_full_name()} on" in p and "copy 2" in p for p in pages)
    assert "Printed by" not in "\n".join(text_of(master, tmp_path))


def test_only_the_groups_members_get_packs(meeting, bob, django_capture_on_commit_callbacks):
    with pytest.raises(PermissionDenied):
        services.pack_request(actor=bob, meeting=meeting, variant=Variant.FULL)


def test_a_long_pack_is_rendered_in_sections_and_joined(meeting, chair, kit, alice, tmp_path, monkeypatch):
    from coregroups.packs.content import pack_content

    monkeypatch.setattr(render, "SINGLE_DOCUMENT_ROWS", 5)
    monkeypatch.setattr(render, "CHUNK_ROWS", 5)
    for k in range(12):
        entry(kit, alice, 40 - k, f"Visit {k}: Kit seen.")
    content = pack_content(kit, meeting, Variant.FULL)
    pdf, count = render.render_pack(content, parallel=2)
    pages = text_of(pdf, tmp_path)
    assert len(pages) == count
    assert all(f"Page {n} of {count}" in p and p.count("OFFICIAL-SENSITIVE") >= 2 for n, p in enumerate(pages, 1))
    assert all(f"Visit {k}: Kit seen." in "\n".join(pages) for k in range(12))
    # Stamped at the foot of the page, upright: the last line read on each page carries the number.
    last_lines = [[line for line in p.splitlines() if line.strip()][-1] for p in pages]
    assert all(f"Page {n} of {count}" in line for n, line in enumerate(last_lines, 1))
    copy = [
        [line for line in p.splitlines() if line.strip()][-1]
        for p in text_of(render.stamp_copy(pdf, "X copy 7"), tmp_path)
    ]
    assert all("X copy 7" in line for line in copy)


def test_pages_look_right_as_images(meeting, chair, tmp_path, django_capture_on_commit_callbacks):
    assert shutil.which("pdftoppm"), "pdftoppm is needed (poppler-utils; make test installs it)"
    pack = request(chair, meeting, Variant.FULL, django_capture_on_commit_callbacks)
    (tmp_path / "pack.pdf").write_bytes(bytes(pack.pdf))
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(tmp_path / "pack.pdf"), str(tmp_path / "page")], check=True)
    images = sorted(tmp_path.glob("page-*.png"))
    assert len(images) == pack.pages
    assert all(image.stat().st_size > 2000 for image in images)  # not blank


def test_the_command_renders_the_same_pack_and_logs_it(meeting, kit, chair, tmp_path, capsys):
    out = tmp_path / "pack.pdf"
    call_command("chronology_pack", f"id:{kit.pk}", "--out", str(out), "--actor", chair.username)
    assert "pages" in capsys.readouterr().out
    pages = text_of(out.read_bytes(), tmp_path)
    assert "Kit Invented" in pages[0] and "Core group meeting" in pages[0]
    assert AccessLog.objects.filter(user=chair, child=kit, channel="pdf").exists()
    stranger = UserFactory(username="stranger", agency=AgencyFactory(code="elsewhere"))
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no child"):
        call_command("chronology_pack", f"id:{kit.pk}", "--out", str(out), "--actor", stranger.username)


def test_restricted_entries_are_printed_only_for_those_who_may_read_them(
    meeting, chair, kit, alice, dsl, bob, lead, tmp_path, django_capture_on_commit_callbacks
):
    """The recording agency and the area's leads read restricted entries online; their pack with restricted
    entries shows them in full, is issued only to them, and nobody else learns it exists."""
    from coregroups import selectors

    other = UserFactory(username="other-dsl", agency__code="agency-b", roles=["designated_safeguarding_lead"])
    involve(kit, other)
    services.member_add(actor=chair, group=meeting.group, kind=MemberKind.PROFESSIONAL, user=other)
    services.member_add(actor=chair, group=meeting.group, kind=MemberKind.PROFESSIONAL, user=lead)
    services.member_add(actor=chair, group=meeting.group, kind=MemberKind.PROFESSIONAL, user=dsl)
    entry(kit, dsl, 3, "Mother disclosed her partner's threats to the health visitor.", sharing="restricted")
    entry(kit, other, 2, "School counsellor: Kit spoke of fear at home.", sharing="restricted")

    ours = request(alice, meeting, Variant.RESTRICTED, django_capture_on_commit_callbacks)
    whole = "\n".join(text_of(bytes(ours.pdf), tmp_path))
    assert "Chronology pack with restricted entries" in whole
    assert "partner's threats" in whole and "Restricted entry, shown in full" in whole
    assert "fear at home" not in whole and "Restricted entry: " in whole  # another agency's: a placeholder
    assert "Issued only to" in whole

    areas = request(lead, meeting, Variant.RESTRICTED, django_capture_on_commit_callbacks)
    every = "\n".join(text_of(bytes(areas.pdf), tmp_path))
    assert "partner's threats" in every and "fear at home" in every

    # Issued to the agency's people and the area's leads; refused to anyone else, who does not see it listed.
    assert services.pack_issue(actor=dsl, pack=ours).number == 1
    assert services.pack_issue(actor=lead, pack=ours).number == 2
    with pytest.raises(PermissionDenied):
        services.pack_issue(actor=other, pack=ours)
    with pytest.raises(PermissionDenied):
        services.pack_issue(actor=alice, pack=areas)
    with pytest.raises(Pack.DoesNotExist):
        selectors.pack_find(actor=other, pack_id=ours.pk)
    listed = {v.variant: [p.pk for p in v.packs] for v in selectors.meeting_packs(meeting, other)}
    assert listed[Variant.RESTRICTED] == []
    listed = {v.variant: [p.pk for p in v.packs] for v in selectors.meeting_packs(meeting, dsl)}
    assert listed[Variant.RESTRICTED] == [ours.pk]

    # The other packs still print every restricted entry as a placeholder.
    full = "\n".join(
        text_of(bytes(request(lead, meeting, Variant.FULL, django_capture_on_commit_callbacks).pdf), tmp_path)
    )
    assert "partner's threats" not in full and "fear at home" not in full
