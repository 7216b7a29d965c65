"""Alerts: raised from assessments in the same transaction, routed, delivered once, acknowledged in time
or moved up a tier, and closed only with a decision."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from agencies.models import ExceptionalAccessKind, Role
from agencies.policy import system_user
from agencies.services import exceptional_access_open, exceptional_access_review
from chronology.services import EventInput, event_record
from escalation.calendar import LONDON
from escalation.models import Alert, AlertState, Decision, Delivery, DeliveryState, Notification
from escalation.services import alerts, delivery
from tests.factories import UserFactory, involve
from thresholds.services import child_reassess


def at(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=LONDON)


def baby_bruise(kit, agency):
    kit.date_of_birth = timezone.localdate() - datetime.timedelta(days=70)
    kit.save()
    return event_record(
        actor=system_user(),
        child=kit,
        data=EventInput(
            occurred_on=timezone.localdate(),
            agency=agency,
            type="injury",
            summary="Bruise on the cheek of a ten-week-old baby seen at the baby clinic.",
            details={"injury_kind": "bruise"},
        ),
    )


@pytest.fixture
def routed(kit, alice, dsl, lead, edt):
    """kit with alice as lead practitioner, agency-a's DSL, the area lead and the EDT in place."""
    involvement = kit.involvements.get(practitioner=alice)
    involvement.lead = True
    involvement.save()
    return kit


def test_a_critical_flag_raises_one_explicit_alert_for_the_right_people_in_the_same_transaction(
    routed, alice, dsl, lead, edt
):
    with time_machine.travel(at("2026-11-24 11:00"), tick=False):
        event = baby_bruise(routed, alice.agency)
        child_reassess(child_id=routed.pk)
    alert = Alert.objects.get(child=routed)
    assert alert.cause == "flag:non_mobile_bruising"
    assert alert.severity == "critical"
    # Explicit words: nobody has to interpret a code.
    assert "bruising on a baby who is not independently mobile" in alert.text.lower()
    assert "not a decision" in alert.text
    assert any(str(event.pk) in reason["events"] for reason in alert.reasons)
    recipients = {r.user.username: r.why for r in alert.recipients.select_related("user")}
    # In working hours the emergency duty team is not woken; the area lead hears at once of this flag.
    assert recipients == {
        "alice": "lead practitioner",
        "dsl": "designated safeguarding lead of an agency involved",
        "lead": "safeguarding lead for the area",
    }
    assert alert.acknowledge_by == at("2026-11-24 12:00")
    # Its outbox rows exist already: written with the alert, before anything was sent.
    rows = Delivery.objects.filter(alert=alert)
    assert {(d.user.username, d.channel) for d in rows} == {
        (name, channel) for name in recipients for channel in ("in_app", "email")
    }
    assert set(rows.values_list("state", flat=True)) == {DeliveryState.PENDING}


def test_an_assessment_is_never_stored_without_its_alert(routed, alice, monkeypatch):
    baby_bruise(routed, alice.agency)

    def broken(*args, **kwargs):
        raise RuntimeError("the outbox could not be written")

    monkeypatch.setattr(delivery.Delivery.objects, "bulk_create", broken)
    with pytest.raises(RuntimeError):
        child_reassess(child_id=routed.pk)
    assert not routed.assessments.exists()
    assert not Alert.objects.exists()


def test_out_of_hours_a_critical_alert_also_goes_to_the_emergency_duty_team(routed, alice, edt):
    with time_machine.travel(at("2026-11-21 02:00"), tick=False):  # Saturday night
        baby_bruise(routed, alice.agency)
        child_reassess(child_id=routed.pk)
    alert = Alert.objects.get(child=routed)
    assert alert.recipients.filter(user=edt, why__contains="out of hours").exists()


def test_one_open_alert_per_child_and_cause_never_a_flood(routed, alice):
    baby_bruise(routed, alice.agency)
    child_reassess(child_id=routed.pk)
    baby_bruise(routed, alice.agency)
    child_reassess(child_id=routed.pk)
    assert Alert.objects.filter(child=routed, cause="flag:non_mobile_bruising").count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(
            child=routed,
            area=routed.area,
            cause="flag:non_mobile_bruising",
            severity="critical",
            title="again",
            text="again",
            created_at=datetime.datetime.now(datetime.UTC),
            acknowledge_by=datetime.datetime.now(datetime.UTC),
        )


def test_an_ordinary_rise_to_early_help_raises_no_alert(kit, alice):
    for day in (3, 2):
        event_record(
            actor=alice,
            child=kit,
            data=EventInput(
                occurred_on=timezone.localdate() - datetime.timedelta(days=day),
                agency=alice.agency,
                type="presentation_concern",
                summary="Kit arrived hungry and asked for extra breakfast.",
                factors=["16A"],
            ),
        )
    snapshot = child_reassess(child_id=kit.pk)
    assert snapshot is not None and snapshot.level <= 2
    assert not Alert.objects.exists()


def raise_high(kit):
    return alerts.alert_raise(
        child=kit, cause="flag:toxic_trio", severity="high", title="Toxic trio", text="All three evidenced."
    )


