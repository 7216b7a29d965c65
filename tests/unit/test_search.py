"""Finding a child: tolerant by name among the children you may read, exact identifiers for any other."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from agencies import services as agency_services
from agencies.models import AccessBasis, AccessLog, ExceptionalAccess, ExceptionalAccessKind, Involvement
from chronology import search
from chronology.linkage import child_merge
from chronology.models import Child, ChildAlias
from tests.factories import ChildFactory, involve

BORN = datetime.date(2019, 3, 27)


def results_of(page: str) -> str:
    """The page below the search form: what was found (the form repeats what was typed)."""
    return page.split('id="results"', 1)[1]


def found_names(actor, name="", date_of_birth=None) -> list[str]:
    return [
        f.child.full_name for f in search.children_found(actor=actor, name=name, date_of_birth=date_of_birth).results
    ]


def by_name(name: str, born: datetime.date = BORN) -> dict:
    return {"name": name, "dob_day": born.day, "dob_month": born.month, "dob_year": born.year}


@pytest.mark.parametrize(
    ("given", "family", "typed"),
    [
        ("Zoë", "Hartley", "zoe hartley"),
        ("Mohammed", "Rahman", "Muhammad"),
        ("Aleksandr", "Volkov", "Alexander Volkov"),
        ("Katherine", "Dunmore", "Catherine"),
        ("Mia", "Thornton", "Thorntan"),
        ("Mia", "Thornton", "THORNTON"),
        ("Mia", "Thornton", "mia"),
        ("Mia", "Thornton", "Mia Thornton"),
        ("Mia", "Thornton", "Thornton, Mia"),
        ("Mia", "Thornton", "Mia Thorton"),
        ("Siobhán", "O'Neill", "siobhan oneill"),
        ("Mary Jane", "Smith-Jones", "Jane Jones"),
        # Letters that are not accented Latin ones, and other scripts, count as their usual transliteration.
        ("Jayden", "Holt", "Jayden Hołt"),
        ("Zofia", "Wójcik-Łukasik", "zofia wojcik lukasik"),
        ("Søren", "Ærø", "Soren Aero"),
        ("Eleni", "Papadopoulos", "Ελένη Papadopoulos"),
        ("Thi", "Nguyen", "Nguyễn Thị"),
    ],
)
def test_a_readable_child_is_found_despite_spelling_accents_and_transliteration(alice, given, family, typed):
    involve(ChildFactory(given_name=given, family_name=family), alice)
    assert found_names(alice, typed) == [f"{given} {family}"]


@pytest.mark.parametrize("typed", ["Olivia", "Harvey", "Mia Harrison", "Thompson"])
def test_a_different_name_is_not_found(alice, typed):
    involve(ChildFactory(given_name="Oliver", family_name="Thornton"), alice)
    involve(ChildFactory(given_name="Harry", family_name="Thornton"), alice)
    assert found_names(alice, typed) == []


def test_an_alias_finds_the_child_and_says_which_name_matched(alice):
    child = involve(ChildFactory(given_name="Amelia", family_name="Clarke"), alice).child
    ChildAlias.objects.create(child=child, given_name="Millie", family_name="Bright", note="known as")
    [found] = search.children_found(actor=alice, name="Milly Bright").results
    assert found.child == child and found.matched == "alias Millie Bright"


def test_a_merged_record_is_found_as_its_surviving_record(alice, lead):
    surviving = involve(ChildFactory(given_name="Leo", family_name="Marsh"), alice).child
    merged = ChildFactory(given_name="Leon", family_name="Marshe")
    ChildAlias.objects.create(child=merged, given_name="Lee", family_name="Fairbrother")
    child_merge(actor=lead, merged=merged, surviving=surviving, reason="Same child: same address and parents.")
    [found] = search.children_found(actor=alice, name="Leon Marshe").results
    assert found.child == surviving and found.matched == "merged record Leon Marshe"
    for actor in (alice, lead):
        assert found_names(actor, "Leon Marshe") == ["Leo Marsh"]
        assert found_names(actor, "Lee Fairbrother") == ["Leo Marsh"]


def test_a_date_of_birth_narrows_the_search_or_alone_lists_the_children_born_that_day(alice):
    involve(ChildFactory(given_name="Mia", family_name="Thornton", date_of_birth=BORN), alice)
    involve(ChildFactory(given_name="Mia", family_name="Thornton", date_of_birth=datetime.date(2020, 1, 2)), alice)
    involve(ChildFactory(given_name="Noah", family_name="Price", date_of_birth=BORN), alice)
    ChildFactory(given_name="Ruby", family_name="Unread", date_of_birth=BORN)  # nobody alice works with
    assert len(found_names(alice, "Mia Thornton")) == 2
    assert found_names(alice, "Mia Thornton", BORN) == ["Mia Thornton"]
    assert sorted(found_names(alice, "", BORN)) == ["Mia Thornton", "Noah Price"]


def test_the_closest_of_fifty_similar_names_come_first(alice):
    names = ["Thornton", "Thorntan", "Thorton", "Thornston", "Thornwood", "Thorne", "Horton", "Thomson"]
    for i in range(50):
        involve(ChildFactory(given_name=["Mia", "Maya", "Mya", "Nia", "Amir"][i % 5], family_name=names[i % 8]), alice)
    results = search.children_found(actor=alice, name="Mia Thornton").results
    assert [f.child.full_name for f in results[:2]] == ["Mia Thornton", "Mia Thornton"]
    assert results[0].score == 1.0 > results[2].score
    assert [f.score for f in results] == sorted((f.score for f in results), reverse=True)
    assert [f.child.family_name for f in results[2:5]] == ["Thornston", "Thorntan", "Thorton"]
    # a different given or family name is not a match, however alike the other part
    assert {f.child.given_name for f in results} == {"Mia"}
    assert not {f.child.family_name for f in results} & {"Horton", "Thomson"}


def test_more_alike_names_than_can_be_ranked_says_so_and_asks_to_narrow(client_for, alice, monkeypatch):
    monkeypatch.setattr(search, "CANDIDATE_LIMIT", 3)  # the real limit is 5,000 names
    for given in ("Mia", "Mia", "Mia", "Mia"):
        involve(ChildFactory(given_name=given, family_name="Thornton"), alice)
    assert search.children_found(actor=alice, name="Mia Thornton").too_many
    page = client_for(alice).post(reverse("child-find"), {"name": "Mia Thornton"}).content.decode()
    assert "the closest may not be shown" in page


def test_an_area_lead_finds_the_area_children_and_not_another_area(lead, far_child):
    ChildFactory(given_name="Ellis", family_name="Warren")
    far_child.given_name, far_child.family_name = "Ellis", "Warren"
    far_child.save()
    [found] = search.children_found(actor=lead, name="Elis Waren").results
    assert found.child.area.name == "Northshire" and found.access.basis == AccessBasis.AREA_SAFEGUARDING_LEAD


def test_a_child_you_may_not_read_never_shows_from_a_tolerant_match_and_nothing_is_logged(client_for, bob, kit):
    page = client_for(bob).post(reverse("child-find"), {"name": "Kit Invented"}).content.decode()
    assert "No child found" in page and "Kit" not in results_of(page)
    # near but not exact, even with the date of birth: still nothing
    page = client_for(bob).post(reverse("child-find"), by_name("Kitt Invented", kit.date_of_birth)).content.decode()
    assert "No child found" in page and "Kit" not in results_of(page)
    assert not AccessLog.objects.exists()


def test_listing_readable_children_is_not_a_record_read_but_opening_one_is(client_for, alice, kit):
    client = client_for(alice)
    page = client.post(reverse("child-find"), {"name": "kitt invented"}).content.decode()
    assert "Children you can open" in page and "A child matching the identifiers exactly" not in page
    assert f'href="{reverse("child-detail", args=[kit.pk])}"' in page
    assert "Own involvement" in results_of(page)  # alice's access basis
    assert not AccessLog.objects.exists()
    client.get(reverse("child-detail", args=[kit.pk]))
    assert AccessLog.objects.filter(user=alice, child=kit, basis=AccessBasis.INVOLVEMENT).count() == 1


def test_an_exact_name_ignoring_case_and_accents_discloses_the_summary_logged(client_for, bob):
    zoe = ChildFactory(given_name="Zoë", family_name="Ångström", date_of_birth=BORN)
    page = client_for(bob).post(reverse("child-find"), by_name("ZOE angstrom")).content.decode()
    assert "A child matching the identifiers exactly" in page and "Zoë Ångström" in page
    assert "Record information about Zoë" in page and "Open this record in an emergency (break-glass)" in page
    assert "Children you can open" not in page
    entry = AccessLog.objects.get(child=zoe, user=bob)
    assert entry.basis == AccessBasis.IDENTIFIER_MATCH


def test_break_glass_and_recording_work_from_an_accent_folded_exact_match(client_for, bob, ann):
    zoe = ChildFactory(given_name="Zoë", family_name="Ångström", date_of_birth=BORN)
    hidden = {"given_name": "Zoë", "family_name": "Ångström", "dob_day": 27, "dob_month": 3, "dob_year": 2019}
    page = client_for(bob).post(reverse("child-find"), by_name("zoe angstrom")).content.decode()
    assert 'name="given_name" value="Zoë"' in page and 'name="dob_day" value="27"' in page
    reason = "Zoë arrived at school with an injury and her mother cannot be reached."
    response = client_for(bob).post(reverse("child-break-glass"), {**hidden, "child": zoe.pk, "reason": reason})
    assert response.status_code == 302 and response["Location"] == reverse("child-detail", args=[zoe.pk])
    assert ExceptionalAccess.objects.filter(user=bob, child=zoe, kind=ExceptionalAccessKind.BREAK_GLASS).exists()
    response = client_for(ann).post(reverse("child-claim"), {**hidden, "child": zoe.pk})
    assert response.status_code == 302
    assert Involvement.objects.filter(child=zoe, practitioner=ann).exists()


def test_an_nhs_number_discloses_and_a_readable_match_is_listed_to_open(client_for, alice, bob, kit):
    page = client_for(bob).post(reverse("child-find"), {"nhs_number": "999 123 4519"}).content.decode()
    assert "1 child found" in page and "A child matching the identifiers exactly" in page
    assert AccessLog.objects.filter(child=kit, user=bob, basis=AccessBasis.IDENTIFIER_MATCH).count() == 1
    page = client_for(alice).post(reverse("child-find"), {"nhs_number": "999-123\u20134519"}).content.decode()
    assert "Children you can open" in page and "A child matching the identifiers exactly" not in page
    assert not AccessLog.objects.filter(user=alice).exists()


def test_an_auditor_finds_only_records_opened_for_audit_and_is_offered_an_audit_opening(client_for, auditor, kit):
    client = client_for(auditor)
    page = client.post(reverse("child-find"), {"name": "Kit Invented"}).content.decode()
    assert "No child found" in page
    page = client.post(reverse("child-find"), {"nhs_number": "9991234519"}).content.decode()
    assert "A child matching the identifiers exactly" in page
    assert reverse("child-audit-open", args=[kit.pk]) in page
    assert "break-glass" not in page and "Record information" not in page
    agency_services.exceptional_access_open(
        actor=auditor, child=kit, kind=ExceptionalAccessKind.AUDIT, reason="Complaint 2026/114: checking the record."
    )
    page = client.post(reverse("child-find"), {"name": "kit invented"}).content.decode()
    assert "Children you can open" in page and '<td class="govuk-table__cell">Audit</td>' in page


@pytest.mark.parametrize(
    ("data", "message", "field"),
    [
        ({"nhs_number": "999 123 4518"}, "Enter a valid 10-digit NHS number", "id_nhs_number"),
        (
            {"name": "Kit", "dob_day": 31, "dob_month": 2, "dob_year": 2020},
            "The date of birth must be a real date",
            "id_dob_day",
        ),
        ({"name": "Kit", "dob_day": 3}, "The date of birth must include a month and a year", "id_dob_day"),
        ({}, "Enter a name, a date of birth, an NHS number or a unique pupil number", "id_name"),
    ],
)
def test_bad_input_gets_a_clear_message_linked_to_its_field_and_finds_nothing(
    client_for, alice, kit, data, message, field
):
    page = client_for(alice).post(reverse("child-find"), data).content.decode()
    assert "<title>Error: Find a child – Jigsaw</title>" in page
    assert f'href="#{field}">{message}' in page
    assert "child found" not in page and "Kit Invented" not in page
    assert not AccessLog.objects.exists()


def test_the_page_asks_for_a_name_date_of_birth_and_identifiers(client_for, bob):
    page = client_for(bob).get(reverse("child-find")).content.decode()
    for label in ("Name", "Date of birth", "NHS number", "Unique pupil number (UPN)"):
        assert label in page
    assert 'method="post"' in page


def test_search_keys_follow_the_name_when_it_changes(db):
    child = ChildFactory(given_name="Mia", family_name="Thornton")
    assert " m:0RNTN " in child.name_keys
    child.family_name = "Whitaker"
    child.save(update_fields=["family_name"])
    assert " m:0RNTN " not in Child.objects.get(pk=child.pk).name_keys
    alias = ChildAlias.objects.create(child=child, given_name="Mia", family_name="Thornton")
    assert " m:0RNTN " in ChildAlias.objects.get(pk=alias.pk).name_keys
