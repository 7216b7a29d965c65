"""A child's indicated level through the REST API: the current assessment, one as of a date, and the timeline.

The answers have the shape of `assess --json` (the exchange contract's "Assessment output"). An indicated level
prompts professional judgement; it never decides anything, and the descriptions say so. Each call is a read of
the child's record: through the access policy for the acting person, and logged.
"""

from __future__ import annotations

from django.db import transaction
from django.http import Http404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from agencies.policy import Access
from api.base import ApiView
from chronology import selectors, visibility
from chronology.models import Child, Event
from thresholds import services
from thresholds.models import Assessment

INDICATION = (
    "The level is an indication from the pattern of recorded events, to prompt professional judgement: it never "
    "decides anything by itself."
)


class AssessmentQuery(serializers.Serializer):
    as_of = serializers.DateField(
        required=False,
        help_text="Assess as of the end of this day (YYYY-MM-DD, Europe/London), from what is recorded now. Without "
        "it: the latest stored assessment.",
    )


class TimelineQuery(serializers.Serializer):
    until = serializers.DateField(
        required=False,
        help_text="The last day of the timeline (YYYY-MM-DD); today when left out.",
    )


class AssessmentEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The platform's id of the chronology entry.")
    occurred_on = serializers.DateField(help_text="When it happened (ISO 8601).")
    type = serializers.CharField(help_text='The event type code, e.g. "domestic_abuse_incident".')
    agency = serializers.CharField(help_text="The code of the agency that recorded it.")
    ref = serializers.CharField(
        help_text="The sending system's reference for the entry, as in the exchange. Empty when the acting person "
        "may not read the entry in full: of a restricted entry of another agency they learn, as in the chronology, "
        "only that it exists, its date, type and agency."
    )


class AssessmentReasonSerializer(serializers.Serializer):
    rule = serializers.CharField(help_text='The rule that scored, e.g. "repeat_domestic_abuse".')
    text = serializers.CharField(help_text="What the rule found, in words.")
    events = serializers.ListField(
        child=serializers.CharField(),
        help_text="The sending systems' refs of the entries this reason counts, as `assess --json` names them; "
        "only entries the acting person reads in full are named here (`entries` lists every one).",
    )
    entries = AssessmentEntrySerializer(
        many=True, help_text="Every entry this reason counts, in the order `assess --json` names them."
    )
    points = serializers.FloatField(help_text="Points this reason adds to the score.")


class ToxicTrioSerializer(serializers.Serializer):
    domestic_abuse = serializers.BooleanField(help_text="Domestic abuse is evidenced within the policy's window.")
    mental_health = serializers.BooleanField(help_text="Parental mental ill health is evidenced within the window.")
    substance_misuse = serializers.BooleanField(help_text="Parental substance misuse is evidenced within the window.")


class AssessmentSerializer(serializers.Serializer):
    child = serializers.CharField(help_text="The child's platform id, as text (what `assess id:N --json` prints).")
    as_of = serializers.DateField(help_text="The day the child was assessed as of, to its end (Europe/London).")
    assessed_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When this assessment was stored; null when it was worked out for this answer (an `as_of` date, "
        "or a child not yet assessed).",
    )
    policy = serializers.CharField(help_text='The threshold policy applied, as "name/version".')
    level = serializers.IntegerField(
        min_value=1,
        max_value=4,
        help_text="The indicated level on the continuum of need (1 Universal, 2 Early help, 3 Targeted / child in "
        "need, 4 Child protection): a prompt for professional judgement, never a decision.",
    )
    level_name = serializers.CharField(help_text="The level's name in the area's policy.")
    indicated = serializers.BooleanField(help_text="Always true: the level is indicated, not decided.")
    score = serializers.FloatField(help_text="The sum of the reasons' points: nothing is scored that no reason shows.")
    toxic_trio = ToxicTrioSerializer(help_text="Each of the toxic trio, evidenced or not.")
    flags = serializers.ListField(
        child=serializers.CharField(),
        help_text='Flag codes (the contract lists those tools may rely on, e.g. "toxic_trio", "non_mobile_bruising").',
    )
    reasons = AssessmentReasonSerializer(
        many=True, help_text="Every reason that adds to the score, with the entries it counts."
    )


class AssessmentTimelineRowSerializer(serializers.Serializer):
    date = serializers.DateField(help_text="The day the indicated level or the set of flags changed.")
    level = serializers.IntegerField(min_value=1, max_value=4, help_text="The indicated level from that day.")
    flags = serializers.ListField(child=serializers.CharField(), help_text="The flags from that day, sorted.")


ASSESSMENT_EXAMPLE = OpenApiExample(
    "A baby's bruise",
    value={
        "child": "12",
        "as_of": "2026-03-12",
        "assessed_at": "2026-03-12T09:14:03Z",
        "policy": "default/1",
        "level": 4,
        "level_name": "Child protection",
        "indicated": True,
        "score": 30.0,
        "toxic_trio": {"domestic_abuse": False, "mental_health": False, "substance_misuse": False},
        "flags": ["non_mobile_bruising"],
        "reasons": [
            {
                "rule": "non_mobile_bruising",
                "text": "bruising on a baby who is not independently mobile (10 weeks old)",
                "events": ["GP-2026-0312-7"],
                "entries": [
                    {
                        "id": 4021,
                        "occurred_on": "2026-03-12",
                        "type": "injury",
                        "agency": "nhs-gp",
                        "ref": "GP-2026-0312-7",
                    }
                ],
                "points": 30.0,
            }
        ],
    },
    response_only=True,
)
TIMELINE_EXAMPLE = OpenApiExample(
    "Rising concern",
    value=[
        {"date": "2025-11-02", "level": 1, "flags": []},
        {"date": "2026-01-17", "level": 2, "flags": ["repeat_domestic_abuse"]},
        {"date": "2026-03-12", "level": 4, "flags": ["non_mobile_bruising", "repeat_domestic_abuse"]},
    ],
    response_only=True,
)


