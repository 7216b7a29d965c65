"""The chronology through the REST API, as agencies' systems use it: finding a child, reading the chronology,
recording and amending events, as strictly as the browser does."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from agencies.models import AccessBasis, AccessLog, AuditEntry, Role
from agencies.policy import system_user
from chronology import services
from chronology.models import Event
from tests.api.conftest import AgencySystem
from tests.factories import AgencyFactory, ChildFactory, UserFactory, involve

VISIT = {
    "occurred_on": "2025-03-04",
    "type": "home_visit",
    "summary": "Home visit: Kit seen in the living room, playing with blocks; home warm, food in the cupboards.",
    "child_seen": True,
    "child_voice": "Kit showed me her new shoes and said she likes nursery.",
    "factors": [],
}


def make_event(child, agency, **fields) -> Event:
    """An event as an agency's system sent it, recorded by the platform's system account."""
    data = services.EventInput(
        occurred_on=fields.pop("occurred_on", datetime.date(2025, 1, 10)),
        agency=agency,
        type=fields.pop("type", "health_contact"),
        summary=fields.pop("summary", "Routine contact, child seen and weighed; growth on the 50th centile."),
        **fields,
    )
    return services.event_record(actor=system_user(), child=child, data=data)


def children_url():
    return reverse("api-children")


def events_url(child):
    return reverse("api-chronology", args=[child.pk])


def amend_url(event):
    return reverse("api-event-amend", args=[event.pk])


def written():
    """Everything a refused call must leave as it was."""
    return Event.objects.count(), AuditEntry.objects.count(), AccessLog.objects.count()


# --- finding a child ---------------------------------------------------------------------------------------


def test_agency_b_finds_kit_only_by_exact_nhs_number_as_a_logged_summary(system_b, bob, kit):
    response = system_b.get(children_url(), acting=bob, params={"nhs_number": "999 123 4519"})
    assert response.status_code == 200, response.content
    assert response.json()["count"] == 1
    assert response.json()["results"] == [
        {
            "id": kit.pk,
            "given_name": "Kit",
            "family_name": "Invented",
            "date_of_birth": kit.date_of_birth.isoformat(),
            "area": kit.area.name,
            "readable": False,
            "sex": None,
            "nhs_number": None,
            "upn": None,
        }
    ]
    disclosure = AccessLog.objects.get(child=kit)
    assert (disclosure.user, disclosure.basis, disclosure.channel) == (bob, AccessBasis.IDENTIFIER_MATCH, "api")
    assert disclosure.api_key_id == system_b.api_key.pk and "NHS number" in disclosure.what
    # Never by name, however exact: names search only the children the person reads.
    for params in (
        {"given_name": "Kit", "family_name": "Invented", "date_of_birth": kit.date_of_birth.isoformat()},
        {"given_name": "Kit"},
        {"family_name": "invented"},
    ):
        by_name = system_b.get(children_url(), acting=bob, params=params)
        assert by_name.status_code == 200 and by_name.json() == {
            "count": 0,
            "next": None,
            "previous": None,
            "results": [],
        }
    assert AccessLog.objects.filter(child=kit).count() == 1
    # Found, but still not readable.
    assert system_b.get(events_url(kit), acting=bob).status_code == 404


def test_a_name_search_is_tolerant_among_the_children_the_person_reads(system_a, alice, kit):
    ChildFactory(given_name="Kitty", family_name="Invented")  # nobody in agency A works with her
    response = system_a.get(children_url(), acting=alice, params={"given_name": "ki", "family_name": "INV"})
    assert response.status_code == 200
    [found] = response.json()["results"]
    assert found["id"] == kit.pk and found["readable"] is True and found["nhs_number"] == "9991234519"
    by_number = system_a.get(children_url(), acting=alice, params={"nhs_number": kit.nhs_number}).json()
    assert [(r["id"], r["readable"]) for r in by_number["results"]] == [(kit.pk, True)]
    assert not AccessLog.objects.exists()  # her own children: no disclosure


def test_a_search_names_what_to_give(system_a, alice):
    nothing = system_a.get(children_url(), acting=alice)
    assert nothing.status_code == 400
    message = " ".join(nothing.json()["non_field_errors"])
    assert all(name in message for name in ("nhs_number", "upn", "given_name", "family_name", "date_of_birth"))
    bad = system_a.get(children_url(), acting=alice, params={"nhs_number": "1234567890"})
    assert bad.status_code == 400 and "nhs_number" in bad.json()
    both = system_a.get(children_url(), acting=alice, params={"nhs_number": "9991234519", "given_name": "Kit"})
    assert both.status_code == 400


def test_search_results_come_in_pages(system_a, alice):
    for n in range(3):
        involve(ChildFactory(given_name=f"Sam{n}", family_name="Paged"), alice)
    first = system_a.get(children_url(), acting=alice, params={"family_name": "paged", "page_size": 2}).json()
    assert (first["count"], first["next"], first["previous"], len(first["results"])) == (3, 2, None, 2)
    second = system_a.get(children_url(), acting=alice, params={"family_name": "paged", "page_size": 2, "page": 2})
    assert second.json()["previous"] == 1 and [r["given_name"] for r in second.json()["results"]] == ["Sam2"]
    too_big = system_a.get(children_url(), acting=alice, params={"family_name": "paged", "page_size": 201})
    assert too_big.status_code == 400 and "page_size" in too_big.json()


# --- reading the chronology --------------------------------------------------------------------------------


def test_the_chronology_comes_in_pages_and_each_call_is_logged_with_the_key(system_a, alice, kit):
    for day in range(120):
        make_event(kit, alice.agency, occurred_on=datetime.date(2024, 1, 1) + datetime.timedelta(days=day))
    first = system_a.get(events_url(kit), acting=alice)
    assert first.status_code == 200, first.content
    body = first.json()
    assert (body["count"], body["next"], body["previous"], len(body["results"])) == (120, 2, None, 50)
    assert body["results"][0]["occurred_on"] == "2024-01-01"  # oldest first, as a chronology reads
    last = system_a.get(events_url(kit), acting=alice, params={"page": 3}).json()
    assert (last["next"], last["previous"], len(last["results"])) == (None, 2, 20)
    newest = system_a.get(events_url(kit), acting=alice, params={"order": "newest", "page_size": 200}).json()
    assert len(newest["results"]) == 120 and newest["results"][0]["occurred_on"] == "2024-04-29"
    assert system_a.get(events_url(kit), acting=alice, params={"page": 4}).status_code == 404
    assert system_a.get(events_url(kit), acting=alice, params={"page_size": 201}).status_code == 400
    logged = AccessLog.objects.filter(child=kit)
    assert logged.count() == 3  # one row a call that answered with entries
    assert {(e.user_id, e.channel, e.api_key_id, e.what) for e in logged} == {
        (alice.pk, "api", system_a.api_key.pk, "chronology (API)")
    }


def test_an_entry_carries_every_field_of_the_contract(system_a, alice, kit):
    event = make_event(
        kit,
        alice.agency,
        type="injury",
        factors=["18B"],
        summary="Bruise on the cheek noticed at immunisations; mother says a sibling dropped a toy on her.",
        child_seen=True,
        information_source="parent",
        significant=True,
        details={"injury_kind": "bruise", "injury_site": "cheek", "explanation_consistent": False},
        recorded_by="Dr A. Example, GP",
    )
    [entry] = system_a.get(events_url(kit), acting=alice).json()["results"]
    assert entry == {
        "id": event.pk,
        "ref": event.ref,
        "source_system": "jigsaw",
        "occurred_on": "2025-01-10",
        "date_precision": "day",
        "agency": {"code": alice.agency.code, "name": alice.agency.name},
        "type": "injury",
        "factors": ["18B"],
        "summary": event.summary,
        "action_taken": "",
        "child_seen": True,
        "child_seen_alone": None,
        "child_voice": "",
        "source": "parent",
        "verified": "unverified",
        "significant": True,
        "sharing": "all",
        "details": {"injury_kind": "bruise", "injury_site": "cheek", "explanation_consistent": False},
        "recorded_at": event.recorded_at.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z"),
        "recorded_by": "Dr A. Example, GP",
        "amends": None,
        "amendment_kind": None,
        "amendment_reason": None,
        "amendments": [],
        "superseded": False,
        "filed_in_error": False,
        "placeholder": False,
    }


def test_the_browsers_filters_apply(system_a, alice, bob, kit):
    for day in range(1, 61):
        make_event(
            kit,
            alice.agency,
            occurred_on=datetime.date(2024, 1, 1) + datetime.timedelta(days=day),
            significant=day % 2 == 0,
        )
    make_event(kit, bob.agency, type="school_absence", occurred_on=datetime.date(2024, 6, 1), factors=["16A"])

    def count(**params):
        response = system_a.get(events_url(kit), acting=alice, params=params)
        assert response.status_code == 200, response.content
        return response.json()["count"]

    assert count() == 61
    assert count(agency=alice.agency.code, significant="true") == 30
    assert count(agency=[alice.agency.code, bob.agency.code]) == 61
    assert count(type="school_absence") == 1
    assert count(factor=["16A", "3B"]) == 1
    assert count(date_from="2024-02-01", date_to="2024-02-10") == 10
    for params, field in (
        ({"agency": "no-such-agency"}, "agency"),
        ({"type": "picnic"}, "type"),
        ({"factor": "99Z"}, "factor"),
        ({"date_from": "yesterday"}, "date_from"),
        ({"date_from": "2024-03-01", "date_to": "2024-02-01"}, "date_to"),
        ({"agencies": alice.agency.code}, "agencies"),  # misspelt: refused, never quietly ignored
        ({"type": ""}, "type"),
    ):
        refused = system_a.get(events_url(kit), acting=alice, params=params)
        assert refused.status_code == 400 and field in refused.json(), params


def test_another_agencys_restricted_entry_is_a_placeholder(system_a, alice, bob, lead, kit):
    involve(kit, bob)
    restricted = make_event(
        kit,
        alice.agency,
        type="disclosure",
        summary="Mother disclosed a new partner who has a conviction for violence.",
        factors=["3B"],
        sharing="restricted",
        recorded_by="A. Visitor, Health visitor",
    )
    [placeholder] = AgencySystem(bob.agency).get(events_url(kit), acting=bob).json()["results"]
    assert placeholder["placeholder"] is True and "new partner" not in str(placeholder)
    assert (placeholder["id"], placeholder["type"], placeholder["occurred_on"]) == (
        restricted.pk,
        "disclosure",
        "2025-01-10",
    )
    assert placeholder["agency"] == {"code": alice.agency.code, "name": alice.agency.name}
    assert placeholder["recorded_by"] == "A. Visitor, Health visitor"  # whom to contact
    assert placeholder["summary"] is placeholder["factors"] is placeholder["details"] is None
    assert system_a.get(events_url(kit), acting=alice).json()["results"][0]["summary"].startswith("Mother disclosed")
    leads = AgencySystem(lead.agency).get(events_url(kit), acting=lead).json()["results"]
    assert leads[0]["placeholder"] is False and leads[0]["factors"] == ["3B"]
    # Nobody amends what they may not read.
    amend = AgencySystem(bob.agency).post(amend_url(restricted), {"amendment_reason": "x"}, acting=bob)
    assert amend.status_code == 404


def test_entries_filed_in_error_are_left_out_but_for_leads(system_a, alice, dsl, kit):
    original = make_event(kit, alice.agency, summary="Entry about another child, recorded here by mistake.")
    services.event_record(
        actor=alice,
        child=kit,
        data=services.EventInput(
            occurred_on=original.occurred_on,
            agency=alice.agency,
            type=original.type,
            summary=original.summary,
            amends=original,
            amendment_kind="filed_in_error",
            amendment_reason="Belongs to another child; recorded there.",
        ),
    )
    assert system_a.get(events_url(kit), acting=alice).json()["count"] == 0
    assert system_a.get(reverse("api-event-detail", args=[original.pk]), acting=alice).status_code == 404
    entries = system_a.get(events_url(kit), acting=dsl).json()["results"]
    assert [(e["id"] == original.pk, e["filed_in_error"], e["superseded"]) for e in entries] == [
        (True, True, True),
        (False, True, False),
    ]


def test_the_chronology_makes_the_same_few_queries_however_long(
    system_a, alice, bob, kit, django_assert_max_num_queries
):
    involve(kit, bob)
    system_b = AgencySystem(bob.agency)

    def count(system, acting, **params):
        system.get(events_url(kit), acting=acting, params=params)  # the key's last use is written once a minute
        with CaptureQueriesContext(connection) as queries:
            assert system.get(events_url(kit), acting=acting, params=params).status_code == 200
        return len(queries)

    for day in range(5):
        make_event(
            kit, alice.agency, occurred_on=datetime.date(2023, 1, 1) + datetime.timedelta(days=day), factors=["16A"]
        )
    few = (count(system_a, alice), count(system_b, bob, factor="16A", page_size=200))
    for day in range(300):
        make_event(
            kit,
            alice.agency,
            occurred_on=datetime.date(2024, 1, 1) + datetime.timedelta(days=day),
            sharing="restricted" if day % 3 else "all",
            factors=["16A"] if day % 2 else [],
        )
        if day % 10 == 0:
            make_event(kit, bob.agency, occurred_on=datetime.date(2024, 1, 1) + datetime.timedelta(days=day))
    many = (count(system_a, alice), count(system_b, bob, factor="16A", page_size=200))
    assert many == few
    with django_assert_max_num_queries(20):
        system_a.get(events_url(kit), acting=alice, params={"page": 3})


# --- recording an event ------------------------------------------------------------------------------------


def test_a_key_records_an_event_for_its_agency_by_the_acting_person(system_a, alice, kit, eager):
    response = system_a.post(events_url(kit), VISIT, acting=alice)
    assert response.status_code == 201, response.content
    event = Event.objects.get()
    assert (event.child, event.agency, event.recorded_by_user, event.source_system) == (
        kit,
        alice.agency,
        alice,
        "jigsaw",
    )
    assert event.summary == VISIT["summary"] and event.child_seen is True
    body = response.json()
    assert body["id"] == event.pk and body["placeholder"] is False and body["agency"]["code"] == alice.agency.code
    assert response["Location"] == reverse("api-event-detail", args=[event.pk])
    # The same shape as the chronology's entries, and the same entry behind the Location.
    assert system_a.get(response["Location"], acting=alice).json() == body
    assert system_a.get(events_url(kit), acting=alice).json()["results"] == [body]
    write = AccessLog.objects.get(what="event recorded (API)")
    assert (write.user, write.child, write.api_key_id, write.channel) == (alice, kit, system_a.api_key.pk, "api")
    assert AuditEntry.objects.filter(action="event_recorded", user=alice, child=kit).count() == 1


def test_the_browsers_prompts_do_not_hold_an_event_a_system_sends(system_a, alice, kit, eager):
    vague = {"occurred_on": "2025-03-04", "type": "home_visit", "summary": "No concerns.", "child_seen": True}
    assert system_a.post(events_url(kit), vague, acting=alice).status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**VISIT, "agency": "agency-b"}, "agency"),
        ({**VISIT, "recorded_by": "Somebody Else"}, "recorded_by"),
        ({**VISIT, "recorded_at": "2025-03-04T10:00:00Z"}, "recorded_at"),
        ({**VISIT, "ref": "my-own-ref"}, "ref"),
        ({**VISIT, "colour": "blue"}, "colour"),
        ({**VISIT, "type": "picnic"}, "type"),
        ({**VISIT, "factors": ["99Z"]}, "factors"),
        ({**VISIT, "source": "rumour"}, "source"),
        ({**VISIT, "sharing": "everyone"}, "sharing"),
        ({**VISIT, "details": {"injury_kind": "graze"}}, "details"),
        ({**VISIT, "details": {"to_agency": "no-such-agency"}}, "details"),
        ({**VISIT, "summary": 123}, "summary"),
        ({**VISIT, "summary": "   "}, "summary"),
        ({**VISIT, "child_seen": "yes"}, "child_seen"),
        ({**VISIT, "significant": 1}, "significant"),
        ({**VISIT, "factors": "16A"}, "factors"),
        ({**VISIT, "occurred_on": "04/03/2025"}, "occurred_on"),
        ({**VISIT, "occurred_on": "2999-01-01"}, "occurred_on"),  # the service's rule: today or earlier
        ({**VISIT, "child_seen": False, "child_seen_alone": True}, "child_seen_alone"),
        ({key: value for key, value in VISIT.items() if key != "type"}, "type"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_a_wrong_field_is_refused_by_name_and_nothing_is_written(system_a, alice, kit, body, field):
    before = written()
    response = system_a.post(events_url(kit), body, acting=alice)
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert written() == before


def test_malformed_json_and_a_body_that_is_no_object_are_refused(system_a, alice, kit):
    before = written()
    broken = system_a.post(events_url(kit), raw=b'{"type": "home_visit",', acting=alice)
    assert broken.status_code == 400 and "JSON" in broken.json()["detail"]
    deep = system_a.post(events_url(kit), raw=b'{"details": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", acting=alice)
    assert deep.status_code == 400 and "nested too deeply" in deep.json()["detail"]
    listed = system_a.post(events_url(kit), [VISIT], acting=alice)
    assert listed.status_code == 400
    assert written() == before


@pytest.mark.parametrize(
    "changes, place",
    [
        ({"summary": "Seen at home.\x00"}, "summary"),
        ({"details": {"note\x00": "x"}}, "a name in details"),
        ({"details": {"note": ["fine", "bad\x00"]}}, "details.note[1]"),
        ({"details": {"\ud800": "x"}}, "a name in details"),  # half a surrogate pair: no character at all
        ({"child_voice": "\udfc5 said hello"}, "child_voice"),
    ],
    ids=["nul-in-text", "nul-in-a-name", "nul-deep", "lone-surrogate-name", "lone-surrogate-text"],
)
def test_what_the_database_cannot_store_is_refused_by_place_and_nothing_is_written(
    system_a, alice, kit, eager, changes, place
):
    original = make_event(kit, alice.agency)
    before = written()
    for url, body in (
        (events_url(kit), {**VISIT, **changes}),
        (amend_url(original), {"amendment_reason": "Typo.", **changes}),
    ):
        response = system_a.post(url, body, acting=alice, headers={"Idempotency-Key": f"nul-{url}"})
        assert response.status_code == 400, response.content
        detail = response.json()["detail"]
        assert "cannot be stored" in detail and place in detail, detail
    assert written() == before


def test_who_may_not_record_is_refused(system_a_read_only, alice, edt, bob, system_b, kit, eager):
    emergency_duty_team = AgencySystem(edt.agency)
    before = written()
    read_only = system_a_read_only.post(events_url(kit), VISIT, acting=alice)
    assert read_only.status_code == 403 and "scope" in read_only.json()["detail"]
    assert emergency_duty_team.get(events_url(kit), acting=edt).status_code == 200
    reading_only = emergency_duty_team.post(events_url(kit), VISIT, acting=edt)
    assert reading_only.status_code == 403 and "not record" in reading_only.json()["detail"]
    assert system_b.post(events_url(kit), VISIT, acting=bob).status_code == 404
    assert written()[:2] == before[:2]
    assert not AccessLog.objects.filter(what="event recorded (API)").exists()


def test_agency_b_neither_reads_nor_writes_kits_chronology(system_a, system_b, alice, bob, kit, eager):
    event = make_event(kit, alice.agency)
    before = written()
    assert system_b.get(events_url(kit), acting=bob).status_code == 404
    assert system_b.get(reverse("api-event-detail", args=[event.pk]), acting=bob).status_code == 404
    assert system_b.post(events_url(kit), VISIT, acting=bob).status_code == 404
    amend = {"amendment_reason": "Agency B tries to correct agency A's entry.", "summary": "Something else."}
    assert system_b.post(amend_url(event), amend, acting=bob).status_code == 404
    assert system_b.get(reverse("api-chronology", args=[kit.pk + 1000]), acting=bob).status_code == 404
    assert written() == before


# --- amending an entry -------------------------------------------------------------------------------------


def test_a_correction_keeps_the_original_and_takes_its_unchanged_fields(system_a, alice, kit, eager):
    original = Event.objects.get(pk=system_a.post(events_url(kit), VISIT, acting=alice).json()["id"])
    response = system_a.post(
        amend_url(original),
        {"amendment_reason": "Wrong day recorded: checked with the diary.", "occurred_on": "2025-03-03"},
        acting=alice,
    )
    assert response.status_code == 201, response.content
    amendment = Event.objects.get(amends=original)
    assert (amendment.occurred_on, amendment.type, amendment.summary) == (
        datetime.date(2025, 3, 3),
        "home_visit",
        VISIT["summary"],
    )
    assert amendment.child_voice == VISIT["child_voice"] and amendment.agency == alice.agency
    body = response.json()
    assert (body["amends"], body["amendment_kind"], body["amendment_reason"]) == (
        original.pk,
        "correction",
        "Wrong day recorded: checked with the diary.",
    )
    assert response["Location"] == reverse("api-event-detail", args=[amendment.pk])
    entries = {e["id"]: e for e in system_a.get(events_url(kit), acting=alice).json()["results"]}
    assert entries[original.pk]["superseded"] is True and entries[original.pk]["amendments"] == [amendment.pk]
    assert AccessLog.objects.filter(what="event amended (API)", api_key=system_a.api_key).count() == 1


def test_filed_in_error_takes_the_entry_off_the_chronology(system_a, alice, kit, eager):
    original = system_a.post(events_url(kit), VISIT, acting=alice).json()
    response = system_a.post(
        reverse("api-event-amend", args=[original["id"]]),
        {"amendment_kind": "filed_in_error", "amendment_reason": "Belongs to another child; recorded there."},
        acting=alice,
    )
    assert response.status_code == 201 and response.json()["filed_in_error"] is True
    assert system_a.get(events_url(kit), acting=alice).json()["count"] == 0


def test_an_amendment_is_refused_by_name_and_by_who_may_amend(system_a, alice, bob, edt, kit, eager):
    original = make_event(kit, alice.agency)
    school, emergency_duty_team = AgencySystem(bob.agency), AgencySystem(edt.agency)
    before = written()
    for body, field in (
        ({"summary": "A corrected summary of what was seen."}, "amendment_reason"),
        ({"amendment_reason": "Typo.", "amendment_kind": "rewrite"}, "amendment_kind"),
        ({"amendment_reason": "Typo.", "agency": "agency-b"}, "agency"),
        ({"amendment_reason": "Typo.", "amends": original.pk}, "amends"),
        ({"amendment_reason": "Typo.", "type": "picnic"}, "type"),
    ):
        response = system_a.post(amend_url(original), body, acting=alice)
        assert response.status_code == 400 and field in response.json(), (body, response.json())
    involve(kit, bob)  # bob reads kit now, but amends only his own agency's entries
    not_his = school.post(amend_url(original), {"amendment_reason": "Typo."}, acting=bob)
    assert not_his.status_code == 403
    edt_amends = emergency_duty_team.post(amend_url(original), {"amendment_reason": "Typo."}, acting=edt)
    assert edt_amends.status_code == 403
    missing = system_a.post(
        reverse("api-event-amend", args=[original.pk + 1000]), {"amendment_reason": "x"}, acting=alice
    )
    assert missing.status_code == 404
    assert written()[:2] == before[:2]


# --- retries -----------------------------------------------------------------------------------------------


def test_a_retry_with_the_same_idempotency_key_replays_the_first_answer(system_a, alice, kit, eager):
    key = {"Idempotency-Key": "visit-2025-03-04-kit"}
    first = system_a.post(events_url(kit), VISIT, acting=alice, headers=key)
    again = system_a.post(events_url(kit), VISIT, acting=alice, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Location"] == first["Location"]
    assert again["Idempotent-Replayed"] == "true"
    assert Event.objects.count() == 1
    other = system_a.post(events_url(kit), {**VISIT, "summary": "A different visit."}, acting=alice, headers=key)
    assert other.status_code == 400 and "Idempotency-Key" in other.json()
    assert Event.objects.count() == 1
    for odd in ("visit\x00", "x" * 101, "tab\tinside"):
        refused = system_a.post(events_url(kit), VISIT, acting=alice, headers={"Idempotency-Key": odd})
        assert refused.status_code == 400 and "printable" in refused.json()["Idempotency-Key"][0], odd
    assert Event.objects.count() == 1


def test_an_amendment_retried_is_recorded_once(system_a, alice, kit, eager):
    original = make_event(kit, alice.agency, occurred_on=timezone.localdate())
    body = {"amendment_reason": "Wrong centile recorded.", "summary": "Weighed: 25th centile, as before."}
    headers = {"Idempotency-Key": "amend-1"}
    first = system_a.post(amend_url(original), body, acting=alice, headers=headers)
    again = system_a.post(amend_url(original), body, acting=alice, headers=headers)
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]
    assert Event.objects.filter(amends=original).count() == 1


def test_a_member_of_an_agency_team_records_as_that_agency(kit, eager):
    team_agency = AgencyFactory(code="agency-team", name="Team agency")
    member = UserFactory(username="member", agency=team_agency, roles=[Role.PRACTITIONER])
    involve(kit, agency=team_agency)  # the agency's team works with kit, no one practitioner
    response = AgencySystem(team_agency).post(events_url(kit), VISIT, acting=member)
    assert response.status_code == 201, response.content
    assert Event.objects.get().agency == team_agency and response.json()["agency"]["code"] == "agency-team"