def test_a_lead_acknowledges_assigns_notes_and_closes_with_a_decision(kit, dsl, lead, alice):
    alert = raise_high(kit)
    alerts.alert_acknowledge(actor=dsl, alert=alert)
    alert.refresh_from_db()
    assert alert.state == AlertState.ACKNOWLEDGED and alert.owner == dsl
    with pytest.raises(ValidationError):
        alerts.alert_acknowledge(actor=dsl, alert=alert)
    alerts.alert_assign(actor=dsl, alert=alert, owner=lead)
    alerts.alert_note(actor=lead, alert=alert, text="Spoke to the health visitor; home visit booked for Friday.")
    with pytest.raises(ValidationError) as refused:
        alerts.alert_close(actor=lead, alert=alert, decision=Decision.DECIDED_NOT_TO_REFER, rationale="")
    assert "rationale" in refused.value.message_dict
    alert.refresh_from_db()
    assert alert.state == AlertState.ACKNOWLEDGED  # nothing changed
    alerts.alert_close(
        actor=lead,
        alert=alert,
        decision=Decision.DECIDED_NOT_TO_REFER,
        rationale="Needs met by early help already in place; reviewed with the health visitor.",
    )
    alert.refresh_from_db()
    assert (alert.state, alert.decision, alert.closed_by) == (AlertState.CLOSED, "decided_not_to_refer", lead)
    kinds = list(alert.history.values_list("kind", flat=True))
    assert kinds == ["raised", "acknowledged", "assigned", "note", "closed"]
    # Once decided, the same cause may be raised again if it comes back.
    assert raise_high(kit) is not None


def test_people_outside_the_alert_cannot_work_it(kit, dsl, bob):
    alert = raise_high(kit)
    with pytest.raises(PermissionDenied):
        alerts.alert_acknowledge(actor=bob, alert=alert)
    with pytest.raises(ValidationError):
        alerts.alert_assign(actor=dsl, alert=alert, owner=bob)


def test_an_unacknowledged_alert_moves_up_a_tier_across_the_weekend(kit, dsl, lead):
    manager = UserFactory(username="manager", agency=dsl.agency, roles=[Role.LINE_MANAGER, Role.PRACTITIONER])
    involve(kit, manager)
    dsl.line_manager = manager
    dsl.save()
    with time_machine.travel(at("2026-11-20 14:00"), tick=False):  # Friday
        alert = raise_high(kit)
    assert {r.user for r in alert.recipients.all()} == {dsl}
    assert alert.acknowledge_by == at("2026-11-23 14:00")  # Monday, a working day later
    assert alerts.alerts_move_up(now=at("2026-11-23 13:59")) == 0
    # Monday afternoon: nobody new among the agency leads, so on to the line managers.
    assert alerts.alerts_move_up(now=at("2026-11-23 14:01")) == 1
    alert.refresh_from_db()
    assert alert.tier == 2
    assert {r.user for r in alert.recipients.filter(tier=2)} == {manager}
    assert alert.acknowledge_by == at("2026-11-24 14:01")
    assert "line managers" in alert.history.last().text
    assert alerts.alerts_move_up(now=at("2026-11-24 14:02")) == 1
    alert.refresh_from_db()
    assert {r.user for r in alert.recipients.filter(tier=3)} == {lead}
    # Past the last tier everyone is reminded, each time it falls due again.
    assert alerts.alerts_move_up(now=at("2026-11-25 15:00")) == 1
    assert Delivery.objects.filter(alert=alert, key__contains=":t4:").count() == 3 * 2
    alerts.alert_acknowledge(actor=lead, alert=alert)
    assert alerts.alerts_move_up(now=at("2026-12-31 12:00")) == 0


def test_a_bank_holiday_delays_the_move_up(kit, dsl):
    with time_machine.travel(at("2026-08-28 10:00"), tick=False):  # Friday before the August bank holiday
        raise_high(kit)
    assert alerts.alerts_move_up(now=at("2026-08-31 10:30")) == 0  # bank holiday Monday
    assert alerts.alerts_move_up(now=at("2026-09-01 10:01")) == 1


