"""Batch import through the REST API: an exchange document (docs/exchange.md), imported in the background.

POST answers 202 at once with a status resource and its Location; the import then runs as a task, all or nothing,
as the acting person and as the key's agency (`chronology.batch`). What a key may not write (another agency, a new
agency, the recorder or the time of recording) is refused with a 400 naming the place before anything is queued;
what only the whole check finds makes the import `refused`, with every problem by its place and nothing written.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from agencies.models import ApiKey
from api.base import ApiView, idempotent
from api.parsers import JsonParser
from chronology import batch
from chronology.models import BatchImport

# --- the status resource ---


class ImportProgressSerializer(serializers.Serializer):
    events_total = serializers.IntegerField(help_text="Events in the document.")
    events_checked = serializers.IntegerField(
        help_text="Events checked so far: all of them once the import is done or refused."
    )


class ImportRecordResultSerializer(serializers.Serializer):
    ref = serializers.CharField(help_text="The record's `ref` in the document.")
    outcome = serializers.ChoiceField(
        choices=["created", "linked", "unchanged"],
        help_text=(
            '"created": new on the platform; "linked": a record the platform already had (a child by NHS number '
            'or UPN, a person newly linked to a child); "unchanged": already imported, with the same content.'
        ),
    )
    id = serializers.IntegerField(allow_null=True, help_text="The platform's id of the record.")


class ImportResultsSerializer(serializers.Serializer):
    children = ImportRecordResultSerializer(many=True, help_text="Each child of the document, in its order.")
    people = ImportRecordResultSerializer(many=True, help_text="Each person of the document, in its order.")
    events = ImportRecordResultSerializer(many=True, help_text="Each event of the document, in its order.")


class ImportProblemSerializer(serializers.Serializer):
    place = serializers.CharField(
        help_text='Where in the document, e.g. "events[3].summary"; "(document)" for the document as a whole.'
    )
    message = serializers.CharField(help_text="What is wrong there.")


def _counter(name: str, states: tuple[str, ...]) -> type[serializers.Serializer]:
    fields = {state: serializers.IntegerField(help_text=f"{name.capitalize()} {state}.") for state in states}
    return type(f"Import{name.capitalize()}CountsSerializer", (serializers.Serializer,), fields)


class ImportCountsSerializer(serializers.Serializer):
    source = serializers.CharField(help_text="The document's `source`.")
    areas = _counter("areas", ("created",))(help_text="Areas created (never, through the API).")
    agencies = _counter("agencies", ("created", "unchanged"))(help_text="Agencies created (never) or found.")
    children = _counter("children", ("created", "linked", "unchanged"))(help_text="Children, by what happened.")
    people = _counter("people", ("created", "linked", "unchanged"))(help_text="People, by what happened.")
    events = _counter("events", ("created", "unchanged"))(help_text="Events, by what happened.")
    match_candidates = serializers.IntegerField(
        help_text="Likely duplicates of new children queued for a safeguarding lead to review."
    )


@extend_schema_field(ImportCountsSerializer(allow_null=True))
class _Counts(serializers.JSONField):
    """Kept as written when the import ran: passed through, not built again field by field."""


@extend_schema_field(ImportResultsSerializer(allow_null=True))
class _Results(serializers.JSONField):
    """Kept as written when the import ran: tens of thousands of lines, passed through."""

    def to_representation(self, value):
        return batch.results_shown(value)


@extend_schema_field(ImportProblemSerializer(many=True))
class _Problems(serializers.JSONField):
    """Kept as written when the import ran."""


class BatchImportSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="The import's id: its status is at /api/v1/imports/{id}.")
    state = serializers.ChoiceField(
        choices=BatchImport.State.choices,
        help_text=(
            '"queued", then "running", then "done" (everything written), "refused" (a problem in the document: '
            'see `problems`; nothing written) or "failed" (stopped on the platform; nothing written; send it again).'
        ),
    )
    source = serializers.CharField(help_text="The document's `source`.")
    progress = serializers.SerializerMethodField(help_text="How far the import has got.")
    counts = _Counts(help_text="How many records of each kind were created, linked or found; null until done.")
    results = _Results(
        help_text="What happened to each child, person and event of the document, with the platform's ids; "
        "null until done."
    )
    problems = _Problems(help_text="Every problem found, by its place in the document, when refused or failed.")
    created_at = serializers.DateTimeField(help_text="When the document was received.")
    started_at = serializers.DateTimeField(allow_null=True, help_text="When the import started; null while queued.")
    finished_at = serializers.DateTimeField(allow_null=True, help_text="When it was done, refused or failed.")

    @extend_schema_field(ImportProgressSerializer)
    def get_progress(self, job: BatchImport) -> dict:
        return {"events_total": job.events_total, "events_checked": batch.events_checked(job)}


# --- examples, from the scenarios ---

DOCUMENT_EXAMPLE = OpenApiExample(
    "A school's events for a pupil",
    value={
        "format": "chronology-exchange/1",
        "source": "school-mis",
        "agencies": [{"code": "st-marys-primary", "name": "St Mary's Primary", "kind": "school"}],
        "children": [{"ref": "pupil-1021", "given_name": "Daniel", "family_name": "P", "date_of_birth": "2007-07-15"}],
        "people": [],
        "events": [
            {
                "ref": "att-2012-01",
                "child": "pupil-1021",
                "occurred_on": "2012-01-20",
                "agency": "st-marys-primary",
                "type": "presentation_concern",
                "factors": ["16A"],
                "summary": "Daniel came to school hungry for the third day running and took food from other bags.",
                "child_seen": True,
                "child_voice": "Said there was no breakfast at home again.",
            }
        ],
    },
    request_only=True,
)
QUEUED_EXAMPLE = OpenApiExample(
    "Queued",
    value={
        "id": "6f1c2b0e-8d1a-4a52-9a0e-3c7d5b1e2f40",
        "state": "queued",
        "source": "school-mis",
        "progress": {"events_total": 1, "events_checked": 0},
        "counts": None,
        "results": None,
        "problems": [],
        "created_at": "2026-03-02T09:15:00Z",
        "started_at": None,
        "finished_at": None,
    },
    response_only=True,
    status_codes=["202"],
)
DONE_EXAMPLE = OpenApiExample(
    "Done",
    value={
        "id": "6f1c2b0e-8d1a-4a52-9a0e-3c7d5b1e2f40",
        "state": "done",
        "source": "school-mis",
        "progress": {"events_total": 1, "events_checked": 1},
        "counts": {
            "source": "school-mis",
            "areas": {"created": 0},
            "agencies": {"created": 0, "unchanged": 1},
            "children": {"created": 0, "linked": 0, "unchanged": 1},
            "people": {"created": 0, "linked": 0, "unchanged": 0},
            "events": {"created": 1, "unchanged": 0},
            "match_candidates": 0,
        },
        "results": {
            "children": [{"ref": "pupil-1021", "outcome": "unchanged", "id": 12}],
            "people": [],
            "events": [{"ref": "att-2012-01", "outcome": "created", "id": 40312}],
        },
        "problems": [],
        "created_at": "2026-03-02T09:15:00Z",
        "started_at": "2026-03-02T09:15:00Z",
        "finished_at": "2026-03-02T09:15:01Z",
    },
    response_only=True,
    status_codes=["200"],
)
REFUSED_EXAMPLE = OpenApiExample(
    "Refused",
    value={
        "id": "0b9e7c55-41a3-4f0f-8d1e-6a2f1c9d8e77",
        "state": "refused",
        "source": "school-mis",
        "progress": {"events_total": 2, "events_checked": 2},
        "counts": None,
        "results": None,
        "problems": [
            {"place": "events[1].occurred_on", "message": "The date must be today or in the past"},
            {"place": "events[1].type", "message": "unknown type 'dna'"},
        ],
        "created_at": "2026-03-02T09:20:00Z",
        "started_at": "2026-03-02T09:20:00Z",
        "finished_at": "2026-03-02T09:20:00Z",
    },
    response_only=True,
    status_codes=["200"],
)
NOT_AS_ITS_AGENCY_EXAMPLE = OpenApiExample(
    "Not written as the key's agency",
    value={
        "events[3].agency": [
            "'wm-police' is not this key's agency: events sent with it are recorded for 'st-marys-primary' only"
        ],
        "events[4].recorded_by": [
            "set by the platform (the acting person, and the time the import is written): leave it out"
        ],
    },
    response_only=True,
    status_codes=["400"],
)


def _api_key(request) -> ApiKey | None:
    return request.auth if isinstance(request.auth, ApiKey) else None


class ImportCreate(ApiView):
    writes = True
    parser_classes = [JsonParser]

    @property
    def max_body(self) -> int:
        return settings.JIGSAW_API_MAX_BATCH_BODY

    @extend_schema(
        operation_id="import_create",
        summary="Import an exchange document",
        description=(
            "Send an exchange document (`chronology-exchange/1`, docs/exchange.md) to be imported in the background, "
            "all or nothing, as the acting person and as the key's agency. The document may list only the key's "
            "own agency (as it exists: agencies are never created here), every event's `agency` must be that "
            "agency, and `recorded_by` and `recorded_at` must be left out: the platform records the acting "
            "person and the time; its `source` may not be a system another agency's records came from. Any of "
            "these is refused with a 400 naming its place, before anything is queued. The acting person must be "
            "allowed to record for every existing child the document names. "
            "Answers 202 with the import's status resource, also at the Location given; poll it until `state` is "
            "done, refused or failed. The body may be up to JIGSAW_API_MAX_BATCH_BODY bytes (64 MiB unless the "
            "platform says otherwise)."
        ),
        request={"application/json": OpenApiTypes.OBJECT},
        responses={
            202: OpenApiResponse(BatchImportSerializer, description="Queued: the status resource, at Location."),
            400: OpenApiResponse(description="Malformed JSON, or something a key may not write, by its place."),
        },
        examples=[DOCUMENT_EXAMPLE, QUEUED_EXAMPLE, NOT_AS_ITS_AGENCY_EXAMPLE],
        tags=["imports"],
    )
    def post(self, request):
        api_key = _api_key(request)
        agency = batch.writing_agency(actor=request.user, api_key=api_key)
        document = request.data
        if not isinstance(document, dict):
            raise ValidationError({"detail": "Send an exchange document: a JSON object (see docs/exchange.md)."})
        refusals = batch.agency_problems(document, agency=agency)
        if refusals:
            raise ValidationError(batch.problems_by_place(refusals))
        raw = request._request
        text = raw.body.decode(raw.encoding or settings.DEFAULT_CHARSET)

        def perform():
            job = batch.batch_import_queue(
                actor=request.user, agency=agency, api_key=api_key, document=document, text=text
            )
            location = reverse("api-import-detail", args=[job.pk])
            return Response(
                BatchImportSerializer(job).data, status=status.HTTP_202_ACCEPTED, headers={"Location": location}
            )

        return idempotent(request, perform)


class ImportDetail(ApiView):
    @extend_schema(
        operation_id="import_detail",
        summary="An import's status and results",
        description=(
            "Where an import has got; once done, what happened to each child, person and event of the document; "
            "once refused, every problem by its place. Seen by the caller that sent it and by the people of its "
            "agency; 404 for anyone else."
        ),
        responses={200: BatchImportSerializer},
        examples=[DONE_EXAMPLE, REFUSED_EXAMPLE],
        tags=["imports"],
    )
    def get(self, request, import_id):
        try:
            job = batch.batch_import_get(actor=request.user, api_key=_api_key(request), import_id=import_id)
        except BatchImport.DoesNotExist:
            raise Http404("No import found") from None
        return Response(BatchImportSerializer(job).data)