CHILD_ID = OpenApiParameter(
    "child_id",
    {"type": "integer", "minimum": 1},
    OpenApiParameter.PATH,
    description="The platform's id of the child's record.",
)


def _child_or_404(view: ApiView, child_id: int, what: str) -> tuple[Child, Access]:
    try:
        return selectors.child_get(actor=view.request.user, child_id=child_id, what=what, origin=view.origin())
    except Child.DoesNotExist:
        raise Http404("No child found") from None


def _snapshot_document(snapshot: Assessment) -> dict:
    """A stored snapshot as the engine's `Assessment.as_dict()` gives a fresh one."""
    return {
        "as_of": snapshot.as_of.isoformat(),
        "policy": snapshot.policy,
        "level": snapshot.level,
        "level_name": snapshot.level_name,
        "indicated": True,
        "score": round(snapshot.score, 1),
        "toxic_trio": dict(snapshot.toxic_trio),
        "flags": list(snapshot.flags),
        "reasons": [dict(reason) for reason in snapshot.reasons],
    }


def _entries_for_reader(document: dict, *, actor, access: Access) -> dict:
    """Each reason's entries as the chronology shows them to `actor`: every entry's date, type and agency, as the
    browser's indicated-level panel lists them, but the sending system's ref only of entries they read in full."""
    ids = {int(ref) for reason in document["reasons"] for ref in reason["events"] if str(ref).isdigit()}
    events = Event.objects.filter(pk__in=ids).select_related("agency").in_bulk()

    def read_in_full(event: Event) -> bool:
        if visibility.event_view(actor, event) != visibility.FULL:
            return False
        # Until a self-claimed involvement is confirmed, only the practitioner's own agency's entries are theirs.
        return not (access.awaiting_confirmation and event.agency_id != actor.agency_id)

    for reason in document["reasons"]:
        # In the engine's order, so that `events` reads as `assess --json` prints it.
        shown = [events[int(ref)] for ref in reason["events"] if str(ref).isdigit() and int(ref) in events]
        full = {e.pk for e in shown if read_in_full(e)}
        reason["entries"] = [
            {
                "id": e.pk,
                "occurred_on": e.occurred_on,
                "type": e.type,
                "agency": e.agency.code,
                "ref": e.ref if e.pk in full else "",
            }
            for e in shown
        ]
        reason["events"] = [e.ref for e in shown if e.pk in full]
    return document


class ChildAssessment(ApiView):
    @extend_schema(
        operation_id="child_assessment",
        summary="A child's indicated level, with every reason",
        description=(
            f"{INDICATION}\n\nWithout `as_of`: the latest stored assessment (re-assessment follows every recorded "
            "event in the background). With `as_of`: the assessment as of the end of that day, under the area's "
            "current policy. The shape is that of `assess --json`. Each reason lists the entries it counts; of "
            "an entry the acting person may not read in full (another agency's restricted entry) it gives only "
            "what the chronology shows them: its id, date, type and agency. A read of the child's record, logged; "
            "404 for a child that does not exist or the acting person may not read."
        ),
        parameters=[CHILD_ID, AssessmentQuery],
        responses={200: AssessmentSerializer},
        examples=[ASSESSMENT_EXAMPLE],
        tags=["assessments"],
    )
    def get(self, request, child_id: int):
        query = AssessmentQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        as_of = query.validated_data.get("as_of")
        what = f"indicated level as of {as_of.isoformat()} (API)" if as_of else "indicated level (API)"
        with transaction.atomic():
            child, access = _child_or_404(self, child_id, what)
            snapshot = None if as_of else services.latest_assessment(child)
            if snapshot is not None:
                document = {**_snapshot_document(snapshot), "assessed_at": snapshot.assessed_at}
            else:
                # Worked out for this answer and not stored: a read never writes an assessment or raises an alert.
                document = {**services.assessment_compute(child, as_of=as_of).as_dict(), "assessed_at": None}
            document["child"] = str(child.pk)
            document = _entries_for_reader(document, actor=request.user, access=access)
        return Response(AssessmentSerializer(document).data)


class ChildTimeline(ApiView):
    @extend_schema(
        operation_id="child_assessment_timeline",
        summary="When a child's indicated level or flags changed",
        description=(
            f"{INDICATION}\n\nOne row for each day the indicated level or the set of flags changed, up to `until` "
            "(today by default), under the area's current policy: the rows of `assess --timeline --json`. Empty "
            "when nothing is recorded. A read of the child's record, logged; 404 for a child that does not exist "
            "or the acting person may not read."
        ),
        parameters=[CHILD_ID, TimelineQuery],
        responses={200: AssessmentTimelineRowSerializer(many=True)},
        examples=[TIMELINE_EXAMPLE],
        tags=["assessments"],
    )
    def get(self, request, child_id: int):
        query = TimelineQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        until = query.validated_data.get("until")
        with transaction.atomic():
            child, _ = _child_or_404(self, child_id, "indicated level timeline (API)")
        rows = services.timeline_compute(child, until=until)
        return Response(AssessmentTimelineRowSerializer(rows, many=True).data)
