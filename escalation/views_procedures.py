"""Pages for the procedures that close loops: professional disagreements, referral outcomes, countersigned
case closures, and the supervision list. Thin: parse, call a selector or a service, render.

Every page about a child reads it through the access policy (404 for a record the user may not know
exists) and logs the read.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from agencies import policy
from agencies.services import access_log_record, origin_from_request
from chronology import vocabulary as v
from chronology.models import Child
from chronology.selectors import child_get
from escalation import clock, selectors
from escalation.forms_procedures import (
    ClosureDecisionForm,
    ClosureRequestForm,
    DisagreementForm,
    ReferralOutcomeForm,
    StageOutcomeForm,
)
from escalation.models import ClosureRequest, ClosureState, Disagreement, DisagreementState, Referral
from escalation.policy import rules_for_area
from escalation.services import disagreements, loops
from thresholds.panels import FLAG_WORDS
from thresholds.services import policy_for_area


def _child(request, child_id: int, what: str):
    try:
        return child_get(actor=request.user, child_id=child_id, what=what, origin=origin_from_request(request))
    except Child.DoesNotExist:
        raise Http404("No child found") from None


def _log_read(request, child, what: str) -> None:
    access_log_record(
        user=request.user,
        child=child,
        access=policy.access_for(request.user, child),
        what=what,
        origin=origin_from_request(request),
    )


def _add_errors(form, exc: ValidationError) -> None:
    """A service's refusal onto the form: its own field where there is one, otherwise the whole form."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


