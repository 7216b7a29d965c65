"""Likely matches, the match-review list, merge and unmerge: who sees what and what is recorded."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from agencies.models import AccessBasis, AccessLog, AgencyKind, Area, AuditEntry, Role
from chronology import linkage
from chronology import vocabulary as v
from chronology.models import Child, Event, MatchCandidate, MergeRecord
from tests.factories import AgencyFactory, ChildFactory, involve, persona
from tests.helpers import readable

DUP_NHS = (
    "9991234500"  # a valid NHS number from the range set aside for tests that must never show to a reader of kit only
)


@pytest.fixture
def dup(db, kit):
    """A second record of kit from another source, with a spelling variant and no involvement."""
    return ChildFactory(given_name="Kitt", family_name="Invented", date_of_birth=kit.date_of_birth, upn="")


@pytest.fixture
def match(dup, kit):
    (candidate,) = linkage.likely_matches_queue(dup)
    assert candidate.candidate == kit
    return candidate


def event_on(child, agency, ref: str) -> Event:
    return Event.objects.create(
        child=child,
        source_system="test",
        ref=ref,
        occurred_on=datetime.date(2024, 1, 10),
        agency=agency,
        type=next(iter(v.EVENT_TYPES)),
        summary="Invented entry.",
        recorded_at=timezone.now(),
    )


# --- scoring ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "reason"),
    [
        (("Mohammed", "Khan"), ("Muhammad", "Khan"), "given names sound alike (MHMT)"),
        (("Katie", "Invented"), ("Katy", "Invented"), "given names sound alike (KT)"),
        (("Yusuf", "Rahman"), ("Yousef", "Rahman"), "given names sound alike"),
        (("Chloe", "Invented"), ("Khloe", "Invented"), "given names sound alike (CL)"),
        (("Kit", "Smith"), ("Kit", "Smyth"), "family names sound alike (SMTH)"),
        (("Aleksandr", "Kowalski"), ("Alexander", "Kovalsky"), "family names spelt alike"),
        (("Zoë", "O'Brien"), ("Zoe", "OBrien"), "family names the same"),
        (("Mary-Jane", "Invented"), ("Mary Jane", "Invented"), "given names the same"),
        (("Mary Jane", "Invented"), ("Mary", "Invented"), "given names share a part (mary)"),
        (("Kit", "Invented"), ("Invented", "Kit"), "given and family names swapped"),
        (("Muhammad Ali", "Khan"), ("Muhammad", "Ali Khan"), "the same names in a different order or split"),
        (("Katie", "Invented"), ("Invented", "Katy"), "given and family names swapped"),
    ],
)
def test_spelling_transliteration_and_order_variants_are_likely_matches(a, b, reason):
    found = linkage.name_match(*a, *b)
    assert found is not None
    assert found.score >= linkage.LIKELY_MATCH_THRESHOLD
    assert any(r.startswith(reason) for r in found.reasons), found.reasons


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("Kit", "Invented"), ("Sam", "Other")),
        (("Amy", "Invented"), ("Ava", "Invented")),  # twins are different children
        (("Oliver", "Invented"), ("Olivia", "Invented")),
        (("Harry", "Invented"), ("Harvey", "Invented")),
        (("Kit", "Invented"), ("Kit", "Different")),
        (("Kit", ""), ("Kit", "Invented")),  # a record without both names is found by identifiers only
    ],
)
def test_different_names_are_not_likely_matches(a, b):
    assert linkage.name_match(*a, *b) is None


def test_a_likely_match_is_queued_with_its_reasons_and_links_nothing(dup, kit):
    (candidate,) = linkage.likely_matches_queue(dup)
    assert (candidate.child, candidate.candidate, candidate.status) == (dup, kit, MatchCandidate.Status.OPEN)
    assert candidate.reasons[0] == "same date of birth"
    assert "family names the same" in candidate.reasons
    assert any(r.startswith("given names") for r in candidate.reasons)
    assert linkage.LIKELY_MATCH_THRESHOLD <= candidate.score < 1
    dup.refresh_from_db()
    assert dup.merged_into is None and not MergeRecord.objects.exists()


def test_different_date_of_birth_or_different_nhs_numbers_are_not_queued(kit):
    other_day = ChildFactory(given_name="Kit", family_name="Invented", date_of_birth=datetime.date(2021, 5, 5))
    other_child = ChildFactory(
        given_name="Kit", family_name="Invented", date_of_birth=kit.date_of_birth, nhs_number=DUP_NHS
    )
    assert linkage.likely_matches_queue(other_day) == []
    assert linkage.likely_matches_queue(other_child) == []
    # the NHS number on one side only is no bar: that is the duplicate review exists for
    no_number = ChildFactory(given_name="Kit", family_name="Invented", date_of_birth=kit.date_of_birth)
    assert [m.candidate for m in linkage.likely_matches_queue(no_number)] == [kit, other_child]


def test_a_pair_is_never_recorded_twice_either_way_round_or_after_a_decision(dup, kit, match, lead):
    assert linkage.likely_matches_queue(dup) == []
    assert linkage.likely_matches_queue(kit) == []
    linkage.match_reject(actor=lead, match=match, reason="Different children: checked with the school.")
    assert linkage.likely_matches_queue(kit) == []
    assert MatchCandidate.objects.count() == 1


def test_merged_records_are_not_candidates(dup, kit, lead):
    linkage.child_merge(actor=lead, merged=dup, surviving=kit, reason="Same child: same address and GP.")
    third = ChildFactory(given_name="Kitt", family_name="Invented", date_of_birth=kit.date_of_birth)
    assert [m.candidate for m in linkage.likely_matches_find(third)] == [kit]
    dup.refresh_from_db()
    assert linkage.likely_matches_find(dup) == []


# --- the review list ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["alice", "ann", "bob", "edt", "auditor", "admin"])
def test_the_review_list_does_not_exist_for_anyone_but_safeguarding_leads(request, client_for, match, name):
    client = client_for(request.getfixturevalue(name))
    assert client.get(reverse("match-review")).status_code == 404
    assert client.post(reverse("match-review"), {"match": match.pk, "decision": "reject"}).status_code == 404
    match.refresh_from_db()
    assert match.status == MatchCandidate.Status.OPEN
    assert not AccessLog.objects.exists()


def test_signed_out_the_review_list_asks_to_sign_in(client, match):
    response = client.get(reverse("match-review"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("sign-in"))


def test_the_area_lead_sees_both_records_in_full_and_may_merge(client_for, lead, match, kit, dup):
    page = client_for(lead).get(reverse("match-review")).content.decode()
    assert "Kitt Invented" in page and "Kit Invented" in page
    assert kit.nhs_number in page and "Same child: merge the records" in page
    rows = AccessLog.objects.filter(user=lead)
    assert {(r.child_id, r.basis) for r in rows} == {
        (kit.pk, AccessBasis.AREA_SAFEGUARDING_LEAD),
        (dup.pk, AccessBasis.AREA_SAFEGUARDING_LEAD),
    }


def test_a_designated_lead_sees_only_the_summary_of_the_record_they_do_not_work_with(client_for, dsl, kit):
    dup = ChildFactory(given_name="Kitt", family_name="Invented", date_of_birth=kit.date_of_birth, upn="A123456789012")
    linkage.likely_matches_queue(dup)
    page = client_for(dsl).get(reverse("match-review")).content.decode()
    assert "Kitt Invented" in page and dup.area.name in page
    assert kit.nhs_number in page  # the record their agency works with, in full
    assert dup.upn not in page and reverse("child-detail", args=[dup.pk]) not in page
    assert "you see only what an exact match on their details would show" in page
    # they may not merge a record they cannot write to; they may say the children are different
    assert "Same child: merge the records" not in page and 'value="reject"' in page
    summary = AccessLog.objects.get(user=dsl, child=dup)
    assert summary.basis == AccessBasis.IDENTIFIER_MATCH and "match review" in summary.what
    assert AccessLog.objects.get(user=dsl, child=kit).basis == AccessBasis.DESIGNATED_SAFEGUARDING_LEAD


def test_a_designated_lead_who_reads_neither_record_sees_nothing(client_for, match):
    other_dsl = persona("dslb", "agency-b", AgencyKind.SCHOOL, Role.DESIGNATED_SAFEGUARDING_LEAD)
    response = client_for(other_dsl).get(reverse("match-review"))
    assert response.status_code == 200
    assert "Kit" not in readable(response)
    assert not AccessLog.objects.exists()


def test_the_area_lead_sees_only_pairs_with_both_records_in_their_area(client_for, lead, kit):
    southmoor, _ = Area.objects.get_or_create(code="southmoor", defaults={"name": "Southmoor"})
    moved = ChildFactory(given_name="Kitt", family_name="Invented", date_of_birth=kit.date_of_birth, area=southmoor)
    far = ChildFactory(given_name="Far", family_name="Away", date_of_birth=kit.date_of_birth, area=southmoor)
    far_dup = ChildFactory(given_name="Farr", family_name="Away", date_of_birth=kit.date_of_birth, area=southmoor)
    assert linkage.likely_matches_queue(moved) and linkage.likely_matches_queue(far_dup)
    assert MatchCandidate.objects.filter(child=far_dup, candidate=far).exists()
    page = client_for(lead).get(reverse("match-review")).content.decode()
    assert "There are no likely duplicate records for you to review." in page
    assert "Far" not in readable(page) and not AccessLog.objects.exists()


# --- decisions ----------------------------------------------------------------------------------


def test_confirming_merges_the_records_and_records_the_decision(client_for, lead, match, kit, dup):
    reason = "Same child: the school and health visitor hold the same address and parents."
    response = client_for(lead).post(
        reverse("match-review"), {"match": match.pk, "decision": "confirm", "reason": reason}
    )
    assert response.status_code == 302
    dup.refresh_from_db()
    match.refresh_from_db()
    assert dup.merged_into == kit  # the older record survives
    assert (match.status, match.decided_by, match.decision_reason) == (MatchCandidate.Status.CONFIRMED, lead, reason)
    assert match.decided_at is not None
    merge = MergeRecord.objects.get()
    assert (merge.merged, merge.surviving, merge.merged_by, merge.reason) == (dup, kit, lead, reason)
    assert set(AuditEntry.objects.values_list("action", flat=True)) == {"child_merged", "match_confirmed"}
    assert AuditEntry.objects.get(action="child_merged").child == dup


def test_confirming_needs_a_reason(client_for, lead, match, dup):
    response = client_for(lead).post(reverse("match-review"), {"match": match.pk, "decision": "confirm", "reason": " "})
    page = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in page and "Enter how you know these are the same child" in page
    dup.refresh_from_db()
    assert dup.merged_into is None and not AuditEntry.objects.exists()


def test_rejecting_records_different_children(client_for, dsl, match, dup):
    response = client_for(dsl).post(reverse("match-review"), {"match": match.pk, "decision": "reject"})
    assert response.status_code == 302
    match.refresh_from_db()
    assert (match.status, match.decided_by) == (MatchCandidate.Status.REJECTED, dsl)
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.user, entry.child) == ("match_rejected", dsl, dup)
    dup.refresh_from_db()
    assert dup.merged_into is None
    assert "There are no likely duplicate records" in client_for(dsl).get(reverse("match-review")).content.decode()


def test_a_designated_lead_who_cannot_write_both_records_cannot_merge_them(client_for, dsl, match, dup):
    response = client_for(dsl).post(
        reverse("match-review"), {"match": match.pk, "decision": "confirm", "reason": "I think so."}
    )
    assert response.status_code == 200
    assert "designated safeguarding lead who works with both" in response.content.decode()
    dup.refresh_from_db()
    match.refresh_from_db()
    assert dup.merged_into is None and match.status == MatchCandidate.Status.OPEN
    assert not AuditEntry.objects.exists()


def test_a_designated_lead_who_works_with_both_records_may_merge(dsl, match, kit, dup):
    involve(dup, agency=dsl.agency)
    merge = linkage.match_confirm(actor=dsl, match=match, reason="Same child: confirmed with the GP.")
    assert (merge.merged, merge.surviving) == (dup, kit)


def test_a_decided_pair_cannot_be_decided_again(client_for, lead, match):
    linkage.match_reject(actor=lead, match=match, reason="")
    response = client_for(lead).post(reverse("match-review"), {"match": match.pk, "decision": "confirm", "reason": "x"})
    assert response.status_code == 302
    match.refresh_from_db()
    assert match.status == MatchCandidate.Status.REJECTED


# --- merge and unmerge ---------------------------------------------------------------------------


def test_a_merge_keeps_every_event_on_its_own_record(lead, alice, kit, dup):
    school = AgencyFactory(code="agency-b", kind=AgencyKind.SCHOOL)
    on_kit, on_dup = event_on(kit, alice.agency, "e1"), event_on(dup, school, "e2")
    linkage.child_merge(actor=lead, merged=dup, surviving=kit, reason="Same child.")
    assert Event.objects.get(pk=on_kit.pk).child_id == kit.pk
    assert Event.objects.get(pk=on_dup.pk).child_id == dup.pk
    assert linkage.record_ids(kit) == [kit.pk, dup.pk]
    assert set(Event.objects.filter(child_id__in=linkage.record_ids(kit))) == {on_kit, on_dup}
    assert linkage.record_ids(dup) == [dup.pk]


def test_record_ids_follow_merges_at_any_depth(kit):
    a, b = ChildFactory(), ChildFactory()
    Child.objects.filter(pk=a.pk).update(merged_into=kit)
    Child.objects.filter(pk=b.pk).update(merged_into=a)
    assert linkage.record_ids(kit) == [kit.pk, a.pk, b.pk]


@pytest.mark.parametrize("name", ["alice", "ann", "bob", "edt", "auditor", "admin"])
def test_only_leads_merge(request, name, kit, dup):
    with pytest.raises(PermissionDenied):
        linkage.child_merge(actor=request.getfixturevalue(name), merged=dup, surviving=kit, reason="Same child.")
    dup.refresh_from_db()
    assert dup.merged_into is None and not MergeRecord.objects.exists() and not AuditEntry.objects.exists()


def test_a_merge_is_refused_for_merged_records_and_records_with_merges(lead, kit, dup):
    third = ChildFactory(given_name="Kit", family_name="Invented", date_of_birth=kit.date_of_birth)
    linkage.child_merge(actor=lead, merged=dup, surviving=kit, reason="Same child.")
    with pytest.raises(ValidationError, match="already merged"):
        linkage.child_merge(actor=lead, merged=dup, surviving=third, reason="Same child.")
    with pytest.raises(ValidationError, match="merge into that record instead"):
        linkage.child_merge(actor=lead, merged=third, surviving=dup, reason="Same child.")
    with pytest.raises(ValidationError, match="Undo those merges first"):
        linkage.child_merge(actor=lead, merged=kit, surviving=third, reason="Same child.")
    with pytest.raises(ValidationError, match="different NHS numbers"):
        other = ChildFactory(date_of_birth=kit.date_of_birth, nhs_number=DUP_NHS)
        linkage.child_merge(actor=lead, merged=other, surviving=kit, reason="Same child.")


def test_the_merges_page_is_for_the_area_lead(request, client_for, lead, kit, dup):
    linkage.child_merge(actor=lead, merged=dup, surviving=kit, reason="Same child: same address.")
    for name in ["alice", "ann", "bob", "dsl", "edt", "auditor", "admin"]:
        assert client_for(request.getfixturevalue(name)).get(reverse("child-merges", args=[kit.pk])).status_code == 404
    assert not AccessLog.objects.exists()
    page = client_for(lead).get(reverse("child-merges", args=[kit.pk])).content.decode()
    assert "Kitt Invented" in page and "Same child: same address." in page and "Undo this merge" in page
    assert {(r.child_id, r.what) for r in AccessLog.objects.filter(user=lead)} == {
        (kit.pk, "merges of this record"),
        (dup.pk, "merges page: a record merged into one they read"),
    }


def test_unmerging_restores_the_record_and_records_who_and_why(client_for, lead, kit, dup, match):
    merge = linkage.match_confirm(actor=lead, match=match, reason="Same child.")
    client = client_for(lead)
    url = reverse("child-merges", args=[kit.pk])
    refused = client.post(url, {"merge": merge.pk, "reason": ""})
    assert refused.status_code == 200 and "Enter why these are different children" in refused.content.decode()
    reason = "Different children: the NHS confirmed two births."
    assert client.post(url, {"merge": merge.pk, "reason": reason}).status_code == 302
    dup.refresh_from_db()
    merge.refresh_from_db()
    assert dup.merged_into is None
    assert (merge.unmerged_by, merge.unmerge_reason) == (lead, reason) and merge.unmerged_at is not None
    assert linkage.record_ids(kit) == [kit.pk]
    entry = AuditEntry.objects.get(action="child_unmerged")
    assert (entry.user, entry.child, entry.detail["reason"]) == (lead, dup, reason)
    with pytest.raises(ValidationError, match="already been undone"):
        linkage.child_unmerge(actor=lead, merge_record=merge, reason="Again.")


@pytest.mark.parametrize("name", ["alice", "dsl", "edt"])
def test_only_the_area_lead_unmerges(request, lead, kit, dup, name):
    merge = linkage.child_merge(actor=lead, merged=dup, surviving=kit, reason="Same child.")
    with pytest.raises(PermissionDenied):
        linkage.child_unmerge(actor=request.getfixturevalue(name), merge_record=merge, reason="Different.")
    dup.refresh_from_db()
    assert dup.merged_into == kit
