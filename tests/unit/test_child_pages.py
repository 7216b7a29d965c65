"""Finding a child, recording information, break-glass, involvements and reviews, through the pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from agencies import policy
from agencies.models import AccessBasis, AccessLog, ExceptionalAccess, Involvement, InvolvementReason
from tests.factories import ChildFactory
from tests.helpers import readable

KIT_BY_NHS = {"nhs_number": "999 123 4519"}


def kit_by_name(kit):
    d = kit.date_of_birth
    return {
        "given_name": "kit",
        "family_name": " INVENTED ",
        "dob_day": d.day,
        "dob_month": d.month,
        "dob_year": d.year,
    }


def test_opening_a_record_logs_who_what_why_and_from_where(client_for, alice, kit):
    response = client_for(alice).get(reverse("child-detail", args=[kit.pk]), REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
    assert "Kit Invented" in response.content.decode()
    entry = AccessLog.objects.get(child=kit)
    assert entry.user == alice
    assert entry.basis == AccessBasis.INVOLVEMENT
    assert entry.what == "chronology" and entry.channel == "page"
    assert entry.ip_address == "10.1.2.3"
    assert entry.request_id == response["X-Request-ID"]
    assert entry.involvement.practitioner == alice


def test_a_record_you_may_not_see_is_not_found_and_its_refusal_reveals_nothing(client_for, bob, kit):
    response = client_for(bob).get(reverse("child-detail", args=[kit.pk]))
    missing = client_for(bob).get(reverse("child-detail", args=[kit.pk + 1000]))
    assert response.status_code == missing.status_code == 404
    assert "Kit" not in readable(response)
    assert not AccessLog.objects.exists()


@pytest.mark.parametrize("identifiers", ["nhs", "name"])
def test_an_exact_identifier_match_shows_only_a_summary_and_is_logged(client_for, bob, kit, identifiers):
    data = KIT_BY_NHS if identifiers == "nhs" else kit_by_name(kit)
    page = client_for(bob).post(reverse("child-find"), data).content.decode()
    assert "1 child found" in page
    assert "Kit Invented" in page and "Record information about Kit" in page
    # the summary is name, date of birth and area only
    assert '<dt class="govuk-summary-list__key">NHS number</dt>' not in page
    entry = AccessLog.objects.get(child=kit, user=bob)
    assert entry.basis == AccessBasis.IDENTIFIER_MATCH


def test_a_partial_name_reveals_no_child(client_for, bob, kit):
    d = kit.date_of_birth
    page = (
        client_for(bob)
        .post(
            reverse("child-find"),
            {"given_name": "Ki", "family_name": "Invented", "dob_day": d.day, "dob_month": d.month, "dob_year": d.year},
        )
        .content.decode()
    )
    assert "No child found" in page and "Kit Invented" not in page


def test_find_refuses_an_invalid_nhs_number_with_the_error_summary(client_for, bob):
    page = client_for(bob).post(reverse("child-find"), {"nhs_number": "999 123 4518"}).content.decode()
    assert "<title>Error: Find a child – Jigsaw</title>" in page
    assert 'href="#id_nhs_number">Enter a valid 10-digit NHS number' in page


def test_find_needs_an_identifier(client_for, bob):
    page = client_for(bob).post(reverse("child-find"), {}).content.decode()
    assert "Enter a name, a date of birth, an NHS number or a unique pupil number" in page


def test_recording_information_creates_a_self_claimed_involvement_for_the_dsl_to_confirm(
    client_for, ann, dsl, auditor, kit
):
    response = client_for(ann).post(reverse("child-claim"), {**KIT_BY_NHS, "child": kit.pk})
    assert response.status_code == 302 and response["Location"] == reverse("child-detail", args=[kit.pk])
    involvement = Involvement.objects.get(child=kit, practitioner=ann)
    assert involvement.reason == InvolvementReason.RECORDED_INFORMATION
    assert involvement.awaiting_confirmation
    assert policy.access_for(ann, kit).basis == AccessBasis.INVOLVEMENT

    to_confirm = client_for(dsl).get(reverse("involvements-to-confirm")).content.decode()
    assert "Kit Invented" in to_confirm and ann.get_full_name() in to_confirm
    assert ann.get_full_name() in client_for(auditor).get(reverse("access-log")).content.decode()

    client_for(dsl).post(reverse("involvement-confirm", args=[involvement.pk]))
    involvement.refresh_from_db()
    assert involvement.confirmed_by == dsl
    assert "There is nothing to confirm." in client_for(dsl).get(reverse("involvements-to-confirm")).content.decode()


def test_recording_information_needs_the_identifiers_to_match_the_child(client_for, ann, kit):
    other = ChildFactory(nhs_number="9991234527")
    response = client_for(ann).post(reverse("child-claim"), {**KIT_BY_NHS, "child": other.pk})
    assert response.status_code == 404
    assert not Involvement.objects.filter(practitioner=ann).exists()


def test_break_glass_with_a_reason_opens_the_record_and_goes_to_review(client_for, bob, lead, auditor, kit):
    short = client_for(bob).post(reverse("child-break-glass"), {**KIT_BY_NHS, "child": kit.pk, "reason": "now"})
    assert short.status_code == 200
    assert "Write the reason in full" in short.content.decode()
    assert not ExceptionalAccess.objects.exists()

    reason = "Kit arrived at school with a burn and says she cannot go home."
    response = client_for(bob).post(reverse("child-break-glass"), {**KIT_BY_NHS, "child": kit.pk, "reason": reason})
    assert response["Location"] == reverse("child-detail", args=[kit.pk])
    page = client_for(bob).get(response["Location"]).content.decode()
    assert "You opened this record with break-glass" in page
    entry = AccessLog.objects.get(user=bob, basis=AccessBasis.BREAK_GLASS)
    assert entry.reason == reason

    for reviewer in (lead, auditor):
        assert reason in client_for(reviewer).get(reverse("access-reviews")).content.decode()
    opening = ExceptionalAccess.objects.get()
    refused = client_for(lead).post(reverse("access-reviews"), {"opening": opening.pk, "outcome": "inappropriate"})
    assert "Say why the access was not appropriate" in refused.content.decode()
    client_for(lead).post(reverse("access-reviews"), {"opening": opening.pk, "outcome": "appropriate"})
    opening.refresh_from_db()
    assert opening.review_outcome == "appropriate" and opening.reviewed_by == lead
    assert reason not in client_for(auditor).get(reverse("access-reviews")).content.decode()


def test_nobody_reviews_their_own_break_glass(client_for, lead, far_child, kit):
    from agencies import services
    from agencies.models import ExceptionalAccessKind

    services.exceptional_access_open(
        actor=lead, child=kit, kind=ExceptionalAccessKind.BREAK_GLASS, reason="Out of hours call about this child."
    )
    assert "Out of hours call" not in client_for(lead).get(reverse("access-reviews")).content.decode()


def test_dsl_adds_an_involvement_for_their_own_agency_only(client_for, dsl, ann, bob, kit):
    page = client_for(dsl).get(reverse("involvement-add", args=[kit.pk])).content.decode()
    assert bob.agency.name not in page
    response = client_for(dsl).post(
        reverse("involvement-add", args=[kit.pk]),
        {"agency": ann.agency_id, "practitioner": ann.pk, "reason": InvolvementReason.ALLOCATED},
    )
    assert response.status_code == 302
    assert policy.access_for(ann, kit).basis == AccessBasis.INVOLVEMENT
    refused = client_for(dsl).post(
        reverse("involvement-add", args=[kit.pk]),
        {"agency": bob.agency_id, "practitioner": bob.pk, "reason": InvolvementReason.ALLOCATED},
    )
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    assert policy.access_for(bob, kit) is None


def test_area_lead_adds_and_ends_an_involvement_for_any_agency_in_the_area(client_for, lead, bob, kit):
    client_for(lead).post(
        reverse("involvement-add", args=[kit.pk]),
        {"agency": bob.agency_id, "practitioner": "", "reason": InvolvementReason.UNIVERSAL_SERVICE},
    )
    assert policy.access_for(bob, kit).basis == AccessBasis.TEAM_INVOLVEMENT
    involvement = Involvement.objects.get(child=kit, agency=bob.agency)
    empty = client_for(lead).post(reverse("involvement-end", args=[involvement.pk]), {"reason": ""})
    assert "Enter why the involvement is ending" in empty.content.decode()
    client_for(lead).post(reverse("involvement-end", args=[involvement.pk]), {"reason": "Kit left the school."})
    assert policy.access_for(bob, kit) is None


def test_practitioners_cannot_end_involvements(client_for, alice, kit):
    involvement = kit.involvements.get(practitioner=alice)
    response = client_for(alice).post(reverse("involvement-end", args=[involvement.pk]), {"reason": "Done."})
    assert response.status_code == 403
    involvement.refresh_from_db()
    assert involvement.ended_at is None


def test_auditor_opens_a_record_only_with_a_reason(client_for, auditor, kit):
    assert client_for(auditor).get(reverse("child-detail", args=[kit.pk])).status_code == 404
    client_for(auditor).post(reverse("child-audit-open", args=[kit.pk]), {"reason": "too short"})
    assert not ExceptionalAccess.objects.exists()
    client_for(auditor).post(
        reverse("child-audit-open", args=[kit.pk]), {"reason": "Audit of self-claimed involvements, ref AU-7."}
    )
    page = client_for(auditor).get(reverse("child-detail", args=[kit.pk])).content.decode()
    assert "You opened this record for audit" in page
    assert AccessLog.objects.get(user=auditor, child=kit).basis == AccessBasis.AUDIT


def test_the_emergency_duty_team_reads_and_is_logged(client_for, edt, kit):
    page = client_for(edt).get(reverse("child-detail", args=[kit.pk])).content.decode()
    assert "as the emergency duty team" in page
    assert "Add an involvement" not in page
    assert AccessLog.objects.get(user=edt).basis == AccessBasis.EMERGENCY_DUTY_TEAM
