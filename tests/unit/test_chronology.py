"""Logging events through the form, and the chronology page as each persona sees it."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection, transaction
from django.db.utils import InternalError, ProgrammingError
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from agencies.models import AuditEntry, InvolvementReason
from chronology import panels, services
from chronology.models import Event
from tests.factories import ChildFactory, involve


def form_data(**overrides):
    data = {
        "type": "home_visit",
        "occurred_day": "3",
        "occurred_month": "3",
        "occurred_year": "2025",
        "summary": "Home visit: Kit was in the front room playing with blocks; the flat was warm and clean.",
        "child_seen": "yes",
        "child_seen_alone": "no",
        "child_voice": "Kit showed me her new shoes and said 'Nana bought them'.",
        "information_source": "practitioner",
        "verified": "unverified",
        "sharing": "all",
    }
    data.update(overrides)
    return data


def record(client, child, **overrides):
    return client.post(reverse("event-new", args=[child.pk]), form_data(**overrides))


def make_event(child, agency, **fields):
    data = services.EventInput(
        occurred_on=fields.pop("occurred_on", datetime.date(2025, 1, 10)),
        agency=agency,
        type=fields.pop("type", "health_contact"),
        summary=fields.pop("summary", "Routine contact, child seen and weighed; growth on the 50th centile."),
        **fields,
    )
    from agencies.policy import system_user

    return services.event_record(actor=system_user(), child=child, data=data)


def test_a_practitioner_records_an_event_and_finds_it_on_the_chronology(client_for, alice, kit):
    client = client_for(alice)
    response = record(client, kit, factors=["16A"], significant="on")
    assert response.status_code == 302, response.content.decode()[:3000]
    event = Event.objects.get(child=kit)
    assert event.agency == alice.agency and event.recorded_by_user == alice
    assert event.source_system == "jigsaw" and event.ref.startswith("j-")
    assert event.factors == ["16A"] and event.significant and event.child_seen and event.child_seen_alone is False
    assert AuditEntry.objects.get(action="event_recorded").child == kit
    page = client.get(reverse("child-detail", args=[kit.pk])).content.decode()
    assert "Kit showed me her new shoes" in page
    assert "Neglect" in page  # factors in words
    assert "Significant" in page


def test_errors_use_the_error_summary_and_write_nothing(client_for, alice, kit):
    response = record(client_for(alice), kit, type="", summary="", occurred_day="31", occurred_month="2")
    page = response.content.decode()
    assert "<title>Error: Record an event – Jigsaw</title>" in page
    assert 'href="#id_type">Choose what kind of event this is' in page
    assert 'href="#id_summary">Enter what happened' in page
    assert "must be a real date" in page
    assert not Event.objects.exists()


def test_a_prompt_the_rest_of_the_form_meets_comes_with_the_errors_not_a_round_later(client_for, alice, kit):
    page = record(client_for(alice), kit, type="home_visit", summary="", child_seen="").content.decode()
    summary = page.split('class="govuk-error-summary"')[1].split("</ul>")[0]
    assert "Enter what happened" in summary and "Say whether you saw the child" in summary
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("day", "month", "year", "said", "not_said"),
    [
        (
            "aa",
            "b",
            "26",
            ["The day must be a number from 1 to 31", "The year must be 4 numbers, from 1900 to 2100"],
            ["Enter the date it happened", "whole number", "greater than"],
        ),
        ("3", "", "2025", ["The date it happened must include a month"], ["day, month and year"]),
        ("", "", "", ["Enter the date it happened"], ["must include"]),
    ],
)
def test_a_date_typed_wrongly_is_refused_once_in_plain_words(client_for, alice, kit, day, month, year, said, not_said):
    page = record(client_for(alice), kit, occurred_day=day, occurred_month=month, occurred_year=year).content.decode()
    summary = page.split('class="govuk-error-summary"')[1].split("</ul>")[0]
    for words in said:
        assert words in summary, words
    for words in not_said:
        assert words not in page, words
    assert not Event.objects.exists()


def test_a_future_date_is_refused(client_for, alice, kit):
    tomorrow = timezone.localdate() + datetime.timedelta(days=2)
    page = record(
        client_for(alice), kit, occurred_day=tomorrow.day, occurred_month=tomorrow.month, occurred_year=tomorrow.year
    ).content.decode()
    assert "The date must be today or in the past" in page
    assert not Event.objects.exists()


def test_a_young_childs_missed_appointment_can_only_be_was_not_brought(client_for, alice, kit):
    page = record(client_for(alice), kit, type="did_not_attend", child_seen="no", child_voice="").content.decode()
    assert "cannot take themselves to an appointment" in page and "Was not brought" in page
    assert not Event.objects.exists()
    assert record(client_for(alice), kit, type="was_not_brought", child_seen="no", child_voice="").status_code == 302


def test_did_not_attend_for_a_teenager_needs_the_practitioner_to_confirm_they_attend_alone(client_for, alice):
    teen = ChildFactory(date_of_birth=datetime.date(2009, 1, 1))
    involve(teen, alice)
    first = record(client_for(alice), teen, type="did_not_attend", child_seen="no", child_voice="")
    assert "Confirm the young person was expected to attend this appointment alone" in first.content.decode()
    assert 'name="confirm_attend_alone"' in first.content.decode()
    assert not Event.objects.exists()
    record(client_for(alice), teen, type="did_not_attend", child_seen="no", child_voice="", confirm_attend_alone="on")
    assert Event.objects.get().details == {"expected_to_attend_alone": True}


def test_seeing_the_child_asks_for_their_voice(client_for, alice, kit):
    page = record(client_for(alice), kit, child_voice="").content.decode()
    assert "record what they said or showed of their daily life" in page
    assert not Event.objects.exists()


@pytest.mark.parametrize("summary", ["No concerns", "appeared fine", "KB", "N/A", "Seemed happy."])
def test_a_vague_summary_gets_a_hint_and_can_be_confirmed(client_for, alice, kit, summary):
    page = record(client_for(alice), kit, summary=summary).content.decode()
    assert "This summary may not tell the next reader what happened" in page
    assert not Event.objects.exists()
    record(client_for(alice), kit, summary=summary, confirm_vague_summary="on")
    assert Event.objects.get().summary == summary


@pytest.mark.parametrize(
    "summary",
    [
        "Kit was happy and chatty, showed me her drawing of the family.",
        "No concerns raised by school about Kit's lunch.",
    ],
)
def test_an_explicit_summary_gets_no_hint(summary):
    assert not services.summary_is_vague(summary)


def test_readers_and_strangers_cannot_record(client_for, edt, bob, kit):
    assert client_for(edt).get(reverse("event-new", args=[kit.pk])).status_code == 403
    assert client_for(bob).get(reverse("event-new", args=[kit.pk])).status_code == 404
    assert record(client_for(bob), kit).status_code == 404
    assert not Event.objects.exists()


def test_an_amendment_keeps_the_original_readable(client_for, alice, kit):
    record(client_for(alice), kit, summary="Kit had a bruise on her left forearm, mother said she fell at nursery.")
    original = Event.objects.get()
    response = client_for(alice).post(
        reverse("event-amend", args=[original.pk]),
        form_data(
            summary="Kit had a bruise on her right forearm, mother said she fell at nursery.",
            amendment_kind="correction",
            amendment_reason="Wrong arm recorded: checked with the body map.",
        ),
    )
    assert response.status_code == 302
    amendment = Event.objects.exclude(pk=original.pk).get()
    assert amendment.amends == original and amendment.amendment_kind == "correction"
    page = client_for(alice).get(reverse("child-detail", args=[kit.pk])).content.decode()
    assert "left forearm" in page and "right forearm" in page
    assert "Amended below" in page and "Wrong arm recorded" in page


def test_filed_in_error_leaves_the_chronology_for_all_but_leads_and_auditors(client_for, alice, dsl, lead, kit):
    record(client_for(alice), kit, summary="Entry about another child, recorded here by mistake in error.")
    original = Event.objects.get()
    client_for(alice).post(
        reverse("event-amend", args=[original.pk]),
        form_data(amendment_kind="filed_in_error", amendment_reason="Belongs to another child; recorded there."),
    )
    assert Event.objects.count() == 2
    assert (
        "recorded here by mistake" not in client_for(alice).get(reverse("child-detail", args=[kit.pk])).content.decode()
    )
    for reader in (dsl, lead):
        page = client_for(reader).get(reverse("child-detail", args=[kit.pk])).content.decode()
        assert "recorded here by mistake" in page and "Filed in error" in page


def test_a_restricted_entry_shows_others_only_that_it_exists(client_for, alice, bob, lead, kit):
    involve(kit, bob)
    record(client_for(alice), kit, summary="Mother disclosed a new partner who has a conviction.", sharing="restricted")
    bobs = client_for(bob).get(reverse("child-detail", args=[kit.pk])).content.decode()
    assert "new partner" not in bobs
    assert "Restricted entry" in bobs and "Home visit" in bobs and alice.agency.name in bobs
    assert "new partner" in client_for(lead).get(reverse("child-detail", args=[kit.pk])).content.decode()
    assert client_for(bob).get(reverse("event-amend", args=[Event.objects.get().pk])).status_code == 404


def test_events_are_never_updated_or_deleted_by_the_application(kit, alice):
    event = make_event(kit, alice.agency)
    event.summary = "changed"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        Event.objects.filter(pk=event.pk).update(summary="changed")


@pytest.mark.external
def test_postgresql_refuses_update_and_delete_on_events(kit, alice):
    assert connection.vendor == "postgresql", "this test needs DATABASE_URL on PostgreSQL (make test sets it)"
    make_event(kit, alice.agency)
    for sql in ("UPDATE chronology_event SET summary = 'tampered'", "DELETE FROM chronology_event"):
        with (
            pytest.raises((InternalError, ProgrammingError), match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    assert Event.objects.get().summary.startswith("Routine contact")


def test_filters_are_kept_in_the_url_and_across_pages(client_for, alice, bob, kit):
    for day in range(1, 61):
        make_event(
            kit,
            alice.agency,
            occurred_on=datetime.date(2024, 1, 1) + datetime.timedelta(days=day),
            significant=day % 2 == 0,
        )
    make_event(kit, bob.agency, type="school_absence", occurred_on=datetime.date(2024, 6, 1))
    client = client_for(alice)
    url = reverse("child-detail", args=[kit.pk])
    page = client.get(url, {"agency": alice.agency_id, "significant": "on"}).content.decode()
    assert "30 entries match the filters" in page
    assert "School absence" not in page.split('<ol class="jigsaw-chronology')[1]
    only_school = client.get(url, {"type": "school_absence"}).content.decode()
    assert "1 entry match" in only_school
    dated = client.get(url, {"date_from": "2024-02-01", "date_to": "2024-02-10"}).content.decode()
    assert "10 entries match the filters" in dated
    all_pages = client.get(url).content.decode()
    assert "61 entries" in all_pages and "Page 1 of 2" in all_pages
    # Numbered pages (GOV.UK pagination): the current one marked, the others a link, keeping the filters.
    assert 'aria-label="Page 1" aria-current="page">1</a>' in all_pages
    assert 'href="?page=2#chronology" aria-label="Page 2">2</a>' in all_pages
    filtered = client.get(url, {"agency": alice.agency_id}).content.decode()
    assert f"agency={alice.agency_id}&amp;page=2" in filtered
    # The page says what it is narrowed to (in print too), and newest first keeps the filters.
    assert f"Shown: agency: {alice.agency.name}; significant entries only." in page
    assert "Shown: from 1 February 2024; to 10 February 2024." in dated
    assert f"agency={alice.agency_id}&amp;order=newest#chronology" in filtered
    assert "Not the whole chronology" not in all_pages
    for shown in (page, all_pages):  # the order chosen is always said: oldest first unless asked otherwise
        assert 'name="order" type="radio" value="" checked>' in shown


def test_filters_that_cannot_apply_are_refused_in_words_and_the_panel_stays_open(client_for, alice, kit):
    make_event(kit, alice.agency, occurred_on=datetime.date(2024, 3, 1))
    url = reverse("child-detail", args=[kit.pk])
    for query, message in (
        ({"date_from": "2026-12-01", "date_to": "2025-01-01"}, "The &#x27;To&#x27; date must be the same as or after"),
        ({"date_from": "31/02/2025"}, "The &#x27;From&#x27; date must be a real date"),
    ):
        page = client_for(alice).get(url, query).content.decode()
        assert "<title>Error: " in page and 'class="govuk-error-summary"' in page, query
        assert message in page.split('class="govuk-error-summary"')[1].split("</div>")[0], query
        assert '<details class="govuk-details" open>' in page
        assert "The filters were not applied" in page and "1 entry, oldest first" in page


def test_the_chronology_page_makes_the_same_number_of_queries_however_long(client_for, lead, alice, kit):
    client = client_for(lead)
    url = reverse("child-detail", args=[kit.pk])

    def count():
        client.get(url)  # warm the session and the caches
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    for day in range(5):
        make_event(kit, alice.agency, occurred_on=datetime.date(2023, 1, 1) + datetime.timedelta(days=day))
    few = count()
    for day in range(200):
        make_event(kit, alice.agency, occurred_on=datetime.date(2024, 1, 1) + datetime.timedelta(days=day))
    assert count() == few


def test_the_timeline_has_a_lane_per_agency(client_for, alice, bob, kit):
    make_event(kit, alice.agency)
    make_event(kit, bob.agency, type="school_absence")
    page = client_for(alice).get(reverse("child-detail", args=[kit.pk])).content.decode()
    assert 'class="jigsaw-timeline"' in page
    assert "Timeline of 2 entries from 2 agencies" in page


def test_later_modules_add_panels_without_chronology_importing_them(client_for, alice, kit, settings, tmp_path):
    template = tmp_path / "test_panel.html"
    template.write_text("<p>Panel says {{ panel.word }}</p>")
    engine = {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], tmp_path]}
    settings.TEMPLATES = [engine]
    panels.register(panels.Panel(name="test", template="test_panel.html", context=lambda r, c, a: {"word": "hello"}))
    try:
        assert "Panel says hello" in client_for(alice).get(reverse("child-detail", args=[kit.pk])).content.decode()
    finally:
        panels._PANELS.pop("test")


def test_key_facts_show_age_mobility_plans_and_involvements(client_for, alice, kit):
    from chronology.models import Child

    baby = ChildFactory(given_name="Bea", date_of_birth=timezone.localdate() - datetime.timedelta(days=60))
    involve(baby, alice, reason=InvolvementReason.UNIVERSAL_SERVICE, days_ago=1)
    make_event(baby, alice.agency, type="plan_start", occurred_on=timezone.localdate(), details={"plan": "cp"})
    page = client_for(alice).get(reverse("child-detail", args=[baby.pk])).content.decode()
    assert "1 month" in page
    assert "No: not independently mobile" in page and "(from age)" in page
    assert "Child protection plan since" in page
    assert alice.get_full_name() in page
    assert Child.objects.get(pk=baby.pk).not_independently_mobile_on(timezone.localdate())


def test_the_database_raises_a_records_version_with_every_statement_adding_events(kit, alice):
    """api.reads keys the pages it keeps on this number (chronology.models.EventsVersion), on both databases."""
    from chronology.models import EventsVersion

    assert not EventsVersion.objects.filter(child=kit).exists()
    for n in (1, 2):
        services.event_record(
            actor=alice,
            child=kit,
            data=services.EventInput(
                occurred_on=datetime.date(2025, 1, n), agency=alice.agency, type="health_contact", summary=f"Visit {n}."
            ),
        )
        assert EventsVersion.objects.get(child=kit).version == n


def test_every_type_records_are_searched_by_is_indexed():
    # Events by child and type are indexed only for TYPES_LOOKED_FOR: a type searched for outside it would read
    # every event of the records it looks in (the referral loops run on every write, for hundreds of children).
    from chronology.models import TYPES_LOOKED_FOR
    from escalation.services.loops import OUTCOME_TYPES

    assert OUTCOME_TYPES | {"referral", "case_closed", "plan_start", "plan_end"} <= set(TYPES_LOOKED_FOR)
