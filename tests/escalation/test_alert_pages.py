"""The alert queue, one alert worked from acknowledgement to a recorded decision, notifications, and the
escalation panel on the child's page, through the pages."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from agencies.models import AccessLog, AgencyKind, ExceptionalAccess, ExceptionalAccessKind, Involvement, Role
from chronology.services import EventInput, event_record
from escalation.models import Alert, AlertHistory, AlertState, Decision, Notification, Referral, Severity
from escalation.services.alerts import alert_raise, break_glass_alert
from escalation.services.disagreements import disagreement_raise
from escalation.services.loops import closure_request
from tests.factories import AgencyFactory, ChildFactory, UserFactory, involve
from tests.helpers import readable

RATIONALE = "Spoke to the health visitor and the school: the bruise was seen at the clinic and is explained."


def raise_on(child, *, cause="referral:1", severity=Severity.HIGH, title="Referral outcome overdue", now=None):
    return alert_raise(
        child=child,
        cause=cause,
        severity=severity,
        title=title,
        text="The referral of 3 March has had no outcome from children's social care.\nChase it today.",
        now=now,
    )


@pytest.fixture
def alert(kit, dsl, lead, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return raise_on(kit)


def page(client, name, *args, **query) -> str:
    response = client.get(reverse(name, args=args), query)
    assert response.status_code == 200
    return response.content.decode()


def queue_names(html: str) -> list[str]:
    """The alerts' titles as the queue lists them, top to bottom."""
    return re.findall(r'<span class="govuk-visually-hidden">: ([^<]+)</span></a><br>', html)


# --- who may open an alert -------------------------------------------------------------------------


def test_the_wrong_persona_gets_404_on_an_alert_and_nothing_is_logged(
    client_for, alert, alice, ann, bob, edt, auditor, admin
):
    for persona in (alice, ann, bob, edt, auditor, admin):
        response = client_for(persona).get(reverse("alert-detail", args=[alert.pk]))
        assert response.status_code == 404, persona.username
        assert "Kit" not in readable(response)
    assert client_for(bob).get(reverse("alert-detail", args=[alert.pk + 1000])).status_code == 404
    assert not AccessLog.objects.exists()


def test_anonymous_is_sent_to_sign_in(client, alert):
    for url in (reverse("alert-queue"), reverse("alert-detail", args=[alert.pk]), reverse("notifications")):
        response = client.get(url)
        assert response.status_code == 302 and "/sign-in" in response["Location"]


def test_opening_an_alert_is_a_logged_read_of_the_child(client_for, alert, dsl, kit):
    html = page(client_for(dsl), "alert-detail", alert.pk)
    assert "Referral outcome overdue" in html and "Kit Invented" in html
    assert "Chase it today." in html
    entry = AccessLog.objects.get(child=kit)
    assert entry.user == dsl and entry.what == "alert"


def test_the_queue_logs_nothing_and_says_plainly_when_it_is_empty(client_for, alert, bob, dsl):
    html = page(client_for(dsl), "alert-queue")
    assert "Kit Invented" in html
    assert not AccessLog.objects.exists()
    empty = page(client_for(bob), "alert-queue")
    assert "No open alert has been sent or assigned to you." in empty
    assert "Kit" not in readable(empty)
    assert "No referral to your agency is waiting for an outcome." in empty
    assert "No case closure is waiting for your countersignature." in empty


# --- a lead works an alert -------------------------------------------------------------------------


