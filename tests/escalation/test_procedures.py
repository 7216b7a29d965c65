"""The staged procedure for professional disagreement, referral outcomes, countersigned closures,
and the supervision list, at the level of the services."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from agencies.models import AgencyKind, Involvement, InvolvementReason, Role
from agencies.policy import system_user
from chronology.services import EventInput, event_record
from escalation.calendar import LONDON
from escalation.models import (
    Alert,
    ClosureState,
    DisagreementState,
    Notification,
    Referral,
    StageOutcome,
)
from escalation.services import disagreements, loops
from tests.factories import UserFactory, involve, persona
from thresholds.services import child_reassess


def at(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=LONDON)


def raise_one(kit, alice, now="2026-11-20 15:00"):
    return disagreements.disagreement_raise(
        actor=alice,
        child=kit,
        decision_disputed="The referral of 12 November was closed with no further action by the front door.",
        concern="Kit has had three unexplained bruises in a month and nobody has seen Kit alone.",
        now=at(now),
    )


def test_a_practitioner_involved_raises_and_stage_one_runs_five_working_days(kit, alice):
    d = raise_one(kit, alice)  # Friday afternoon
    stage = d.current_stage
    assert (stage.number, stage.owner, stage.title) == (1, alice, "Practitioner to practitioner")
    assert stage.due_at == at("2026-11-27 15:00")


def test_people_not_involved_cannot_raise_and_bad_input_changes_nothing(kit, alice, bob, edt):
    with pytest.raises(PermissionDenied):
        raise_one(kit, bob)
    with pytest.raises(PermissionDenied):
        raise_one(kit, edt)  # reads the record, does not work with the child
    with pytest.raises(ValidationError) as refused:
        disagreements.disagreement_raise(actor=alice, child=kit, decision_disputed="", concern="short")
    assert set(refused.value.message_dict) == {"decision_disputed", "concern"}
    assert not kit.disagreements.exists()


def test_moving_up_opens_the_next_stage_with_its_people_and_the_raiser_hears_every_outcome(
    kit, alice, dsl, lead, django_capture_on_commit_callbacks
):
    manager = UserFactory(username="manager", agency=alice.agency, roles=[Role.LINE_MANAGER])
    alice.line_manager = manager
    alice.save()
    with django_capture_on_commit_callbacks(execute=True):
        d = raise_one(kit, alice)
        with pytest.raises(ValidationError):
            disagreements.stage_record_outcome(actor=alice, disagreement=d, outcome="moved_up", rationale="")
        disagreements.stage_record_outcome(
            actor=alice,
            disagreement=d,
            outcome=StageOutcome.MOVED_UP,
            rationale="The duty social worker keeps the decision; we could not agree.",
            now=at("2026-11-23 10:00"),
        )
    stage = d.current_stage
    assert stage.number == 2
    assert stage.owner == dsl
    assert set(stage.participants.all()) == {dsl, manager, alice}  # the raiser stays on
    assert stage.due_at == at("2026-11-30 10:00")
    assert Notification.objects.filter(user=alice, title__contains="stage 1").exists()
    with django_capture_on_commit_callbacks(execute=True):
        disagreements.stage_record_outcome(
            actor=dsl,
            disagreement=d,
            outcome=StageOutcome.RESOLVED,
            rationale="Strategy discussion agreed for tomorrow; section 47 enquiry to follow.",
            now=at("2026-11-24 10:00"),
        )
    d.refresh_from_db()
    assert d.state == DisagreementState.RESOLVED
    assert Notification.objects.filter(user=alice, title__contains="stage 2 resolved").exists()
    with pytest.raises(ValidationError):
        disagreements.stage_record_outcome(actor=dsl, disagreement=d, outcome="resolved", rationale="Again, again.")


def test_an_overdue_stage_prompts_its_owner_then_moves_up_across_a_bank_holiday(kit, alice, dsl):
    involve(kit, alice, days_ago=400)  # working with Kit since before the dates this test moves to
    d = raise_one(kit, alice, now="2026-08-21 11:00")  # Friday; due five working days later
    stage = d.current_stage
    assert stage.due_at == at("2026-08-28 11:00")
    assert disagreements.disagreements_chase(now=at("2026-08-28 10:59")) == 0
    assert disagreements.disagreements_chase(now=at("2026-08-28 11:01")) == 1  # prompted
    stage.refresh_from_db()
    assert stage.prompted_at == at("2026-08-28 11:01")
    # Monday 31 August is a bank holiday: one working day after the prompt is Tuesday.
    assert disagreements.disagreements_chase(now=at("2026-08-31 12:00")) == 0
    assert disagreements.disagreements_chase(now=at("2026-09-01 11:02")) == 1
    stage.refresh_from_db()
    assert stage.outcome == StageOutcome.OVERDUE
    assert d.current_stage.number == 2


def referral(kit, alice, to_agency, day=None):
    return event_record(
        actor=alice,
        child=kit,
        data=EventInput(
            occurred_on=day or timezone.localdate(),
            agency=alice.agency,
            type="referral",
            summary="Referral to school: Kit's weight is falling and mother seems low.",
            details={"to_agency": to_agency.code},
        ),
    )


def test_a_referral_waits_for_the_receiving_agencys_outcome_and_the_referrer_is_told(
    kit, alice, bob, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), time_machine.travel(at("2026-11-20 15:00"), tick=False):
        event = referral(kit, alice, bob.agency)
    loop = Referral.objects.get(event=event)
    assert loop.outcome_due_at == at("2026-11-25 15:00")  # three working days after a Friday afternoon
    assert (loop.from_agency, loop.to_agency, loop.referred_by) == (alice.agency, bob.agency, alice)
    # The receiving agency's team may now read what it was sent.
    assert Involvement.objects.filter(child=kit, agency=bob.agency, reason=InvolvementReason.REFERRAL).exists()
    with pytest.raises(PermissionDenied):
        loops.referral_outcome_record(actor=alice, referral=loop, outcome="early_help", text="Not mine to answer.")
    with django_capture_on_commit_callbacks(execute=True):
        loops.referral_outcome_record(
            actor=bob, referral=loop, outcome="early_help", text="Early help assessment offered; mother agreed."
        )
    loop.refresh_from_db()
    assert loop.outcome == "early_help" and loop.outcome_by == bob
    assert Notification.objects.filter(user=alice, title__contains="outcome of your referral").exists()


def test_an_outcome_entry_from_the_receiving_agency_closes_the_loop(kit, alice, bob):
    event = referral(kit, alice, bob.agency)
    event_record(
        actor=bob,
        child=kit,
        data=EventInput(
            occurred_on=timezone.localdate(),
            agency=bob.agency,
            type="assessment",
            summary="School completed an early help assessment.",
            details={"outcome": "early_help"},
        ),
    )
    loop = Referral.objects.get(event=event)
    assert loop.outcome == "early_help" and loop.outcome_event is not None


def test_an_old_referral_arriving_late_is_history_and_not_chased(kit, alice, bob):
    event = referral(kit, alice, bob.agency, day=timezone.localdate() - datetime.timedelta(days=400))
    assert not Referral.objects.filter(event=event).exists()


def risky(kit, alice):
    """Kit at indicated level 3 or more: a baby with a bruise."""
    kit.date_of_birth = timezone.localdate() - datetime.timedelta(days=70)
    kit.save()
    event_record(
        actor=alice,
        child=kit,
        data=EventInput(
            occurred_on=timezone.localdate(),
            agency=alice.agency,
            type="injury",
            summary="Bruise on the cheek of a ten-week-old baby seen at the baby clinic.",
            details={"injury_kind": "bruise"},
        ),
    )
    child_reassess(child_id=kit.pk)
    return kit


def closing(kit, alice):
    return EventInput(
        occurred_on=timezone.localdate(),
        agency=alice.agency,
        type="case_closed",
        summary="Case closed: family moved on and engaging with the GP.",
    )


def test_closing_at_risk_needs_a_countersignature_and_changes_nothing_without_one(kit, alice, ann, dsl):
    risky(kit, alice)
    before = kit.events.count()
    with pytest.raises(ValidationError) as refused:
        event_record(actor=alice, child=kit, data=closing(kit, alice))
    assert "countersignature" in str(refused.value)
    assert kit.events.count() == before
    request = loops.closure_request(
        actor=alice, child=kit, occurred_on=timezone.localdate(), summary="Family engaging; health visiting continues."
    )
    assert request.level_at_request >= 3
    with pytest.raises(PermissionDenied):
        loops.closure_decide(actor=alice, request=request, countersign=True, rationale="I agree with myself.")
    with pytest.raises(PermissionDenied):
        loops.closure_decide(actor=ann, request=request, countersign=True, rationale="A colleague, not a lead.")
    loops.closure_decide(
        actor=dsl, request=request, countersign=True, rationale="Full picture reviewed with the GP and school."
    )
    request.refresh_from_db()
    assert request.state == ClosureState.COUNTERSIGNED
    assert request.event.type == "case_closed" and "countersigned by" in request.event.summary


def test_a_closure_with_no_risk_needs_no_countersignature(kit, alice):
    event_record(actor=alice, child=kit, data=closing(kit, alice))
    assert kit.events.filter(type="case_closed").exists()


def test_a_closure_that_arrives_by_import_is_never_refused_and_raises_an_alert_if_risk_remains(kit, alice, lead):
    from chronology.exchange import chronology_import

    risky(kit, alice)
    document = {
        "format": "chronology-exchange/1",
        "source": "csc-system",
        "agencies": [{"code": alice.agency.code, "name": alice.agency.name, "kind": "health_visiting"}],
        "children": [
            {
                "ref": "kit",
                "given_name": "Kit",
                "family_name": "Invented",
                "date_of_birth": kit.date_of_birth.isoformat(),
                "nhs_number": kit.nhs_number,
                "area": kit.area.name,
            }
        ],
        "people": [],
        "events": [
            {
                "ref": "closed-1",
                "child": "kit",
                "occurred_on": timezone.localdate().isoformat(),
                "agency": alice.agency.code,
                "type": "case_closed",
                "summary": "Case closed by the previous system.",
            }
        ],
    }
    chronology_import(actor=system_user(), document=document)
    assert kit.events.filter(type="case_closed").exists()
    child_reassess(child_id=kit.pk)
    causes = {
        cause for carried in Alert.objects.filter(child=kit).values_list("causes", flat=True) for cause in carried
    }
    assert "flag:closed_with_unresolved_risk" in causes


def test_the_supervision_list_picks_children_by_the_pattern(kit, alice):
    manager = persona("manager", "agency-a", AgencyKind.HEALTH_VISITING, Role.LINE_MANAGER)
    alice.line_manager = manager
    alice.save()
    from tests.factories import ChildFactory

    calm = ChildFactory(given_name="Calm", family_name="Invented")
    involve(calm, alice)
    today = timezone.localdate()
    # Hunger seen every two months for ten months: never enough at once for child protection, never gone.
    for days in (300, 240, 180, 120, 60, 10):
        event_record(
            actor=alice,
            child=kit,
            data=EventInput(
                occurred_on=today - datetime.timedelta(days=days),
                agency=alice.agency,
                type="presentation_concern",
                summary="Kit arrived hungry, in the same clothes as yesterday, and asked for food.",
                factors=["16A"],
                child_seen=True,
            ),
        )
    rows = loops.supervision_children(user=manager)
    assert [r["child"] for r in rows] == [kit]
    assert rows[0]["months"] >= 6 and rows[0]["level"] in (2, 3)
    assert rows[0]["workers"] == [str(alice)]


def test_a_line_manager_reads_but_never_writes_the_records_their_reports_work_on(kit, alice, bob):
    from agencies import policy

    manager = persona("manager", "agency-a", AgencyKind.HEALTH_VISITING, Role.LINE_MANAGER)
    assert policy.access_for(manager, kit) is None
    alice.line_manager = manager
    alice.save()
    access = policy.access_for(manager, kit)
    assert access is not None and access.basis == "line_manager" and not access.can_write
    from chronology.models import Child

    assert list(Child.objects.filter(policy.readable_children_q(manager))) == [kit]
    bob.line_manager = manager  # managing someone not involved with Kit gives nothing more
    bob.save()
    alice.line_manager = None
    alice.save()
    assert policy.access_for(manager, kit) is None


def test_a_referral_recorded_in_the_form_names_the_receiving_agency(client_for, kit, alice, bob):
    from tests.unit.test_chronology import record

    client = client_for(alice)
    today = timezone.localdate()
    day = {"occurred_day": today.day, "occurred_month": today.month, "occurred_year": today.year}
    summary = "Referral to school: Kit's weight is falling and mother seems low."
    refused = record(client, kit, type="referral", summary=summary, **day)
    assert "Choose the agency the referral went to" in refused.content.decode()
    assert not kit.events.filter(type="referral").exists()
    response = record(client, kit, type="referral", to_agency=bob.agency.pk, summary=summary, **day)
    assert response.status_code == 302
    loop = Referral.objects.get(child=kit)
    assert loop.to_agency == bob.agency and loop.event.details["to_agency"] == bob.agency.code


def test_a_countersigned_closure_raises_no_alert_for_closing_at_risk(
    kit, alice, dsl, django_capture_on_commit_callbacks
):
    risky(kit, alice)
    request = loops.closure_request(
        actor=alice, child=kit, occurred_on=timezone.localdate(), summary="Family engaging; health visiting continues."
    )
    loops.closure_decide(actor=dsl, request=request, countersign=True, rationale="Full picture reviewed with the GP.")
    child_reassess(child_id=kit.pk)
    assert "closed_with_unresolved_risk" in kit.assessments.latest("assessed_at").flags
    causes = {c for carried in Alert.objects.filter(child=kit).values_list("causes", flat=True) for c in carried}
    assert "flag:closed_with_unresolved_risk" not in causes


def test_stage_two_hears_both_sides_even_when_one_agency_has_nobody_at_that_level(kit, alice, bob, dsl, lead):
    involve(kit, bob)
    d = disagreements.disagreement_raise(
        actor=alice,
        child=kit,
        decision_disputed="The school's decision on 3 November not to refer after Kit's disclosure.",
        concern="Kit told a teacher she is scared to go home; nobody has spoken to her since.",
        with_whom=bob,
    )
    disagreements.stage_record_outcome(
        actor=alice, disagreement=d, outcome=StageOutcome.MOVED_UP, rationale="We could not agree on the phone."
    )
    stage = d.current_stage
    assert stage.owner == dsl
    # The school has no designated safeguarding lead or line manager here: the area's lead takes part for it.
    assert set(stage.participants.all()) == {dsl, alice, bob, lead}


def test_a_closure_in_an_agency_with_no_designated_lead_goes_to_the_area(kit, bob, lead, alice):
    involve(kit, bob)
    risky(kit, alice)
    request = loops.closure_request(
        actor=bob, child=kit, occurred_on=timezone.localdate(), summary="School has no further concerns this term."
    )
    assert loops.may_countersign(lead, request)
    loops.closure_decide(actor=lead, request=request, countersign=False, rationale="Concerns remain; keep it open.")
    request.refresh_from_db()
    assert request.state == ClosureState.DECLINED
