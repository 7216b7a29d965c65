"""Alerts through the REST API: the acting person's queue, and acknowledging an alert.

The list is the escalation queue as the acting person sees it (`selectors.alerts_visible`): alerts they work,
about children they may read now. Like the queue it names children only by id and says what raised each alert
in words, so listing is not a read of any child's record; the alert's full text is read in the browser, logged.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Case, IntegerField, Value, When
from django.http import Http404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from api.base import ApiView, PageQuery, PageSerializer, idempotent, page_of
from escalation import clock, selectors
from escalation.models import SEVERITY_RANK, Alert, AlertState, Decision, Severity
from escalation.services import alerts as alert_services
from escalation.views_alerts import cause_words


class AlertNotOpen(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "alert_not_open"


class AlertQuery(PageQuery):
    state = serializers.ListField(
        child=serializers.ChoiceField(choices=AlertState.choices),
        required=False,
        help_text='Only alerts in these states (repeat the parameter for several). Left out: "open" and '
        '"acknowledged", everything not yet closed, as the queue shows by default.',
    )
    severity = serializers.ListField(
        child=serializers.ChoiceField(choices=Severity.choices),
        required=False,
        help_text="Only alerts of these severities (repeat the parameter for several).",
    )


class AlertSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The alert's id.")
    child = serializers.IntegerField(source="child_id", help_text="The id of the child the alert is about.")
    cause = serializers.CharField(
        help_text='What raised it, as a code: "level:<n>", "flag:<code>", "break_glass:<id>", "closure" or '
        '"referral:<id>".'
    )
    cause_words = serializers.SerializerMethodField(help_text="What raised it, in words, as the queue says it.")
    title = serializers.CharField(help_text="The alert's title, as the queue lists it.")
    severity = serializers.ChoiceField(choices=Severity.choices, help_text="How soon it must be acknowledged.")
    state = serializers.ChoiceField(
        choices=AlertState.choices,
        help_text="open: waiting to be acknowledged; acknowledged: someone is on it; closed: closed with a decision.",
    )
    raised_at = serializers.DateTimeField(source="created_at", help_text="When it was raised.")
    acknowledge_by = serializers.DateTimeField(
        help_text="When the people it is with now must have acknowledged it; past it, it moves up a tier."
    )
    overdue = serializers.SerializerMethodField(help_text="Open and past its acknowledgement time.")
    tier = serializers.IntegerField(help_text="0: with its first recipients; each step up adds people.")
    owner = serializers.CharField(
        source="owner.username", allow_null=True, default=None, help_text="Who owns it (username); null if nobody."
    )
    acknowledged_at = serializers.DateTimeField(allow_null=True, help_text="When it was acknowledged; null if not yet.")
    acknowledged_by = serializers.CharField(
        source="acknowledged_by.username",
        allow_null=True,
        default=None,
        help_text="Who acknowledged it (username); null if nobody has yet.",
    )
    closed_at = serializers.DateTimeField(allow_null=True, help_text="When it was closed; null while it is not.")
    decision = serializers.ChoiceField(
        choices=[("", "Not closed"), *Decision.choices],
        help_text="The decision it was closed with; empty while it is not closed.",
    )

    def get_cause_words(self, alert: Alert) -> str:
        return cause_words(alert.cause)

    def get_overdue(self, alert: Alert) -> bool:
        return alert.state == AlertState.OPEN and alert.acknowledge_by <= self.context["now"]


class AlertPageSerializer(PageSerializer):
    results = AlertSerializer(
        many=True,
        help_text="The alerts: not yet closed first, then open before acknowledged, most severe first, "
        "then by time left to acknowledge.",
    )


ALERT_EXAMPLE_VALUE = {
    "id": 7,
    "child": 12,
    "cause": "flag:non_mobile_bruising",
    "cause_words": "Bruising on a baby who is not independently mobile",
    "title": "Bruising on a baby who is not independently mobile",
    "severity": "critical",
    "state": "acknowledged",
    "raised_at": "2026-11-24T11:00:00Z",
    "acknowledge_by": "2026-11-24T12:00:00Z",
    "overdue": False,
    "tier": 0,
    "owner": "dsl.agency.a",
    "acknowledged_at": "2026-11-24T11:20:41Z",
    "acknowledged_by": "dsl.agency.a",
    "closed_at": None,
    "decision": "",
}
ALERTS_EXAMPLE = OpenApiExample(
    "One alert",
    value={"count": 1, "next": None, "previous": None, "results": [ALERT_EXAMPLE_VALUE]},
    response_only=True,
)
ACKNOWLEDGED_EXAMPLE = OpenApiExample("Acknowledged", value=ALERT_EXAMPLE_VALUE, response_only=True)


class AlertConflictSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="Why nothing was done, in words.")


def _queue_order(alerts):
    """The queue's order (selectors.alert_queue), in the database so that pages are stable."""
    rank = Case(
        *[When(severity=severity, then=Value(n)) for severity, n in SEVERITY_RANK.items()],
        output_field=IntegerField(),
    )
    return alerts.annotate(
        closed_last=Case(When(state=AlertState.CLOSED, then=Value(1)), default=Value(0), output_field=IntegerField()),
        open_first=Case(When(state=AlertState.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField()),
        severity_rank=rank,
    ).order_by("closed_last", "open_first", "severity_rank", "acknowledge_by", "pk")


class AlertList(ApiView):
    @extend_schema(
        operation_id="alert_list",
        summary="The acting person's alerts",
        description=(
            "The alerts the acting person works, as their queue shows them: those sent or assigned to them, those "
            "of their agency's people for a designated safeguarding lead, those of the area for its safeguarding "
            "lead; only about children they may read now. By page, filtered by state and severity. Children are "
            "named by id only, so listing is not a read of a child's record."
        ),
        parameters=[AlertQuery],
        responses={200: AlertPageSerializer},
        examples=[ALERTS_EXAMPLE],
        tags=["alerts"],
    )
    def get(self, request):
        query = AlertQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        wanted = query.validated_data
        alerts = selectors.alerts_visible(request.user).select_related("owner", "acknowledged_by")
        states = wanted.get("state") or [AlertState.OPEN, AlertState.ACKNOWLEDGED]
        alerts = alerts.filter(state__in=states)
        if wanted.get("severity"):
            alerts = alerts.filter(severity__in=wanted["severity"])
        page = page_of(_queue_order(alerts), wanted)
        return Response(AlertPageSerializer(page, context={"now": clock.now()}).data)


class AlertAcknowledge(ApiView):
    @extend_schema(
        operation_id="alert_acknowledge",
        summary="Acknowledge an alert",
        description=(
            "The acting person acknowledges the alert: they are named as having acknowledged it and, if nobody "
            "owns it yet, they own it. No body is needed. 404 for an alert they do not see; 403 if they see it "
            "but are not among the people who work it; 409 if it is no longer open. Send an Idempotency-Key to "
            "retry safely: a retry returns the first answer."
        ),
        parameters=[
            OpenApiParameter(
                "alert_id",
                {"type": "integer", "minimum": 1},
                OpenApiParameter.PATH,
                description="The alert's id, as the list gives it.",
            )
        ],
        request=None,
        responses={
            200: AlertSerializer,
            409: OpenApiResponse(AlertConflictSerializer, description="The alert is no longer open; nothing was done."),
        },
        examples=[ACKNOWLEDGED_EXAMPLE],
        tags=["alerts"],
    )
    def post(self, request, alert_id: int):
        def perform() -> Response:
            try:
                alert = selectors.alert_get(request.user, alert_id)
            except Alert.DoesNotExist:
                raise Http404("No alert found") from None
            try:
                alert = alert_services.alert_acknowledge(actor=request.user, alert=alert)
            except ValidationError as exc:
                raise AlertNotOpen(" ".join(exc.messages)) from None
            return Response(AlertSerializer(alert, context={"now": clock.now()}).data)

        return idempotent(request, perform)
