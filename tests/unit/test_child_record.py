"""The child record in the browser: adding a child (one child, one record), household and addresses."""

from __future__ import annotations

from django.urls import reverse

from agencies import policy
from agencies.models import AccessBasis, AuditEntry
from chronology.models import Address, Child, MatchCandidate, Person


def new_child(**overrides):
    data = {"given_name": "Poppy", "family_name": "Invented", "dob_day": "4", "dob_month": "5", "dob_year": "2021"}
    data.update(overrides)
    return data


def test_a_practitioner_adds_a_child_and_works_with_them(client_for, bob):
    response = client_for(bob).post(reverse("child-new"), new_child(nhs_number="999 123 4527"))
    child = Child.objects.get(given_name="Poppy")
    assert response["Location"] == reverse("child-detail", args=[child.pk])
    assert child.nhs_number == "9991234527" and child.area == bob.agency.area
    assert policy.access_for(bob, child).basis == AccessBasis.INVOLVEMENT
    assert AuditEntry.objects.filter(action="child_created", child=child).exists()


def test_a_known_nhs_number_finds_the_child_instead_of_adding_them_twice(client_for, bob, kit):
    response = client_for(bob).post(reverse("child-new"), new_child(nhs_number="999 123 4519"))
    page = response.content.decode()
    assert Child.objects.count() == 1
    assert "This child is already on Jigsaw" in page and "Record information about Kit" in page


def test_a_likely_duplicate_is_added_and_queued_for_review(client_for, bob, kit):
    client_for(bob).post(reverse("child-new"), new_child(given_name="Kitt"))
    new = Child.objects.get(given_name="Kitt")
    assert MatchCandidate.objects.filter(child=new, candidate=kit).exists()


def test_adding_a_child_names_what_is_missing(client_for, bob):
    page = client_for(bob).post(reverse("child-new"), new_child(given_name="", dob_day="")).content.decode()
    assert "Enter the child&#x27;s first name" in page
    assert not Child.objects.exists()


def test_household_members_and_addresses_are_recorded_and_shown(client_for, alice, kit):
    client = client_for(alice)
    client.post(
        reverse("household-add", args=[kit.pk]),
        {
            "role": "partner_of_parent",
            "given_name": "Dean",
            "family_name": "Invented",
            "relationship": "mother's partner, visits most days",
            "factors": ["2B"],
        },
    )
    person = Person.objects.get()
    assert person.factors == ["2B"] and list(person.children.all()) == [kit]
    client.post(
        reverse("address-add", args=[kit.pk]),
        {"address": "1 Harbour Row", "area_name": "Northshire", "moved_in": "01/01/2022"},
    )
    client.post(
        reverse("address-add", args=[kit.pk]),
        {"address": "9 Moor Lane", "area_name": "Southmoor", "moved_in": "01/06/2024"},
    )
    assert Address.objects.count() == 2
    page = client.get(reverse("child-detail", args=[kit.pk])).content.decode()
    assert "Dean Invented" in page and "mother&#x27;s partner, visits most days" in page
    assert "Moved across a border" in page


def test_readers_who_cannot_write_cannot_add_to_the_record(client_for, edt, bob, kit):
    assert client_for(edt).post(reverse("household-add", args=[kit.pk]), {"role": "father"}).status_code == 403
    assert client_for(bob).post(reverse("address-add", args=[kit.pk]), {"address": "x"}).status_code == 404
    assert not Person.objects.exists() and not Address.objects.exists()


def test_a_practitioner_records_mobility_and_details_and_the_change_is_audited(client_for, alice, kit):
    from agencies.models import AgencyKind
    from tests.factories import AgencyFactory

    nursery = AgencyFactory(code="nursery", name="Invented Nursery", kind=AgencyKind.EARLY_YEARS, area=kit.area)
    response = client_for(alice).post(
        reverse("child-details", args=[kit.pk]),
        {
            "mobility": "not_mobile",
            "sex": "female",
            "first_language": "Polish",
            "setting": nursery.pk,
            "young_carer": "no",
            "elective_home_education": "",
            "alias_given_name": "Kitty",
            "alias_note": "known as",
        },
    )
    assert response.status_code == 302
    kit.refresh_from_db()
    assert kit.not_independently_mobile_recorded is True and kit.setting == nursery and kit.young_carer is False
    assert kit.aliases.get().given_name == "Kitty"
    entry = AuditEntry.objects.get(action="child_details_changed")
    assert entry.user == alice and "not_independently_mobile_recorded" in entry.detail["changed"]
    page = client_for(alice).get(reverse("child-detail", args=[kit.pk])).content.decode()
    assert "No: not independently mobile" in page and "(recorded by a practitioner)" in page
    assert "Kitty" in page and "Invented Nursery" in page