def test_a_lead_acknowledges_assigns_notes_and_closes_with_a_decision(
    client_for, alert, lead, dsl, django_capture_on_commit_callbacks
):
    client = client_for(lead)
    url = reverse("alert-detail", args=[alert.pk])
    html = page(client, "alert-detail", alert.pk)
    for action in ("Acknowledge", "Assign", "Add a note", "Close with a decision"):
        assert action in html
    assert "Decided not to refer" in html
    assert "Reviewed: access was appropriate" not in html

    response = client.post(url, {"action": "acknowledge"})
    assert response.status_code == 302 and response["Location"] == url
    alert.refresh_from_db()
    assert alert.state == AlertState.ACKNOWLEDGED and alert.acknowledged_by == lead and alert.owner == lead
    assert "Alert acknowledged" in client.get(url).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"action": "assign", "assign-owner": dsl.pk})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.owner == dsl
    assert Notification.objects.filter(user=dsl, title__startswith="Alert assigned to you").exists()
    assert f"Alert assigned to {dsl}." in client.get(url).content.decode()

    client.post(url, {"action": "note", "note-text": "Called the school; the class teacher saw the bruise too."})
    assert AlertHistory.objects.filter(alert=alert, kind="note", actor=lead).count() == 1

    # Without a rationale nothing changes and the error summary says why.
    refused = client.post(url, {"action": "close", "close-decision": Decision.DECIDED_NOT_TO_REFER})
    assert refused.status_code == 200
    html = refused.content.decode()
    assert "There is a problem" in html
    assert 'href="#id_close-rationale">Write the rationale for the decision in full' in html
    assert "<title>Error: " in html
    alert.refresh_from_db()
    assert alert.state == AlertState.ACKNOWLEDGED and alert.decision == "" and alert.closed_at is None
    assert not AlertHistory.objects.filter(alert=alert, kind="closed").exists()

    response = client.post(
        url, {"action": "close", "close-decision": Decision.DECIDED_NOT_TO_REFER, "close-rationale": RATIONALE}
    )
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.state == AlertState.CLOSED
    assert alert.decision == Decision.DECIDED_NOT_TO_REFER and alert.rationale == RATIONALE
    assert alert.closed_by == lead
    html = client.get(url).content.decode()
    assert "Alert closed with the decision: Decided not to refer." in html
    assert "<strong>Decided not to refer</strong>, by" in html and RATIONALE in html
    assert "Close with this decision" not in html  # nothing more to do on a closed alert

    # Gone from the open queue; still there, with its decision, among the closed.
    assert "Kit Invented" not in page(client, "alert-queue")
    closed = page(client, "alert-queue", state="closed")
    assert "Kit Invented" in closed and "Decided not to refer" in closed


def test_closing_needs_a_decision(client_for, alert, lead):
    url = reverse("alert-detail", args=[alert.pk])
    html = client_for(lead).post(url, {"action": "close", "close-rationale": RATIONALE}).content.decode()
    assert 'href="#id_close-decision">Choose the decision made' in html
    html = (
        client_for(lead)
        .post(url, {"action": "close", "close-decision": Decision.REVIEWED_APPROPRIATE, "close-rationale": RATIONALE})
        .content.decode()
    )
    assert "Choose the decision made" in html
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN


def test_an_alert_is_assigned_only_to_someone_who_may_work_it(client_for, alert, lead, bob):
    url = reverse("alert-detail", args=[alert.pk])
    html = client_for(lead).post(url, {"action": "assign", "assign-owner": bob.pk}).content.decode()
    assert 'href="#id_assign-owner">Choose who owns this alert' in html
    alert.refresh_from_db()
    assert alert.owner is None


def test_acknowledging_twice_is_refused_with_the_error_summary(client_for, alert, lead):
    url = reverse("alert-detail", args=[alert.pk])
    client_for(lead).post(url, {"action": "acknowledge"})
    html = client_for(lead).post(url, {"action": "acknowledge"}).content.decode()
    # The acknowledge button is gone once acknowledged; a stale form still gets a plain answer.
    assert 'href="#acknowledge">This alert has already been acknowledged.' in html


def test_a_break_glass_alert_links_to_the_access_reviews_instead_of_closing(client_for, lead, auditor, bob, kit):
    now = timezone.now()
    opening = ExceptionalAccess.objects.create(
        user=bob,
        child=kit,
        kind=ExceptionalAccessKind.BREAK_GLASS,
        reason="Kit arrived at school with a burn and says she cannot go home.",
        opened_at=now,
        expires_at=now + datetime.timedelta(hours=24),
    )
    alert = Alert.objects.filter(exceptional_access=opening).first() or break_glass_alert(opening)
    url = reverse("alert-detail", args=[alert.pk])
    html = page(client_for(lead), "alert-detail", alert.pk)
    assert f'href="{reverse("access-reviews")}"' in html
    assert "Close with this decision" not in html
    refused = client_for(lead).post(
        url, {"action": "close", "close-decision": Decision.NO_FURTHER_ACTION, "close-rationale": RATIONALE}
    )
    assert "access reviews page" in refused.content.decode()
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN


