"""Rules found by trying the product as its users would."""

from __future__ import annotations

import datetime

from django.urls import reverse
from django.utils import timezone

from agencies.models import AccessLog
from chronology.models import Event
from tests.unit.test_chronology import form_data, make_event, record

KIT_BY_NHS = {"nhs_number": "999 123 4519"}


def test_a_self_claimed_involvement_reads_only_its_own_agencys_entries_until_confirmed(
    client_for, ann, alice, bob, dsl, kit
):
    make_event(kit, bob.agency, summary="School: Kit has been hungry at lunch three days this week.")
    client_for(bob).post(reverse("child-claim"), {**KIT_BY_NHS, "child": kit.pk})
    page = client_for(bob).get(reverse("child-detail", args=[kit.pk])).content.decode()
    assert "hungry at lunch" in page
    make_event(kit, alice.agency, summary="Health visitor: mother low in mood, father's new partner moved in.")
    page = client_for(bob).get(reverse("child-detail", args=[kit.pk])).content.decode()
    assert "new partner moved in" not in page
    assert "Until your designated safeguarding lead confirms" in page


def test_an_entry_before_the_child_was_born_is_refused(client_for, alice, kit):
    page = record(client_for(alice), kit, occurred_day="1", occurred_month="1", occurred_year="1900").content.decode()
    assert "The date is before the child&#x27;s life began" in page
    assert not Event.objects.exists()


def test_every_error_shows_at_once(client_for, alice, kit):
    future = timezone.localdate() + datetime.timedelta(days=5)
    page = record(
        client_for(alice),
        kit,
        summary="x",
        occurred_day=future.day,
        occurred_month=future.month,
        occurred_year=future.year,
    ).content.decode()
    assert "The date must be today or in the past" in page
    assert "This summary may not tell the next reader what happened" in page


def test_a_contact_says_whether_the_child_was_seen(client_for, alice, kit):
    page = record(client_for(alice), kit, child_seen="", child_voice="").content.decode()
    assert "Say whether you saw the child at this contact" in page
    assert not Event.objects.exists()


def test_after_recording_the_new_entry_is_on_top(client_for, alice, kit):
    for day in range(60):
        make_event(kit, alice.agency, occurred_on=datetime.date(2023, 1, 1) + datetime.timedelta(days=day))
    response = record(client_for(alice), kit, summary="The newest entry: Kit showed me her new bike in the garden.")
    assert "order=newest" in response["Location"]
    page = client_for(alice).get(response["Location"].split("#")[0]).content.decode()
    chronology = page.split('<ol class="jigsaw-chronology')[1]
    assert chronology.index("The newest entry") < chronology.index("Routine contact")


def test_another_agency_cannot_open_the_amend_form(client_for, alice, bob, kit):
    from tests.factories import involve

    involve(kit, bob)
    event = make_event(kit, alice.agency)
    assert client_for(bob).get(reverse("event-amend", args=[event.pk])).status_code == 403


def test_a_superseded_entry_offers_no_amend_link(client_for, alice, kit):
    record(client_for(alice), kit)
    original = Event.objects.get()
    client_for(alice).post(
        reverse("event-amend", args=[original.pk]),
        form_data(amendment_kind="correction", amendment_reason="Wrong room recorded."),
    )
    page = client_for(alice).get(reverse("child-detail", args=[kit.pk])).content.decode()
    assert reverse("event-amend", args=[original.pk]) not in page


def test_ending_an_involvement_you_can_no_longer_see_goes_back_to_your_list(client_for, dsl, kit):
    involvement = kit.involvements.get()
    response = client_for(dsl).post(reverse("involvement-end", args=[involvement.pk]), {"reason": "Moved away."})
    assert response["Location"] == reverse("involvements-to-confirm")


def test_an_unreadable_access_log_filter_exports_nothing(client_for, auditor, alice, kit):
    client_for(alice).get(reverse("child-detail", args=[kit.pk]))
    assert AccessLog.objects.exists()
    response = client_for(auditor).get(reverse("access-log-csv"), {"child": "abc"})
    assert response.status_code == 400
    assert "child" in response.content.decode()


def test_area_leads_see_what_a_break_glass_user_read(client_for, lead, bob, kit):
    from agencies import services
    from agencies.models import ExceptionalAccessKind

    services.exceptional_access_open(
        actor=bob,
        child=kit,
        kind=ExceptionalAccessKind.BREAK_GLASS,
        reason="Kit arrived at school with a burn on her hand.",
    )
    client_for(bob).get(reverse("child-detail", args=[kit.pk]))
    page = client_for(lead).get(reverse("access-log"), {"user": bob.pk, "child": kit.pk}).content.decode()
    assert "Break-glass" in page and "1 row" in page
    assert "Open for audit" not in page
