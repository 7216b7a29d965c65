"""The alert queue, one alert and the work done on it, and the user's notifications."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods

from agencies.models import Role
from agencies.services import origin_from_request
from chronology.models import Child
from chronology.selectors import child_get
from escalation import clock, selectors
from escalation.forms_alerts import AcknowledgeForm, AssignForm, CloseForm, NoteForm, QueueFilterForm
from escalation.models import Alert, AlertState, Decision, Notification
from escalation.services import alerts as alert_services
from escalation.services import delivery
from thresholds.panels import FLAG_WORDS, _linked_reasons

# --- words for what the pages show -----------------------------------------------------------------


def cause_words(cause: str) -> str:
    """What raised an alert, in words rather than its code."""
    kind, _, detail = cause.partition(":")
    if kind == "level" and detail:
        return f"Indicated level rose to {detail}"
    if kind == "flag" and detail:
        return FLAG_WORDS.get(detail, detail.replace("_", " ").capitalize())
    if kind == "break_glass":
        return "Break-glass access to review"
    if kind == "closure":
        return "Case closed while risk remained"
    if kind.startswith("referral"):
        return "Referral outcome overdue"
    return cause.replace("_", " ").replace(":", ": ").capitalize()


def duration_words(delta: timedelta) -> str:
    """A length of time in the two largest units that matter: '2 days 3 hours', '40 minutes'."""
    minutes = int(abs(delta).total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [(days, "day"), (hours, "hour"), (minutes, "minute")]
    shown = [f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in parts if n]
    if not shown:
        return "less than a minute"
    return " ".join(shown[:2])


HISTORY_WORDS = {
    "raised": "Raised",
    "acknowledged": "Acknowledged",
    "assigned": "Assigned",
    "note": "Note",
    "moved_up": "Moved up: not acknowledged in time",
    "closed": "Closed with a decision",
}


def history_words(kind: str) -> str:
    return HISTORY_WORDS.get(kind, kind.replace("_", " ").capitalize())


@dataclass(frozen=True)
class Clock:
    """Where an alert stands against its acknowledgement time."""

    words: str
    overdue: bool


def acknowledgement_clock(alert: Alert, now: datetime) -> Clock:
    if alert.state == AlertState.CLOSED:
        return Clock("Closed", False)
    if alert.state == AlertState.ACKNOWLEDGED:
        return Clock("Acknowledged", False)
    left = alert.acknowledge_by - now
    if left <= timedelta(0):
        return Clock(f"Overdue by {duration_words(left)}", True)
    return Clock(f"{duration_words(left)} left", False)


@dataclass(frozen=True)
class QueueRow:
    alert: Alert
    cause: str
    clock: Clock


# --- the queue -------------------------------------------------------------------------------------


@require_GET
def queue(request):
    """What is sent to the user to work: open alerts by severity and time left, then referrals, closures and
    disagreements. Only names are listed here, so nothing is logged until an alert is opened."""
    user = request.user
    data = request.GET.copy()
    data.setdefault("state", "open")
    form = QueueFilterForm(data)
    now = clock.now()
    overdue_stages_only = request.GET.get("disagreements") == "overdue"  # the home page's count of them
    rows = [
        QueueRow(alert=a, cause=cause_words(a.cause), clock=acknowledgement_clock(a, now))
        for a in selectors.alert_queue(user, form.filters(), now=now)
    ]
    return render(
        request,
        "escalation/alerts/queue.html",
        {
            "filter_form": form,
            "filtered": form.active,
            "rows": rows,
            "works_queue": selectors.works_queue(user),
            "area_lead": Role.AREA_SAFEGUARDING_LEAD in user.role_codes(),
            "referrals": [(r, r.outcome_due_at <= now) for r in selectors.referrals_awaiting(user)],
            "closures": selectors.closures_awaiting(user),
            "stages": [
                (s, s.due_at <= now)
                for s in selectors.disagreements_open(user)
                if not overdue_stages_only or s.due_at <= now
            ],
            "overdue_stages_only": overdue_stages_only,
        },
    )


# --- one alert -------------------------------------------------------------------------------------

ACTIONS = ("acknowledge", "assign", "note", "close")


def _forms(alert: Alert, candidates, data=None, action: str | None = None) -> dict:
    def bound(name):
        return data if name == action else None

    return {
        "acknowledge": AcknowledgeForm(bound("acknowledge")),
        "assign": AssignForm(bound("assign"), candidates=candidates),
        "note": NoteForm(bound("note")),
        "close": CloseForm(bound("close")),
    }


def _errors_into(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _act(action: str, form, *, actor, alert: Alert) -> str:
    """Do what the form asks through the services; returns the words for the success banner."""
    if action == "acknowledge":
        alert_services.alert_acknowledge(actor=actor, alert=alert)
        return "Alert acknowledged. You are named as having acknowledged it."
    if action == "assign":
        owner = form.cleaned_data["owner"]
        alert_services.alert_assign(actor=actor, alert=alert, owner=owner)
        return f"Alert assigned to {owner}."
    if action == "note":
        alert_services.alert_note(actor=actor, alert=alert, text=form.cleaned_data["text"])
        return "Note added to the alert's history."
    decision = form.cleaned_data["decision"]
    alert_services.alert_close(actor=actor, alert=alert, decision=decision, rationale=form.cleaned_data["rationale"])
    return f"Alert closed with the decision: {Decision(decision).label}."


@require_http_methods(["GET", "POST"])
@transaction.atomic
def alert_detail(request, alert_id: int):
    user = request.user
    try:
        alert = selectors.alert_get(user, alert_id)
    except Alert.DoesNotExist:
        raise Http404("No alert found") from None
    may_work = alert_services.may_work(user, alert)
    open_ = alert.state != AlertState.CLOSED
    candidates = []
    if may_work and open_:
        candidates = [u for u in selectors.alert_assign_candidates(alert) if alert_services.may_work(u, alert)]

    failed, action = None, None
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in ACTIONS:
            return HttpResponseBadRequest("Unknown action")
        if not may_work:
            raise PermissionDenied("You are not among the people who work this alert.")
        forms = _forms(alert, candidates, request.POST, action)
        form = forms[action]
        if form.is_valid():
            try:
                words = _act(action, form, actor=user, alert=alert)
            except ValidationError as exc:
                _errors_into(form, exc)
            else:
                messages.success(request, words)
                return redirect("alert-detail", alert_id=alert.pk)
        failed = form
    else:
        forms = _forms(alert, candidates)

    # Opening an alert reads the child's record: through the policy, and logged.
    try:
        child, access = child_get(
            actor=user, child_id=alert.child_id, what="alert", origin=origin_from_request(request)
        )
    except Child.DoesNotExist:
        raise Http404("No alert found") from None
    return render(
        request,
        "escalation/alerts/detail.html",
        {
            "alert": alert,
            "child": child,
            "access": access,
            "cause": cause_words(alert.cause),
            "clock": acknowledgement_clock(alert, clock.now()),
            "reasons": _linked_reasons(alert),
            "recipients": selectors.alert_recipients(alert),
            "history": [(entry, history_words(entry.kind)) for entry in selectors.alert_history(alert)],
            "may_work": may_work and open_,
            "break_glass": alert.exceptional_access_id is not None,
            "forms": forms,
            "form": failed,
            "failed_action": action if failed is not None else None,
        },
    )


# --- notifications ---------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def notifications(request):
    user = request.user
    if request.method == "POST":
        count = delivery.notifications_read(user=user)
        messages.success(
            request,
            f"{count} notification{'' if count == 1 else 's'} marked as read." if count else "Nothing was unread.",
        )
        return redirect("notifications")
    items = selectors.notifications_for(user)
    readable = selectors.readable_child_ids(user, {n.child_id for n in items})
    return render(
        request,
        "escalation/alerts/notifications.html",
        {
            "items": [(n, n.child if n.child_id in readable else None) for n in items],
            "unread": sum(1 for n in items if n.read_at is None),
        },
    )


@require_http_methods(["GET", "POST"])
def notification_open(request, notification_id: int):
    """Mark the notification read and go where it points (only ever within the platform)."""
    try:
        notification = selectors.notification_get(request.user, notification_id)
    except Notification.DoesNotExist:
        raise Http404("No notification found") from None
    delivery.notifications_read(user=request.user, ids=[notification.pk])
    link = notification.link
    if not link.startswith("/") or not url_has_allowed_host_and_scheme(
        link, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        link = reverse("notifications")
    return redirect(link)