# --- the queue -------------------------------------------------------------------------------------


@pytest.fixture
def three_alerts(kit, alice, dsl, lead):
    """Three children in Northshire: a medium alert, a critical one overdue, and a high one owned by the lead."""
    others = []
    for name in ("Ash", "Bea"):
        child = ChildFactory(given_name=name, family_name="Invented")
        involve(child, alice)
        others.append(child)
    medium = raise_on(kit, cause="flag:rising_concern", severity=Severity.MEDIUM, title="Concerns rising")
    critical = raise_on(
        others[0],
        cause="flag:non_mobile_bruising",
        severity=Severity.CRITICAL,
        title="Bruising on a baby who is not independently mobile",
        now=timezone.now() - datetime.timedelta(days=3),
    )
    high = raise_on(others[1], cause="level:3", severity=Severity.HIGH, title="Indicated level rose to 3")
    Alert.objects.filter(pk=high.pk).update(owner=lead)
    return medium, critical, high


def test_the_queue_is_sorted_by_severity_then_time_left(client_for, three_alerts, lead):
    html = page(client_for(lead), "alert-queue")
    assert queue_names(html) == [
        "Bruising on a baby who is not independently mobile",
        "Indicated level rose to 3",
        "Concerns rising",
    ]
    assert "Overdue by 2 days" in html or "Overdue by 3 days" in html
    assert ">Critical</strong>" in html and ">High</strong>" in html and ">Medium</strong>" in html
    assert "Bruising on a baby who is not independently mobile" in html  # the cause in words
    assert "Unassigned" in html and ">You</td>" in html


def test_the_queue_filters_are_kept_in_the_url(client_for, three_alerts, lead):
    client = client_for(lead)
    assert queue_names(page(client, "alert-queue", severity="critical")) == [
        "Bruising on a baby who is not independently mobile"
    ]
    assert queue_names(page(client, "alert-queue", owner="me")) == ["Indicated level rose to 3"]
    assert queue_names(page(client, "alert-queue", owner="unassigned")) == [
        "Bruising on a baby who is not independently mobile",
        "Concerns rising",
    ]
    overdue = page(client, "alert-queue", overdue="on")
    assert queue_names(overdue) == ["Bruising on a baby who is not independently mobile"]
    assert 'id="id_overdue" name="overdue" type="checkbox" value="on" checked' in overdue
    assert "Clear filters" in overdue
    assert queue_names(page(client, "alert-queue", state="closed")) == []
    assert "No alert matches the filters." in page(client, "alert-queue", state="closed")
    assert len(queue_names(page(client, "alert-queue", state="all"))) == 3
    # Nonsense in the URL shows the default queue rather than an error.
    assert len(queue_names(page(client, "alert-queue", severity="purple"))) == 3


def test_a_designated_safeguarding_lead_sees_their_agencys_alerts_only(client_for, three_alerts, dsl, far_child):
    raise_on(far_child, title="Elsewhere")
    html = page(client_for(dsl), "alert-queue")
    assert len(queue_names(html)) == 3 and "Elsewhere" not in html


