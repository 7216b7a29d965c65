"""The procedure pages: professional disagreement, referral outcomes, countersigned closures, supervision."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from agencies.models import AccessLog, AgencyKind, Role
from chronology.models import Event
from chronology.services import EventInput, event_record
from escalation.models import (
    ClosureRequest,
    ClosureState,
    Disagreement,
    DisagreementStage,
    DisagreementState,
    Notification,
    Referral,
)
from escalation.policy import rules_for_area
from escalation.services import disagreements, loops
from tests.factories import ChildFactory, involve, persona
from tests.helpers import readable
from thresholds.models import Assessment

CONCERN = "Three visits with no access and the home smelt of cannabis; the baby has not been seen since March."


def raise_disagreement(kit, alice, **extra):
    return disagreements.disagreement_raise(
        actor=alice,
        child=kit,
        decision_disputed="The referral of 3 March was closed with no further action on 5 March.",
        concern=CONCERN,
        **extra,
    )


def refer(kit, alice, to_code: str, day=None):
    return event_record(
        actor=alice,
        child=kit,
        data=EventInput(
            occurred_on=day or timezone.localdate(),
            agency=alice.agency,
            type="referral",
            summary="Referred to the school's safeguarding team after Kit said she was hungry every morning.",
            details={"to_agency": to_code},
        ),
    )


def closure_form(
    day: datetime.date, summary="Family moved to a new flat; the health visitor continues monthly visits."
):
    return {"occurred_day": day.day, "occurred_month": day.month, "occurred_year": day.year, "summary": summary}


def notifications_for(user, key_part: str) -> list[Notification]:
    return list(Notification.objects.filter(user=user, key__contains=key_part).order_by("pk"))


def _names(page: str) -> str:
    return " ".join(page.split())


# --- who may reach each page --------------------------------------------------------------------

PERSONAS = ["alice", "ann", "bob", "dsl", "lead", "edt", "auditor", "admin", "anonymous"]


def only(allowed: dict[str, int], others: int = 404) -> dict[str, int]:
    return {**dict.fromkeys(PERSONAS, others), "anonymous": 302, **allowed}


# What each persona gets on GET: kit as the child; a disagreement raised by alice on kit with nobody named;
# a referral alice recorded on kit to agency B; a closure request by alice on kit. The referral gives agency B's
# team a working relationship with kit, so bob then reads and records for kit like any practitioner involved.
EXPECTED = {
    "disagreement-new": only({"alice": 200, "bob": 200, "dsl": 200, "lead": 200, "edt": 403}),
    "disagreement-detail": only({"alice": 200, "lead": 200}),
    "referral-detail": only({"alice": 200, "bob": 200, "dsl": 200, "lead": 200, "edt": 200}),
    "closure-new": only({"alice": 200, "bob": 200, "dsl": 200, "lead": 200, "edt": 403}),
    "closure-detail": only({"alice": 200, "bob": 200, "dsl": 200, "lead": 200, "edt": 200}),
    "supervision": only({"dsl": 200}, others=403),
}


@pytest.fixture
def records(kit, alice, bob):
    d = raise_disagreement(kit, alice)
    referral = Referral.objects.get(event=refer(kit, alice, bob.agency.code))
    closure = loops.closure_request(
        actor=alice, child=kit, occurred_on=timezone.localdate(), summary="Family engaging; school monitoring daily."
    )
    return {
        "disagreement-new": reverse("disagreement-new", args=[kit.pk]),
        "disagreement-detail": reverse("disagreement-detail", args=[d.pk]),
        "referral-detail": reverse("referral-detail", args=[referral.pk]),
        "closure-new": reverse("closure-new", args=[kit.pk]),
        "closure-detail": reverse("closure-detail", args=[closure.pk]),
        "supervision": reverse("supervision"),
    }


@pytest.mark.parametrize("persona_name", PERSONAS)
def test_each_persona_gets_only_what_the_policy_allows(request, client_for, records, persona_name):
    for name in ("ann", "dsl", "lead", "edt", "auditor", "admin"):
        request.getfixturevalue(name)
    if persona_name == "anonymous":
        client = request.getfixturevalue("anonymous")
    else:
        client = client_for(request.getfixturevalue(persona_name))
    got = {name: client.get(url).status_code for name, url in records.items()}
    assert got == {name: EXPECTED[name][persona_name] for name in records}


def test_a_refused_page_says_nothing_about_the_child(client_for, bob, kit, alice):
    d = raise_disagreement(kit, alice)
    closure = loops.closure_request(actor=alice, child=kit, occurred_on=timezone.localdate(), summary="Closing now.")
    for url in (
        reverse("disagreement-new", args=[kit.pk]),
        reverse("disagreement-detail", args=[d.pk]),
        reverse("closure-new", args=[kit.pk]),
        reverse("closure-detail", args=[closure.pk]),
    ):
        response = client_for(bob).get(url)
        assert response.status_code == 404
        assert "Kit" not in readable(response)
    assert not AccessLog.objects.filter(user=bob).exists()


def test_every_page_about_the_child_logs_the_read(client_for, records, alice, kit):
    for name in ("disagreement-detail", "referral-detail", "closure-new", "closure-detail"):
        assert client_for(alice).get(records[name]).status_code == 200
    what = list(AccessLog.objects.filter(user=alice, child=kit).order_by("pk").values_list("what", flat=True))
    assert what == [
        "professional disagreement",
        "referral",
        "child record (requesting case closure)",
        "case closure request",
    ]


# --- professional disagreement ------------------------------------------------------------------


@pytest.fixture
def carol(db, kit):
    """A social worker working with kit, whose decision is disputed, with a line manager."""
    carol = persona("carol", "agency-c", AgencyKind.CHILDRENS_SOCIAL_CARE, Role.PRACTITIONER)
    carol.line_manager = persona("mo", "agency-c", AgencyKind.CHILDRENS_SOCIAL_CARE, Role.LINE_MANAGER)
    carol.save()
    involve(kit, carol)
    return carol


def test_the_form_explains_the_procedure_offers_who_is_involved_and_logs_the_read(client_for, alice, kit, carol):
    page = client_for(alice).get(reverse("disagreement-new", args=[kit.pk])).content.decode()
    assert "Raise a professional disagreement" in page
    # the staged procedure and its working days, from the area's policy
    for number, stage in enumerate(rules_for_area(kit.area_id).stages, start=1):
        assert f"Stage {number}: {stage.title}, within {stage.working_days} working days" in page
    assert f'<option value="{carol.pk}">' in page
    assert f'<option value="{alice.pk}">' not in page
    entry = AccessLog.objects.get(user=alice, child=kit)
    assert "professional disagreement" in entry.what


def test_empty_or_thin_input_shows_the_error_summary_and_raises_nothing(client_for, alice, kit):
    client = client_for(alice)
    url = reverse("disagreement-new", args=[kit.pk])
    page = client.post(url, {"decision_disputed": "", "concern": ""}).content.decode()
    assert "<title>Error: Raise a professional disagreement" in page
    assert 'href="#id_decision_disputed">Enter the decision, or lack of one, that you disagree with' in page
    assert 'href="#id_concern">Enter why what is being done does not protect the child' in page
    # the service's own rules come back on the form too
    page = client.post(url, {"decision_disputed": "The plan.", "concern": "Not safe."}).content.decode()
    assert 'href="#id_concern">Say in full why what is being done does not protect the child' in page
    assert not Disagreement.objects.exists() and not DisagreementStage.objects.exists()


def test_a_practitioner_raises_a_disagreement_and_stage_one_opens(client_for, alice, kit, carol):
    response = client_for(alice).post(
        reverse("disagreement-new", args=[kit.pk]),
        {
            "decision_disputed": "Carol closed the referral of 3 March with no further action on 5 March.",
            "concern": CONCERN,
            "with_whom": carol.pk,
        },
        follow=True,
    )
    d = Disagreement.objects.get()
    assert response.redirect_chain[-1][0] == reverse("disagreement-detail", args=[d.pk])
    assert d.raised_by == alice and d.with_whom == carol and d.state == DisagreementState.OPEN
    stage = d.stages.get()
    assert stage.number == 1 and stage.owner == alice
    assert set(stage.participants.all()) == {alice, carol}
    assert stage.due_at == rules_for_area(kit.area_id).calendar.add_working_days(stage.opened_at, 5)
    page = _names(response.content.decode())
    assert "Professional disagreement raised. Stage 1 (Practitioner to practitioner) is due by" in page
    assert "Stage 1: Practitioner to practitioner" in page
    assert timezone.localtime(stage.due_at).strftime("%-d %B %Y") in page
    assert "Carol closed the referral of 3 March" in page and "home smelt of cannabis" in page


def test_the_home_pages_count_of_overdue_stages_opens_exactly_those(client_for, alice, lead, kit, carol):
    long_ago = timezone.now() - datetime.timedelta(days=20)
    late = disagreements.disagreement_raise(
        actor=alice, child=kit, decision_disputed="The decision of 1 October to close.", concern=CONCERN, now=long_ago
    )
    disagreements.disagreement_raise(
        actor=alice, child=kit, decision_disputed="The decision of 20 November to wait.", concern=CONCERN
    )
    client = client_for(lead)
    home = client.get(reverse("home")).content.decode()
    overdue = reverse("alert-queue") + "?disagreements=overdue#disagreements"
    assert f'href="{overdue}">1<span class="govuk-visually-hidden"> disagreement overdue' in home
    listed = client.get(overdue).content.decode().split('id="disagreements"')[1]
    assert listed.count('href="/disagreements/') == 1 and f'href="/disagreements/{late.pk}/"' in listed
    assert "Overdue" in listed
    everything = client.get(reverse("alert-queue")).content.decode().split('id="disagreements"')[1]
    assert everything.count('href="/disagreements/') == 2


def test_the_owner_moves_it_up_stage_two_opens_and_the_raiser_hears_every_outcome(
    client_for, alice, dsl, kit, carol, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        d = raise_disagreement(kit, alice, with_whom=carol)
    url = reverse("disagreement-detail", args=[d.pk])
    page = client_for(alice).get(url).content.decode()
    assert "Record the outcome of stage 1" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(alice).post(
            url, {"outcome": "moved_up", "rationale": "Carol and I spoke on 6 March; she will not reopen it."}
        )
    assert response.status_code == 302
    first, second = d.stages.order_by("number")
    assert first.outcome == "moved_up" and first.closed_by == alice and first.closed_at is not None
    assert second.number == 2 and second.closed_at is None
    assert second.owner == dsl  # the raiser's own agency's designated safeguarding lead
    assert {u.username for u in second.participants.all()} == {
        "dsl",
        "mo",
        "alice",
        "carol",
    }  # both practitioners stay on
    rules = rules_for_area(kit.area_id)
    assert second.due_at == rules.calendar.add_working_days(second.opened_at, rules.stages[1].working_days)
    heard = notifications_for(alice, ":o1:")
    assert [n.title for n in heard] == ["Your professional disagreement: stage 1 not resolved: moved to the next stage"]
    assert heard[0].link == url
    assert notifications_for(dsl, ":s2:"), "the stage 2 owner is told the stage is theirs"

    # the stage 2 owner sees it, records the outcome; the raiser is told again
    page = _names(client_for(dsl).get(url).content.decode())
    assert "Stage 2: Designated safeguarding leads or line managers" in page
    assert "Carol and I spoke on 6 March" in page
    assert "Record the outcome of stage 2" in page
    with django_capture_on_commit_callbacks(execute=True):
        client_for(dsl).post(
            url,
            {
                "outcome": "resolved",
                "rationale": "Strategy discussion agreed for 10 March with children's social care.",
            },
        )
    d.refresh_from_db()
    assert d.state == DisagreementState.RESOLVED
    assert [n.title for n in notifications_for(alice, ":o2:")] == [
        "Your professional disagreement: stage 2 resolved at this stage"
    ]
    # the raiser sees every outcome and its rationale, and can no longer record one
    page = _names(client_for(alice).get(url).content.decode())
    assert "Not resolved: moved to the next stage" in page and "Resolved at this stage" in page
    assert "Strategy discussion agreed for 10 March" in page
    assert "Record the outcome" not in page


def test_an_outcome_needs_a_rationale_and_only_those_at_the_stage_record_it(client_for, alice, dsl, kit, carol):
    d = raise_disagreement(kit, alice, with_whom=carol)
    url = reverse("disagreement-detail", args=[d.pk])
    page = client_for(alice).post(url, {"outcome": "", "rationale": ""}).content.decode()
    assert 'href="#id_outcome">Say whether it was resolved or moves to the next stage' in page
    assert 'href="#id_rationale">Enter the rationale for the outcome' in page
    # dsl reads kit but has no part in stage 1: the disagreement does not exist for them yet
    assert client_for(dsl).post(url, {"outcome": "resolved", "rationale": "Looks fine to me."}).status_code == 404
    assert d.stages.get().closed_at is None


# --- referrals ----------------------------------------------------------------------------------


def test_the_receiving_agency_records_the_outcome_and_the_referrer_is_told(
    client_for, alice, bob, kit, django_capture_on_commit_callbacks
):
    event = refer(kit, alice, bob.agency.code)
    referral = Referral.objects.get(event=event)
    assert referral.from_agency == alice.agency and referral.to_agency == bob.agency
    url = reverse("referral-detail", args=[referral.pk])

    page = _names(client_for(alice).get(url).content.decode())
    assert "Referral from Agency A to Agency B" in page
    assert f"#entry-{event.pk}" in page and "Not yet recorded" in page
    assert "Record the outcome" not in page  # the referrer does not answer their own referral
    assert client_for(alice).post(url, {"outcome": "early_help", "text": "Self-answered."}).status_code == 403

    page = client_for(bob).get(url).content.decode()
    assert "Record the outcome" in page and '<option value="cin">Child in need</option>' in page
    page = client_for(bob).post(url, {"outcome": "", "text": ""}).content.decode()
    assert 'href="#id_outcome">Choose the outcome' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(bob).post(
            url, {"outcome": "early_help", "text": "Breakfast club from Monday; the school nurse sees Kit weekly."}
        )
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.outcome == "early_help" and referral.outcome_by == bob and referral.outcome_at is not None
    told = notifications_for(alice, f"referral{referral.pk}:outcome")
    assert [n.title for n in told] == ["The outcome of your referral to Agency B is recorded"]
    page = _names(client_for(alice).get(url).content.decode())
    assert "Early help" in page and "Breakfast club from Monday" in page


def test_an_overdue_outcome_is_said_in_words(client_for, alice, bob, kit):
    referral = Referral.objects.get(event=refer(kit, alice, bob.agency.code))
    Referral.objects.filter(pk=referral.pk).update(outcome_due_at=timezone.now() - datetime.timedelta(hours=1))
    page = client_for(bob).get(reverse("referral-detail", args=[referral.pk])).content.decode()
    assert "Overdue: no outcome was recorded by then." in page


# --- closures -----------------------------------------------------------------------------------


def at_level_four(kit, alice, django_capture_on_commit_callbacks):
    """A bruise on a baby who is not independently mobile: indicated level 4 with an open flag."""
    kit.date_of_birth = timezone.localdate() - datetime.timedelta(days=70)
    kit.save()
    with django_capture_on_commit_callbacks(execute=True):
        event_record(
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
    assert Assessment.objects.filter(child=kit).latest("assessed_at").level == 4


def test_a_case_at_low_level_closes_normally_without_countersignature(client_for, alice, kit):
    page = client_for(alice).get(reverse("closure-new", args=[kit.pk])).content.decode()
    assert "No countersignature is needed" in page
    assert f'href="{reverse("event-new", args=[kit.pk])}"' in page
    assert "<form" not in page.split('id="main-content"')[1]


def test_closing_at_risk_needs_a_request_and_a_countersignature_from_another_dsl(
    client_for, alice, dsl, kit, django_capture_on_commit_callbacks
):
    at_level_four(kit, alice, django_capture_on_commit_callbacks)
    today = timezone.localdate()
    # the ordinary event form refuses the closure and says why
    page = (
        client_for(alice)
        .post(
            reverse("event-new", args=[kit.pk]),
            {
                "type": "case_closed",
                **{f"occurred_{k}": v for k, v in (("day", today.day), ("month", today.month), ("year", today.year))},
                "summary": "Closing: the family have engaged with the plan and moved nearer to grandparents.",
                "information_source": "practitioner",
                "verified": "unverified",
                "sharing": "all",
            },
        )
        .content.decode()
    )
    assert "closing the case needs a designated safeguarding lead&#x27;s countersignature" in page
    assert not Event.objects.filter(type="case_closed").exists()

    # the request page says what makes the countersignature necessary
    url = reverse("closure-new", args=[kit.pk])
    page = _names(client_for(alice).get(url).content.decode())
    assert "Closing this case needs a designated safeguarding lead's countersignature" in page
    assert "The indicated level is <strong>4: Child protection</strong>" in page
    assert "Bruising on a baby who is not independently mobile" in page
    page = client_for(alice).post(url, {"summary": ""}).content.decode()
    assert 'href="#id_occurred_day">Enter the date the case closes' in page
    assert not ClosureRequest.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(alice).post(url, closure_form(today))
    closure = ClosureRequest.objects.get()
    assert response["Location"] == reverse("closure-detail", args=[closure.pk])
    assert closure.state == ClosureState.AWAITING and closure.level_at_request == 4
    assert notifications_for(dsl, f"closure{closure.pk}:requested")

    detail = reverse("closure-detail", args=[closure.pk])
    page = client_for(alice).get(detail).content.decode()
    assert "Countersign or decline" not in page
    assert client_for(alice).post(detail, {"decision": "countersign", "rationale": "I am sure."}).status_code == 403
    page = client_for(dsl).get(detail).content.decode()
    assert "Countersign or decline" in page
    page = client_for(dsl).post(detail, {"decision": "countersign", "rationale": ""}).content.decode()
    assert 'href="#id_rationale">Enter the rationale for your decision' in page
    with django_capture_on_commit_callbacks(execute=True):
        client_for(dsl).post(
            detail,
            {"decision": "countersign", "rationale": "Health visitor stays monthly; the GP is told; risk is managed."},
        )
    closure.refresh_from_db()
    assert closure.state == ClosureState.COUNTERSIGNED and closure.decided_by == dsl
    closed = Event.objects.get(type="case_closed")
    assert closure.event == closed and closed.agency == alice.agency
    assert "Closure countersigned by" in closed.summary
    page = client_for(alice).get(detail).content.decode()
    assert f"#entry-{closed.pk}" in page and "Countersigned: case closed" in page
    assert [n.title for n in notifications_for(alice, f"closure{closure.pk}:decided")] == [
        "Your case closure request was countersigned"
    ]


def test_a_dsl_who_requests_a_closure_cannot_countersign_it(
    client_for, dsl, alice, kit, django_capture_on_commit_callbacks
):
    at_level_four(kit, alice, django_capture_on_commit_callbacks)
    client_for(dsl).post(reverse("closure-new", args=[kit.pk]), closure_form(timezone.localdate()))
    closure = ClosureRequest.objects.get(requested_by=dsl)
    page = client_for(dsl).get(reverse("closure-detail", args=[closure.pk])).content.decode()
    assert "Countersign or decline" not in page
    assert "You made this request" in page


# --- supervision --------------------------------------------------------------------------------


def concern(child, user, type_, day, factors=()):
    return event_record(
        actor=user,
        child=child,
        data=EventInput(
            occurred_on=day,
            agency=user.agency,
            type=type_,
            summary=f"{type_.replace('_', ' ').capitalize()}: recorded in detail for the test.",
            factors=list(factors),
        ),
    )


def test_the_supervision_list_shows_persistent_concern_below_child_protection(client_for, alice, dsl, kit):
    quiet = ChildFactory(given_name="Lee", family_name="Quiet")
    involve(quiet, alice)
    back = timezone.localdate() - datetime.timedelta(days=230)  # seven and a half months ago
    concern(kit, alice, "home_conditions_concern", back, ["16A"])
    concern(kit, alice, "presentation_concern", back + datetime.timedelta(days=3), ["16A"])

    rows = loops.supervision_children(user=dsl)
    assert [(r["child"], r["level"] in (2, 3), r["months"] >= 7) for r in rows] == [(kit, True, True)]
    page = _names(client_for(dsl).get(reverse("supervision")).content.decode())
    assert "Kit Invented" in page and "Lee Quiet" not in page
    assert "stayed at 2 or 3, below child protection, for 6 months or more" in page
    assert f"Indicated level {rows[0]['level']}" in page
    assert f'<td class="govuk-table__cell govuk-table__cell--numeric">{rows[0]["months"]}</td>' in page
    # the practitioners of the agency who work with the child, for the supervision conversation
    assert str(alice) in page


def test_a_child_only_just_below_threshold_is_not_listed_before_the_months_have_passed(client_for, alice, dsl, kit):
    recent = timezone.localdate() - datetime.timedelta(days=60)
    concern(kit, alice, "home_conditions_concern", recent, ["16A"])
    concern(kit, alice, "presentation_concern", recent + datetime.timedelta(days=3), ["16A"])
    page = client_for(dsl).get(reverse("supervision")).content.decode()
    assert "Kit Invented" not in page
    assert "No child you supervise has had persistent concerns below child protection level" in page