def test_delivery_adds_one_notification_and_an_email_without_the_childs_details(
    kit, dsl, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        alert = raise_high(kit)
    rows = Delivery.objects.filter(alert=alert)
    assert set(rows.values_list("state", flat=True)) == {DeliveryState.DELIVERED}
    assert Notification.objects.filter(user=dsl, alert=alert).count() == 1
    (message,) = mail.outbox
    body = message.body + message.alternatives[0][0] + message.subject
    assert f"/alerts/{alert.pk}/" in body
    for secret in ("Kit", "Invented", kit.nhs_number, "Toxic trio"):
        assert secret not in body
    email_row = rows.get(channel="email")
    assert message.extra_headers["Message-ID"] == delivery.message_id(email_row.key)
    # A retry after the fact adds nothing.
    Delivery.objects.filter(alert=alert).update(state=DeliveryState.PENDING)
    for row in rows.filter(channel="in_app"):
        delivery.delivery_send(delivery_id=row.pk)
    assert Notification.objects.filter(user=dsl, alert=alert).count() == 1


def test_a_failing_delivery_backs_off_and_stops_after_its_attempts(kit, dsl, monkeypatch):
    alert = raise_high(kit)
    row = Delivery.objects.get(alert=alert, channel="email")

    def refuse(self, *args, **kwargs):
        raise ConnectionRefusedError("mail server refused")

    monkeypatch.setattr(mail.EmailMultiAlternatives, "send", refuse)
    now = at("2026-11-24 10:00")
    waits = []
    for _ in range(8):
        row.refresh_from_db()
        now = max(now, row.next_attempt_at)
        delivery.delivery_send(delivery_id=row.pk, now=now)
        row.refresh_from_db()
        waits.append((row.next_attempt_at - now).total_seconds())
    assert row.state == DeliveryState.FAILED and row.attempts == 8
    assert waits[:4] == [30, 60, 120, 240]
    assert "mail server refused" in row.last_error
    assert delivery.delivery_send(delivery_id=row.pk, now=now + datetime.timedelta(days=1)) == DeliveryState.FAILED
    assert row.pk not in delivery.deliveries_due(now=now + datetime.timedelta(days=1))


def test_a_claim_left_by_a_stopped_worker_runs_out_and_is_sent_again(kit, dsl):
    alert = raise_high(kit)
    row = Delivery.objects.get(alert=alert, channel="in_app")
    now = at("2026-11-24 10:00")
    Delivery.objects.filter(pk=row.pk).update(
        state=DeliveryState.SENDING, claimed_until=now + datetime.timedelta(minutes=5)
    )
    assert row.pk not in delivery.deliveries_due(now=now)
    assert delivery.delivery_send(delivery_id=row.pk, now=now) == DeliveryState.SENDING  # someone else has it
    later = now + datetime.timedelta(minutes=6)
    assert row.pk in delivery.deliveries_due(now=later)
    assert delivery.delivery_send(delivery_id=row.pk, now=later) == DeliveryState.DELIVERED
    assert Notification.objects.filter(key=row.key).count() == 1


def test_break_glass_reaches_its_reviewers_and_their_review_closes_the_alert(kit, bob, lead, auditor):
    opening = exceptional_access_open(
        actor=bob, child=kit, kind=ExceptionalAccessKind.BREAK_GLASS, reason="Child arrived at school with a burn."
    )
    alert = Alert.objects.get(exceptional_access=opening)
    assert {r.user for r in alert.recipients.all()} == {lead, auditor}
    # Auditors may not read the record itself: the notice takes reviewers to the access reviews page.
    assert set(Delivery.objects.filter(alert=alert).values_list("link", flat=True)) == {reverse("access-reviews")}
    exceptional_access_review(actor=lead, opening=opening, outcome="appropriate", note="")
    alert.refresh_from_db()
    assert (alert.state, alert.decision) == (AlertState.CLOSED, Decision.REVIEWED_APPROPRIATE)


def test_nobody_to_tell_is_never_a_reason_for_nobody_to_hear(lead):
    from tests.factories import ChildFactory

    orphan = ChildFactory(given_name="Nobody", family_name="Involved")
    alert = alerts.alert_raise(child=orphan, cause="flag:toxic_trio", severity="high", title="t", text="x")
    assert {r.user for r in alert.recipients.all()} == {lead}


def test_the_report_command_lists_open_alerts_with_severity_age_owner_and_overdue(kit, dsl, capsys):
    import json

    from django.core.management import call_command

    with time_machine.travel(at("2026-11-20 14:00"), tick=False):
        alert = raise_high(kit)
    with time_machine.travel(at("2026-11-24 14:00"), tick=False):
        call_command("escalation_report", kit.area.code, "--json")
    report = json.loads(capsys.readouterr().out)
    (row,) = report["alerts"]
    assert row["id"] == alert.pk and row["severity"] == "high" and row["overdue"] is True
    assert row["owner"] is None and row["age_hours"] == 96.0


def test_someone_who_starts_working_with_the_child_hears_of_its_open_alerts(kit, dsl, bob):
    alert = raise_high(kit)
    school_dsl = UserFactory(username="school-dsl", agency=bob.agency, roles=[Role.DESIGNATED_SAFEGUARDING_LEAD])
    involve(kit, bob)
    assert alert.recipients.filter(user=school_dsl, why__contains="designated safeguarding lead").exists()
    assert Delivery.objects.filter(alert=alert, user=school_dsl).exists()
    assert "Sent also to" in alert.history.last().text


def test_the_owner_hears_when_someone_else_closes_their_alert(kit, dsl, lead, django_capture_on_commit_callbacks):
    alert = raise_high(kit)
    alerts.alert_acknowledge(actor=dsl, alert=alert)
    with django_capture_on_commit_callbacks(execute=True):
        alerts.alert_close(
            actor=lead, alert=alert, decision=Decision.REFERRED, rationale="Referred to the front door today."
        )
    note = Notification.objects.get(user=dsl, title__startswith="Alert you owned closed")
    assert "referred to children's social care" in note.title