def test_the_queue_lists_referrals_closures_and_disagreements_below_the_alerts(client_for, kit, alice, dsl, lead):
    school = AgencyFactory(code="agency-b", name="Agency B", kind=AgencyKind.SCHOOL)
    event = event_record(
        actor=alice,
        child=kit,
        data=EventInput(
            occurred_on=timezone.localdate(),
            agency=alice.agency,
            type="referral",
            summary="Referred to the school's safeguarding team: Kit says she is hungry every morning.",
            details={"to_agency": school.code},
        ),
    )
    Referral.objects.filter(event=event).update(outcome_due_at=timezone.now() - datetime.timedelta(hours=2))
    referral = Referral.objects.get(event=event)
    closure = closure_request(
        actor=alice, child=kit, occurred_on=timezone.localdate(), summary="Family engaging well; closing with consent."
    )
    disagreement = disagreement_raise(
        actor=alice,
        child=kit,
        decision_disputed="The decision of 1 November to close the referral.",
        concern="Kit has not been seen alone by anyone in three months of concerns.",
    )

    html = page(client_for(lead), "alert-queue")
    assert f'href="{reverse("referral-detail", args=[referral.pk])}"' in html
    assert "Overdue</strong>" in html
    assert f'href="{reverse("disagreement-detail", args=[disagreement.pk])}"' in html
    assert "Stage 1: Practitioner to practitioner" in html

    html = page(client_for(dsl), "alert-queue")
    assert f'href="{reverse("closure-detail", args=[closure.pk])}"' in html
    assert "No case closure is waiting for your countersignature." not in html
    assert not AccessLog.objects.exists()


def test_the_queue_reads_in_a_fixed_number_of_queries(client_for, lead, kit, alice, django_assert_max_num_queries):
    client = client_for(lead)
    raise_on(kit)
    with CaptureQueriesContext(connection) as one:
        page(client, "alert-queue")
    for name in ("Ash", "Bea", "Cal", "Dee"):
        child = ChildFactory(given_name=name, family_name="Invented")
        involve(child, alice)
        raise_on(child)
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert len(queue_names(page(client, "alert-queue"))) == 5


# --- notifications ---------------------------------------------------------------------------------


def test_notifications_open_mark_read_and_the_header_counts_them(client_for, alert, dsl, alice):
    client = client_for(dsl)
    home = page(client, "home")
    assert "Notifications (1 unread)" in home
    assert f'href="{reverse("alert-queue")}"' in home  # the Alerts link for someone who works a queue

    notification = Notification.objects.get(user=dsl)
    html = page(client, "notifications")
    assert "High alert: Referral outcome overdue" in html and "Unread" in html
    assert reverse("notification-open", args=[notification.pk]) in html

    assert client_for(alice).get(reverse("notification-open", args=[notification.pk])).status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None

    response = client_for(dsl).get(reverse("notification-open", args=[notification.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("alert-detail", args=[alert.pk])
    notification.refresh_from_db()
    assert notification.read_at is not None
    assert "Notifications (0 unread)" in page(client_for(dsl), "notifications")


def test_mark_all_as_read(client_for, kit, dsl, lead, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        raise_on(kit, cause="referral:1")
        raise_on(kit, cause="referral:2", title="Another referral outcome overdue")
    client = client_for(dsl)
    assert "Notifications (2 unread)" in page(client, "home")
    assert "Mark all as read" in page(client, "notifications")
    response = client.post(reverse("notifications"))
    assert response.status_code == 302
    assert not Notification.objects.filter(user=dsl, read_at__isnull=True).exists()
    html = client.get(reverse("notifications")).content.decode()
    assert "2 notifications marked as read." in html and "Notifications (0 unread)" in html
    assert "Mark all as read" not in html


def test_a_notification_names_the_child_only_while_the_user_may_read_them(
    client_for, kit, dsl, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        raise_on(kit)
    assert f'href="{reverse("child-detail", args=[kit.pk])}"' in page(client_for(dsl), "notifications")
    Involvement.objects.filter(child=kit).update(ended_at=timezone.now())
    html = page(client_for(dsl), "notifications")
    assert "Kit Invented" not in html and "you cannot open this record now" in html


def test_someone_without_notifications_sees_an_empty_page_and_the_queue_link(client_for, bob, admin):
    html = page(client_for(bob), "notifications")
    assert "You have no notifications." in html and "Notifications (0 unread)" in html
    # Every agency's people may be sent referrals, stages and closures: the queue is in everyone's header.
    assert f'href="{reverse("alert-queue")}"' in html
    admin.agency = None
    admin.save()
    assert f'href="{reverse("alert-queue")}"' not in page(client_for(admin), "notifications")


# --- raised by recorded events, and the child's page ------------------------------------------------


def test_an_alert_raised_by_recorded_events_links_its_reasons_to_the_entries(
    client_for, kit, alice, dsl, lead, django_capture_on_commit_callbacks
):
    kit.date_of_birth = timezone.localdate() - datetime.timedelta(days=70)
    kit.save()
    with django_capture_on_commit_callbacks(execute=True):
        event = event_record(
            actor=alice,
            child=kit,
            data=EventInput(
                occurred_on=timezone.localdate(),
                agency=alice.agency,
                type="injury",
                summary="Bruise on the cheek seen at the baby clinic.",
                details={"injury_kind": "bruise"},
            ),
        )
    alert = Alert.objects.get(child=kit, severity=Severity.CRITICAL)
    html = page(client_for(lead), "alert-detail", alert.pk)
    assert "Reasons and the entries behind them" in html
    assert f"#entry-{event.pk}" in html
    assert "The indicated level is a prompt for professional judgement, not a decision." in html


def test_the_childs_page_shows_the_escalation_panel(client_for, alert, kit, alice, lead, edt):
    html = page(client_for(alice), "child-detail", kit.pk)
    assert "Alerts and professional disagreements" in html
    assert "Referral outcome overdue" in html
    # alice is not among those the alert was sent to: she sees it, but it does not link
    assert reverse("alert-detail", args=[alert.pk]) not in html
    assert f'href="{reverse("disagreement-new", args=[kit.pk])}">Raise a professional disagreement' in html
    assert f'href="{reverse("closure-new", args=[kit.pk])}">Request case closure' in html
    # after the indicated level
    assert html.index("Indicated level") < html.index("Alerts and professional disagreements")

    assert f'href="{reverse("alert-detail", args=[alert.pk])}"' in page(client_for(lead), "child-detail", kit.pk)

    emergency = page(client_for(edt), "child-detail", kit.pk)
    assert "Alerts and professional disagreements" in emergency
    assert "Raise a professional disagreement" not in emergency and "Request case closure" not in emergency


def test_the_panel_says_plainly_when_nothing_is_open(client_for, kit, alice):
    html = page(client_for(alice), "child-detail", kit.pk)
    assert "No open alert." in html and "No open professional disagreement." in html


def test_the_home_pages_count_of_alerts_sent_or_assigned_links_to_exactly_those(
    client_for, kit, lead, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        raise_on(kit, severity=Severity.CRITICAL, cause="flag:injury_non_mobile", title="Bruise on a baby")
    # A second area lead, in post since: the area's queue holds an alert that was never sent to them.
    newcomer = UserFactory(username="lead2", agency=lead.agency, roles=[Role.AREA_SAFEGUARDING_LEAD])
    with django_capture_on_commit_callbacks(execute=True):
        raise_on(kit)
    mine = {a.title for a in Alert.objects.filter(Q(owner=newcomer) | Q(recipients__user=newcomer)).distinct()}
    assert mine == {"Referral outcome overdue"} and Alert.objects.count() == 2
    client = client_for(newcomer)
    home = page(client, "home")
    link = f'href="{reverse("alert-queue")}?owner=sent-or-assigned">{len(mine)} open alert'
    assert link in home
    assert set(queue_names(page(client, "alert-queue", owner="sent-or-assigned"))) == mine
    assert len(queue_names(page(client, "alert-queue"))) == Alert.objects.count()


def test_a_lead_practitioner_sent_an_alert_gets_the_alerts_link_and_works_it(client_for, kit, alice):
    Involvement.objects.filter(child=kit, practitioner=alice).update(lead=True)
    alert = raise_on(kit)
    client = client_for(alice)
    home = page(client, "home")
    assert f'href="{reverse("alert-queue")}"' in home
    html = page(client, "alert-queue")
    assert queue_names(html) == ["Referral outcome overdue"]
    assert "Alerts sent or assigned to you" in html
    assert 'name="action" value="acknowledge"' in page(client, "alert-detail", alert.pk)