# --- professional disagreement ------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@transaction.atomic
def disagreement_new(request, child_id: int):
    child, _ = _child(request, child_id, "child record (raising a professional disagreement)")
    if not disagreements.may_raise(request.user, child):
        raise PermissionDenied("Only a practitioner working with the child raises a professional disagreement.")
    form = DisagreementForm(request.POST or None, practitioners=selectors.practitioners_involved(request.user, child))
    if request.method == "POST" and form.is_valid():
        try:
            d = disagreements.disagreement_raise(
                actor=request.user,
                child=child,
                decision_disputed=form.cleaned_data["decision_disputed"],
                concern=form.cleaned_data["concern"],
                with_whom=form.cleaned_data["with_whom"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            stage = d.current_stage
            messages.success(
                request,
                f"Professional disagreement raised. Stage 1 ({stage.title}) is due by "
                f"{timezone.localtime(stage.due_at):%H:%M on %-d %B %Y}.",
            )
            return redirect("disagreement-detail", disagreement_id=d.pk)
    return render(
        request,
        "escalation/procedures/disagreement_new.html",
        {"form": form, "child": child, "stages": rules_for_area(child.area_id).stages},
    )


@require_http_methods(["GET", "POST"])
@transaction.atomic
def disagreement_detail(request, disagreement_id: int):
    try:
        d = selectors.disagreement_get(request.user, disagreement_id)
    except Disagreement.DoesNotExist:
        raise Http404("No professional disagreement found") from None
    _log_read(request, d.child, "professional disagreement")
    may_act = d.state == DisagreementState.OPEN and disagreements.may_act(request.user, d)
    stages = selectors.disagreement_stages(d)
    current = next((s for s in stages if s.closed_at is None), None)
    rules = rules_for_area(d.area_id)
    form = None
    if may_act and current is not None:
        form = StageOutcomeForm(request.POST or None, last_stage=current.number >= len(rules.stages))
    if request.method == "POST":
        if form is None:
            raise PermissionDenied(
                "Only the stage's owner, its participants or the area's safeguarding leads record it."
            )
        if form.is_valid():
            try:
                disagreements.stage_record_outcome(
                    actor=request.user,
                    disagreement=d,
                    outcome=form.cleaned_data["outcome"],
                    rationale=form.cleaned_data["rationale"],
                )
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(
                    request,
                    f"Outcome of stage {current.number} recorded. The person who raised the disagreement is told it.",
                )
                return redirect("disagreement-detail", disagreement_id=d.pk)
    return render(
        request,
        "escalation/procedures/disagreement_detail.html",
        {
            "d": d,
            "stages": stages,
            "current": current,
            "form": form,
            "notes": d.notes.select_related("actor").order_by("at", "pk"),
            "now": clock.now(),
            "stage_count": len(rules.stages),
        },
    )


# --- referrals ----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@transaction.atomic
def referral_detail(request, referral_id: int):
    try:
        referral = selectors.referral_get(request.user, referral_id)
    except Referral.DoesNotExist:
        raise Http404("No referral found") from None
    _log_read(request, referral.child, "referral")
    form = None
    if referral.outcome_at is None and loops.may_answer(request.user, referral):
        form = ReferralOutcomeForm(request.POST or None)
    if request.method == "POST":
        if form is None:
            raise PermissionDenied("Only the receiving agency records a referral's outcome, once.")
        if form.is_valid():
            try:
                loops.referral_outcome_record(
                    actor=request.user,
                    referral=referral,
                    outcome=form.cleaned_data["outcome"],
                    text=form.cleaned_data["text"],
                )
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, "Outcome recorded. The referrer is told it.")
                return redirect("referral-detail", referral_id=referral.pk)
    now = clock.now()
    return render(
        request,
        "escalation/procedures/referral_detail.html",
        {
            "referral": referral,
            "form": form,
            "overdue": referral.outcome_at is None and referral.outcome_due_at <= now,
            "outcome_label": v.OUTCOMES.get(referral.outcome, referral.outcome),
            "event_type": v.EVENT_TYPES.get(referral.event.type, referral.event.type),
        },
    )


# --- case closure -------------------------------------------------------------------------------


def _risk_words(child, level: int, flags: list[str]) -> dict:
    return {
        "level": level,
        "level_name": policy_for_area(child.area_id).level_name(level) if level else "",
        "flags": [FLAG_WORDS.get(f, f.replace("_", " ")) for f in flags],
    }


@require_http_methods(["GET", "POST"])
@transaction.atomic
def closure_new(request, child_id: int):
    child, access = _child(request, child_id, "child record (requesting case closure)")
    if not access.can_write or request.user.agency_id is None:
        raise PermissionDenied("You can read this record but not record information on it.")
    risk = loops.closure_risk(child)
    form = ClosureRequestForm(request.POST or None) if risk is not None else None
    if request.method == "POST" and form is not None and form.is_valid():
        try:
            closure = loops.closure_request(
                actor=request.user,
                child=child,
                occurred_on=form.cleaned_data["occurred_on"],
                summary=form.cleaned_data["summary"],
                outcome=form.cleaned_data["outcome"],
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict") and "occurred_on" in exc.error_dict:
                form.add_error("occurred_day", exc.error_dict.pop("occurred_on"))
            _add_errors(form, exc)
        else:
            messages.success(
                request, "Case closure requested. Your agency's designated safeguarding leads are asked to decide."
            )
            return redirect("closure-detail", closure_id=closure.pk)
    return render(
        request,
        "escalation/procedures/closure_new.html",
        {
            "child": child,
            "form": form,
            "risk": _risk_words(child, *risk) if risk else None,
            "awaiting": selectors.closures_awaiting_for_child(request.user, child),
        },
    )


@require_http_methods(["GET", "POST"])
@transaction.atomic
def closure_detail(request, closure_id: int):
    try:
        closure = selectors.closure_get(request.user, closure_id)
    except ClosureRequest.DoesNotExist:
        raise Http404("No case closure request found") from None
    _log_read(request, closure.child, "case closure request")
    form = None
    if closure.state == ClosureState.AWAITING and loops.may_countersign(request.user, closure):
        form = ClosureDecisionForm(request.POST or None)
    if request.method == "POST":
        if form is None:
            raise PermissionDenied("A designated safeguarding lead of the agency, not the requester, decides.")
        if form.is_valid():
            countersign = form.cleaned_data["decision"] == "countersign"
            try:
                loops.closure_decide(
                    actor=request.user,
                    request=closure,
                    countersign=countersign,
                    rationale=form.cleaned_data["rationale"],
                )
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(
                    request,
                    "Closure countersigned: the 'Case closed' entry is on the chronology."
                    if countersign
                    else "Closure declined: the case stays open. The requester is told why.",
                )
                return redirect("closure-detail", closure_id=closure.pk)
    return render(
        request,
        "escalation/procedures/closure_detail.html",
        {
            "closure": closure,
            "form": form,
            "risk": _risk_words(closure.child, closure.level_at_request, closure.flags_at_request),
            "outcome_label": v.OUTCOMES.get(closure.outcome, closure.outcome),
            "is_requester": closure.requested_by_id == request.user.pk,
        },
    )


# --- supervision --------------------------------------------------------------------------------


def supervision(request):
    user = request.user
    if not loops.may_supervise(user):
        raise PermissionDenied("The supervision list is for line managers and safeguarding leads of agencies.")
    rows = loops.supervision_children(user=user)
    return render(
        request,
        "escalation/procedures/supervision.html",
        {
            "rows": rows,
            "months": rules_for_area(user.agency.area_id if user.agency_id else None).supervision_months,
        },
    )
