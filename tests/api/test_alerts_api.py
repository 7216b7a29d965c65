"""Alerts through the API: each person's queue for their agency's system, and acknowledging, safely retried."""

from __future__ import annotations

import pytest
from django.urls import reverse

from agencies.models import AccessLog
from escalation.models import AlertHistory, AlertState, Decision, Severity
from escalation.services.alerts import alert_close, alert_raise
from tests.api.conftest import AgencySystem

ALERTS = reverse("api-alerts")
ALERT_KEYS = {
    "id",
    "child",
    "cause",
    "cause_words",
    "title",
    "severity",
    "state",
    "raised_at",
    "acknowledge_by",
    "overdue",
    "tier",
    "owner",
    "acknowledged_at",
    "acknowledged_by",
    "closed_at",
    "decision",
}


def acknowledge_url(alert) -> str:
    return reverse("api-alert-acknowledge", args=[alert.pk])


def raise_on(child, *, cause="referral:1", severity=Severity.HIGH, title="Referral outcome overdue"):
    return alert_raise(
        child=child,
        cause=cause,
        severity=severity,
        title=title,
        text="The referral of 3 March has had no outcome from children's social care.\nChase it today.",
    )


@pytest.fixture
def alert(kit, dsl, lead):
    """An alert on kit, routed to agency A's designated safeguarding lead (agency A is involved)."""
    return raise_on(kit)


@pytest.fixture
def dsl_system(dsl):
    """Agency A's system calling for its designated safeguarding lead (the same agency as alice's)."""
    return AgencySystem(dsl.agency)


def test_the_list_shows_the_acting_persons_queue_without_reading_the_child(dsl_system, dsl, kit, alert):
    response = dsl_system.get(ALERTS, acting=dsl)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["count"], body["next"], body["previous"]) == (1, None, None)
    (row,) = body["results"]
    assert set(row) == ALERT_KEYS
    assert (row["id"], row["child"], row["cause"], row["severity"], row["state"]) == (
        alert.pk,
        kit.pk,
        "referral:1",
        "high",
        "open",
    )
    assert row["cause_words"] == "Referral outcome overdue" and row["title"] == "Referral outcome overdue"
    assert row["raised_at"] and row["acknowledge_by"] and row["overdue"] is False
    assert (row["acknowledged_at"], row["acknowledged_by"], row["closed_at"], row["decision"]) == (None, None, None, "")
    # Like the queue, the list names the child by id only and says nothing of the record: no read, no log.
    assert "Kit" not in response.content.decode() and "Chase it today" not in response.content.decode()
    assert not AccessLog.objects.exists()


def test_agency_bs_key_never_sees_agency_as_alerts(system_b, bob, alert):
    assert system_b.get(ALERTS, acting=bob).json()["count"] == 0
    for state in ("open", "acknowledged", "closed"):
        assert system_b.get(ALERTS, acting=bob, params={"state": state}).json()["count"] == 0
    response = system_b.post(acknowledge_url(alert), acting=bob)
    assert response.status_code == 404
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN and not AlertHistory.objects.filter(kind="acknowledged").exists()


def test_people_of_agency_a_who_do_not_work_the_alert_neither_see_nor_acknowledge_it(system_a, alice, ann, alert):
    for person in (alice, ann):  # alice works with kit but the alert was not sent to her; ann may not read kit
        assert system_a.get(ALERTS, acting=person).json()["count"] == 0
        assert system_a.post(acknowledge_url(alert), acting=person).status_code == 404
    assert system_a.post(reverse("api-alert-acknowledge", args=[alert.pk + 1000]), acting=alice).status_code == 404
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN


def test_the_list_filters_by_state_and_severity_and_orders_as_the_queue(dsl_system, dsl, lead, kit, alert):
    critical = raise_on(kit, cause="flag:non_mobile_bruising", severity=Severity.CRITICAL, title="Bruised baby")
    medium = raise_on(kit, cause="closure", severity=Severity.MEDIUM, title="Closed with risk")
    alert_close(actor=lead, alert=medium, decision=Decision.NO_FURTHER_ACTION, rationale="Seen: risk resolved.")

    def ids(**params):
        response = dsl_system.get(ALERTS, acting=dsl, params=params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    # By default what is not yet closed, most severe first.
    assert ids() == [critical.pk, alert.pk]
    assert ids(state="closed") == [medium.pk]
    assert ids(state=["open", "closed"]) == [critical.pk, alert.pk, medium.pk]
    assert ids(severity="high") == [alert.pk]
    assert ids(severity=["critical", "medium"], state=["open", "acknowledged", "closed"]) == [critical.pk, medium.pk]


def test_the_list_is_paged(dsl_system, dsl, kit, alert):
    second = raise_on(kit, cause="flag:toxic_trio", severity=Severity.CRITICAL, title="Toxic trio")
    first_page = dsl_system.get(ALERTS, acting=dsl, params={"page_size": 1}).json()
    assert first_page["count"] == 2 and [r["id"] for r in first_page["results"]] == [second.pk]
    assert (first_page["previous"], first_page["next"]) == (None, 2)
    second_page = dsl_system.get(ALERTS, acting=dsl, params={"page_size": 1, "page": 2}).json()
    assert [r["id"] for r in second_page["results"]] == [alert.pk]
    assert (second_page["previous"], second_page["next"]) == (1, None)
    past_the_end = dsl_system.get(ALERTS, acting=dsl, params={"page": 5})
    assert past_the_end.status_code == 404 and past_the_end.json() == {"detail": "There is 1 page of 50."}
    nothing = dsl_system.get(ALERTS, acting=dsl, params={"state": "closed"}).json()
    assert (nothing["count"], nothing["next"], nothing["previous"], nothing["results"]) == (0, None, None, [])


@pytest.mark.parametrize(
    "params",
    [{"state": "pending"}, {"severity": "urgent"}, {"page": "0"}, {"page": "two"}, {"page_size": "1000"}],
)
def test_a_filter_that_cannot_be_read_is_refused_naming_it(dsl_system, dsl, alert, params):
    response = dsl_system.get(ALERTS, acting=dsl, params=params)
    assert response.status_code == 400
    assert set(params) <= set(response.json())


def test_acknowledging_names_the_acting_person_and_a_retry_with_the_same_key_writes_nothing(
    dsl_system, dsl, kit, alert
):
    headers = {"Idempotency-Key": "ack-7f3c"}
    response = dsl_system.post(acknowledge_url(alert), acting=dsl, headers=headers)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == ALERT_KEYS
    assert (body["id"], body["state"], body["acknowledged_by"], body["owner"]) == (
        alert.pk,
        "acknowledged",
        "dsl",
        "dsl",
    )
    assert body["acknowledged_at"] is not None
    alert.refresh_from_db()
    assert (alert.state, alert.acknowledged_by, alert.owner) == (AlertState.ACKNOWLEDGED, dsl, dsl)
    assert AlertHistory.objects.filter(alert=alert, kind="acknowledged", actor=dsl).count() == 1

    replay = dsl_system.post(acknowledge_url(alert), acting=dsl, headers=headers)
    assert replay.status_code == 200 and replay.json() == body
    assert replay["Idempotent-Replayed"] == "true"
    assert AlertHistory.objects.filter(alert=alert, kind="acknowledged").count() == 1

    # Without the key, a second acknowledgement is refused: it is no longer open.
    again = dsl_system.post(acknowledge_url(alert), acting=dsl)
    assert again.status_code == 409 and "already been acknowledged" in again.json()["detail"]
    assert AlertHistory.objects.filter(alert=alert, kind="acknowledged").count() == 1


def test_the_same_idempotency_key_for_another_alert_is_refused(dsl_system, dsl, kit, alert):
    other = raise_on(kit, cause="flag:toxic_trio", title="Toxic trio")
    headers = {"Idempotency-Key": "ack-1"}
    assert dsl_system.post(acknowledge_url(alert), acting=dsl, headers=headers).status_code == 200
    refused = dsl_system.post(acknowledge_url(other), acting=dsl, headers=headers)
    assert refused.status_code == 400 and "Idempotency-Key" in refused.json()
    other.refresh_from_db()
    assert other.state == AlertState.OPEN


def test_a_read_only_key_lists_but_may_not_acknowledge(dsl, alert):
    read_only = AgencySystem(dsl.agency, scopes=("read",))
    assert read_only.get(ALERTS, acting=dsl).json()["count"] == 1
    response = read_only.post(acknowledge_url(alert), acting=dsl)
    assert response.status_code == 403 and "write" in response.json()["detail"]
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN
