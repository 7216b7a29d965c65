"""The access log through the REST API, for auditors and the area's safeguarding leads.

The access log is not a child's record: whoever the policy does not let read it gets 403, and reading it writes
no row of its own.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from agencies import selectors
from agencies.models import AccessBasis, AccessChannel
from api.base import ApiView, PageQuery, PageSerializer, page_of


class AccessLogQuery(PageQuery):
    child = serializers.IntegerField(required=False, min_value=1, help_text="Only reads of this child (its id).")
    user = serializers.CharField(
        required=False, max_length=150, help_text="Only reads by this person (their username)."
    )
    date_from = serializers.DateField(
        required=False, help_text="Only reads on or after this day (YYYY-MM-DD, Europe/London)."
    )
    date_to = serializers.DateField(
        required=False,
        help_text="Only reads on or before this day (YYYY-MM-DD, Europe/London); before date_from, nothing matches.",
    )
    channel = serializers.ChoiceField(
        choices=AccessChannel.choices, required=False, help_text="Only reads made through this channel."
    )


class AccessLogRowSerializer(serializers.Serializer):
    at = serializers.DateTimeField(help_text="When the record was read.")
    user = serializers.CharField(source="user.username", help_text="The username of the person who read it.")
    child = serializers.IntegerField(source="child_id", help_text="The id of the child whose record was read.")
    what = serializers.CharField(help_text='What was read, e.g. "chronology" or "child record (API)".')
    channel = serializers.ChoiceField(choices=AccessChannel.choices, help_text="How it was read.")
    basis = serializers.ChoiceField(
        choices=AccessBasis.choices, help_text="On what basis the access policy let the person read it."
    )
    reason = serializers.CharField(help_text="The involvement or the reason given (break-glass, audit), in words.")
    api_key = serializers.CharField(
        source="api_key.prefix",
        allow_null=True,
        default=None,
        help_text="The prefix of the API key the read was made with; null when it was not made with a key.",
    )
    request_id = serializers.CharField(help_text="The request's id, to match the platform's own logs.")


class AccessLogPageSerializer(PageSerializer):
    results = AccessLogRowSerializer(many=True, help_text="The reads, newest first.")


ACCESS_LOG_EXAMPLE = OpenApiExample(
    "Two reads",
    value={
        "count": 2,
        "next": None,
        "previous": None,
        "results": [
            {
                "at": "2026-11-23T10:02:11Z",
                "user": "hv.practitioner",
                "child": 12,
                "what": "chronology (API)",
                "channel": "api",
                "basis": "involvement",
                "reason": "involvement 31: Health visitor for the family",
                "api_key": "3f9a1c0b",
                "request_id": "0c4f7d2e9a8b4e51",
            },
            {
                "at": "2026-11-22T16:40:57Z",
                "user": "area.lead",
                "child": 12,
                "what": "chronology",
                "channel": "page",
                "basis": "area_safeguarding_lead",
                "reason": "Safeguarding lead for the child's area",
                "api_key": None,
                "request_id": "9b1e02c4d7f34a10",
            },
        ],
    },
    response_only=True,
)


def _start_of(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class AccessLogList(ApiView):
    @extend_schema(
        operation_id="access_log_list",
        summary="Who read which child's record",
        description=(
            "Every read of a child's record in the acting person's area, newest first, by page: for auditors and "
            "the area's safeguarding leads (who review break-glass openings); 403 for anyone else. Reading the "
            "access log is not a read of any child's record and is not logged in it."
        ),
        parameters=[AccessLogQuery],
        responses={200: AccessLogPageSerializer},
        examples=[ACCESS_LOG_EXAMPLE],
        tags=["access log"],
    )
    def get(self, request):
        rows = selectors.access_log(actor=request.user)  # PermissionDenied (403) for anyone the policy refuses
        query = AccessLogQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        wanted = query.validated_data
        if "child" in wanted:
            rows = rows.filter(child_id=wanted["child"])
        if "user" in wanted:
            rows = rows.filter(user__username=wanted["user"])
        if "date_from" in wanted:
            rows = rows.filter(at__gte=_start_of(wanted["date_from"]))
        if "date_to" in wanted:
            rows = rows.filter(at__lt=_start_of(wanted["date_to"] + timedelta(days=1)))
        if "channel" in wanted:
            rows = rows.filter(channel=wanted["channel"])
        page = page_of(rows.select_related("api_key"), wanted)
        return Response(AccessLogPageSerializer(page).data)
