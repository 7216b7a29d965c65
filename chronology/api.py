"""The chronology's REST API: children and their records, for agencies' own systems (docs/api.md).

Each view parses, calls a selector or service that applies the access policy for the acting person, and
serializes; a record the caller may not read answers 404, exactly as the browser does. Field names are the
exchange contract's (../shared/contracts/chronology-exchange.md): `source` is where the information came
from, `source_system` the system that sent the event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import nhs_number
from django.core.exceptions import PermissionDenied
from django.core.paginator import EmptyPage
from django.db import transaction
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from stdnum.gb import upn as upn_checker

from agencies.models import Agency, ApiKey
from api.base import MAX_PAGE_SIZE, ApiView, PageQuery, PageSerializer, idempotent, page_links
from chronology import selectors, services, visibility
from chronology import vocabulary as v
from chronology.exchange.contract import utc_text
from chronology.models import Child, Event
from chronology.selectors import EntryView

PAGE_SIZE = selectors.PAGE_SIZE
# Children found by name among those the person reads; an exact identifier finds at most ten.
SEARCH_PAGE_SIZE = 50


# --- strict JSON fields: a wrong type is refused, never coerced ("yes" is no boolean, 20 no string) ---------


class StrictCharField(serializers.CharField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictIntegerField(serializers.IntegerField):
    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictNumberField(serializers.FloatField):
    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictDateField(serializers.DateField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid", format="YYYY-MM-DD")
        return super().to_internal_value(data)


# --- the contract's codes: one named schema each, so every endpoint that takes or gives them shares it --------


class _Code(serializers.ChoiceField):
    vocabulary: dict[str, str] = {}

    def __init__(self, **kwargs):
        kwargs.setdefault("error_messages", {"invalid_choice": 'unknown code "{input}"'})
        super().__init__(choices=list(self.vocabulary.items()), **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


def _code_schema(vocabulary: dict[str, str], what: str) -> dict:
    listed = "; ".join(f"`{code}`: {label}" for code, label in vocabulary.items())
    return {"type": "string", "enum": list(vocabulary), "description": f"{what} {listed}."}


@extend_schema_field(_code_schema(v.EVENT_TYPES, "An event type of the contract's vocabulary."), "EventTypeCode")
class EventTypeCode(_Code):
    vocabulary = v.EVENT_TYPES


@extend_schema_field(_code_schema(v.FACTORS, "A factor code (DfE Children in Need census)."), "FactorCode")
class FactorCode(_Code):
    vocabulary = v.FACTORS


@extend_schema_field(_code_schema(v.INFORMATION_SOURCES, "Who the information came from."), "InformationSourceCode")
class InformationSourceCode(_Code):
    vocabulary = v.INFORMATION_SOURCES


@extend_schema_field(_code_schema(v.VERIFICATION, "Whether it was checked with another source."), "VerificationCode")
class VerificationCode(_Code):
    vocabulary = v.VERIFICATION


@extend_schema_field(_code_schema(v.SHARING, "Who reads the entry's text."), "SharingCode")
class SharingCode(_Code):
    vocabulary = v.SHARING


@extend_schema_field(_code_schema(v.DATE_PRECISION, "How exactly the date is known."), "DatePrecisionCode")
class DatePrecisionCode(_Code):
    vocabulary = v.DATE_PRECISION


@extend_schema_field(_code_schema(v.AMENDMENT_KINDS, "What an amendment does."), "AmendmentKindCode")
class AmendmentKindCode(_Code):
    vocabulary = v.AMENDMENT_KINDS


@extend_schema_field(_code_schema(v.INJURY_KINDS, "The kind of injury."), "InjuryKindCode")
class InjuryKindCode(_Code):
    vocabulary = v.INJURY_KINDS


@extend_schema_field(_code_schema(v.OUTCOMES, "The outcome recorded."), "OutcomeCode")
class OutcomeCode(_Code):
    vocabulary = v.OUTCOMES


@extend_schema_field(_code_schema(v.PLANS, "A plan."), "PlanCode")
class PlanCode(_Code):
    vocabulary = v.PLANS


@extend_schema_field(_code_schema(v.CATEGORIES, "A category of abuse."), "AbuseCategoryCode")
class AbuseCategoryCode(_Code):
    vocabulary = v.CATEGORIES


class QuerySerializer(serializers.Serializer):
    """Query parameters. One not named here is refused: a misspelt filter must never quietly show everything."""

    def to_internal_value(self, data):
        refused = {name: ["Unknown parameter."] for name in data if name not in self.fields}
        # A blank value is a caller's missing datum, not a request for everything: say so rather than ignore it.
        refused |= {
            name: ["Give a value, or leave the parameter out."]
            for name, values in data.lists()
            if name in self.fields and "" in values
        }
        if refused:
            raise serializers.ValidationError(refused)
        return super().to_internal_value(data)


def _query(serializer_class: type[QuerySerializer], request) -> dict[str, Any]:
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


# --- children --------------------------------------------------------------------------------------------


class ChildSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(help_text="The platform's id of the child's record.")
    given_name = serializers.CharField(help_text="Given name, as recorded.")
    family_name = serializers.CharField(help_text="Family name, as recorded.")
    date_of_birth = serializers.DateField(help_text="Date of birth (ISO 8601).")
    sex = serializers.CharField(help_text='"male", "female", "other", or empty when not recorded.')
    nhs_number = serializers.CharField(help_text="10 digits; empty when not known.")
    upn = serializers.CharField(help_text="Unique pupil number, 13 characters; empty when not known.")
    area = serializers.CharField(source="area.name", help_text="The local authority area the record belongs to.")
    access = serializers.SerializerMethodField(help_text="On what basis the acting person reads this record.")

    class Meta:
        model = Child
        fields = ["id", "given_name", "family_name", "date_of_birth", "sex", "nhs_number", "upn", "area", "access"]

    def get_access(self, child) -> str:
        access = self.context.get("access")
        return str(access.basis) if access is not None else ""


CHILD_EXAMPLE = OpenApiExample(
    "A child",
    value={
        "id": 12,
        "given_name": "Daniel",
        "family_name": "P",
        "date_of_birth": "2007-07-15",
        "sex": "male",
        "nhs_number": "",
        "upn": "",
        "area": "Coventry",
        "access": "involvement",
    },
    response_only=True,
)


class ChildDetail(ApiView):
    @extend_schema(
        operation_id="child_detail",
        summary="One child's record",
        description="The child's details. 404 for a child that does not exist or the acting person may not read.",
        responses={200: ChildSerializer},
        examples=[CHILD_EXAMPLE],
        tags=["children"],
    )
    def get(self, request, child_id: int):
        _query(QuerySerializer, request)
        with transaction.atomic():
            try:
                child, access = selectors.child_get(
                    actor=request.user, child_id=child_id, what="child record (API)", origin=self.origin()
                )
            except Child.DoesNotExist:
                raise Http404("No child found") from None
        return Response(ChildSerializer(child, context={"access": access}).data)


class ChildSearchQuerySerializer(QuerySerializer):
    nhs_number = serializers.CharField(
        required=False,
        max_length=20,
        help_text="An exact NHS number (10 digits, spaces allowed). Also finds a child the person may not read, "
        "as a summary: the disclosure is logged.",
    )
    upn = serializers.CharField(
        required=False,
        max_length=20,
        help_text="An exact unique pupil number (13 characters). Also finds a child the person may not read, as a "
        "summary: the disclosure is logged.",
    )
    given_name = serializers.CharField(
        required=False,
        max_length=200,
        help_text="The start of the given name, any case. Names search only the children the person reads.",
    )
    family_name = serializers.CharField(
        required=False, max_length=200, help_text="The start of the family name, any case."
    )
    date_of_birth = serializers.DateField(required=False, help_text="The date of birth (YYYY-MM-DD).")
    page = PageQuery._declared_fields["page"]
    page_size = serializers.IntegerField(
        required=False,
        default=SEARCH_PAGE_SIZE,
        min_value=1,
        max_value=MAX_PAGE_SIZE,
        help_text=f"Children a page, at most {MAX_PAGE_SIZE}.",
    )

    NAME_FIELDS = ("given_name", "family_name", "date_of_birth")

    def validate_nhs_number(self, value: str) -> str:
        value = "".join(value.split())
        if not (value.isdigit() and len(value) == 10 and nhs_number.is_valid(value)):
            raise serializers.ValidationError("Give a valid 10-digit NHS number, like 999 123 4567.")
        return value

    def validate_upn(self, value: str) -> str:
        value = "".join(value.split()).upper()
        if not upn_checker.is_valid(value):
            raise serializers.ValidationError("Give a valid 13-character unique pupil number.")
        return value

    def validate(self, data):
        kinds = [name for name in ("nhs_number", "upn") if data.get(name)]
        if any(data.get(name) for name in self.NAME_FIELDS):
            kinds.append("name")
        if not kinds:
            raise serializers.ValidationError(
                "Give nhs_number, upn, or any of given_name, family_name and date_of_birth."
            )
        if len(kinds) > 1:
            raise serializers.ValidationError(
                "Search by one of: nhs_number, upn, or given_name, family_name and date_of_birth."
            )
        return data


class ChildSearchResultSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The platform's id of the child's record.")
    given_name = serializers.CharField(help_text="Given name, as recorded.")
    family_name = serializers.CharField(help_text="Family name, as recorded.")
    date_of_birth = serializers.DateField(help_text="Date of birth (ISO 8601).")
    area = serializers.CharField(help_text="The local authority area the record belongs to.")
    readable = serializers.BooleanField(
        help_text="Whether the acting person may read the record. false: a child found by an exact identifier whom "
        "they do not work with, shown as this summary only (to record what they know, or break glass in the "
        "browser); reading the record answers 404."
    )
    sex = serializers.CharField(
        allow_null=True, help_text='"male", "female", "other", or empty when not recorded; null when not readable.'
    )
    nhs_number = serializers.CharField(
        allow_null=True, help_text="10 digits, or empty when not known; null when not readable."
    )
    upn = serializers.CharField(
        allow_null=True, help_text="Unique pupil number, or empty when not known; null when not readable."
    )

    def to_representation(self, found: tuple[Child, bool]) -> dict[str, Any]:
        child, readable = found
        return {
            "id": child.pk,
            "given_name": child.given_name,
            "family_name": child.family_name,
            "date_of_birth": child.date_of_birth.isoformat(),
            "area": child.area.name,
            "readable": readable,
            "sex": child.sex if readable else None,
            "nhs_number": child.nhs_number if readable else None,
            "upn": child.upn if readable else None,
        }


class ChildSearchPageSerializer(PageSerializer):
    results = ChildSearchResultSerializer(many=True, help_text="This page's children.")


class ChildSearch(ApiView):
    @extend_schema(
        operation_id="children_search",
        summary="Find children",
        description=(
            "By exact identifier (`nhs_number` or `upn`): the child, whether or not the acting person may read "
            "them; one they may not read comes as a summary with `readable: false`, exactly as the browser's "
            "'Find a child' shows it, and the disclosure is written to the access log. By name and date of birth "
            "(`given_name`, `family_name`, `date_of_birth`, any of them; names match from their start, in any "
            "case): only children the acting person may read, never others. Without any of these: 400."
        ),
        parameters=[ChildSearchQuerySerializer],
        responses={200: ChildSearchPageSerializer},
        examples=[
            OpenApiExample(
                "An exact NHS number of a child the person does not work with",
                value={
                    "count": 1,
                    "next": None,
                    "previous": None,
                    "results": [
                        {
                            "id": 12,
                            "given_name": "Daniel",
                            "family_name": "P",
                            "date_of_birth": "2007-07-15",
                            "area": "Coventry",
                            "readable": False,
                            "sex": None,
                            "nhs_number": None,
                            "upn": None,
                        }
                    ],
                },
                response_only=True,
            )
        ],
        tags=["children"],
    )
    def get(self, request):
        data = _query(ChildSearchQuerySerializer, request)
        number, size = data["page"], data["page_size"]
        if data.get("nhs_number") or data.get("upn"):
            identifiers = selectors.Identifiers(nhs_number=data.get("nhs_number", ""), upn=data.get("upn", ""))
            matches = selectors.children_matching(actor=request.user, identifiers=identifiers, origin=self.origin())
            total = len(matches)
            page = [(m.child, m.access is not None) for m in matches[(number - 1) * size : number * size]]
        else:
            found = selectors.children_readable(actor=request.user)
            if data.get("given_name"):
                found = found.filter(given_name__istartswith=data["given_name"].strip())
            if data.get("family_name"):
                found = found.filter(family_name__istartswith=data["family_name"].strip())
            if data.get("date_of_birth"):
                found = found.filter(date_of_birth=data["date_of_birth"])
            total = found.count()
            rows = found.select_related("area").order_by("family_name", "given_name", "date_of_birth", "pk")
            page = [(child, True) for child in rows[(number - 1) * size : number * size]]
        following, preceding = page_links(total, number, size)
        results = ChildSearchResultSerializer(page, many=True).data
        return Response({"count": total, "next": following, "previous": preceding, "results": results})


# --- events ----------------------------------------------------------------------------------------------


class ChronologyEventAgencySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="The agency's code, as in exchange documents.")
    name = serializers.CharField(help_text="The agency's name.")


class ChronologyEventDetailsSerializer(serializers.Serializer):
    """Type-specific facts the thresholds read. Keys not named here are kept and given back, never dropped."""

    injury_kind = InjuryKindCode(required=False, help_text="For an injury: its kind.")
    injury_site = StrictCharField(required=False, max_length=200, help_text="For an injury: where on the body.")
    explanation_consistent = StrictBooleanField(
        required=False, allow_null=True, help_text="For an injury: whether the explanation is consistent with it."
    )
    delay_hours = StrictNumberField(
        required=False, min_value=0, help_text="For an injury: hours before it was presented."
    )
    weapon = StrictBooleanField(required=False, help_text="Domestic abuse: a weapon was used.")
    strangulation = StrictBooleanField(required=False, help_text="Domestic abuse: strangulation or choking.")
    threats_to_kill = StrictBooleanField(required=False, help_text="Domestic abuse: threats to kill.")
    dash_score = StrictIntegerField(
        required=False, min_value=0, max_value=24, help_text="Domestic abuse: the DASH score (ticks, 0 to 24)."
    )
    attendance_percent = StrictNumberField(
        required=False, min_value=0, max_value=100, help_text="School attendance, in percent."
    )
    returned_on = StrictDateField(required=False, help_text="A missing child's return date (YYYY-MM-DD).")
    outcome = OutcomeCode(required=False, help_text="Assessments, conferences, referrals, closures: the outcome.")
    plan = PlanCode(required=False, help_text="A plan started or ended.")
    category = AbuseCategoryCode(required=False, help_text="Category of abuse (a conference, a plan).")
    to_agency = StrictCharField(
        required=False, min_length=1, max_length=200, help_text="A referral: the code of the agency it went to."
    )
    from_area = StrictCharField(required=False, max_length=200, help_text="A move: the area moved from.")
    to_area = StrictCharField(required=False, max_length=200, help_text="A move: the area moved to.")
    within_72h = StrictBooleanField(
        required=False, help_text="A return home interview: whether it was held within 72 hours of the return."
    )

    def validate_to_agency(self, value: str) -> str:
        if not Agency.objects.filter(code=value).exists():
            raise serializers.ValidationError(f"unknown agency '{value}'")
        return value


@extend_schema_field(ChronologyEventDetailsSerializer)
class DetailsField(serializers.Field):
    """The known keys checked as the contract types them; the object kept as given, unknown keys included."""

    default_error_messages = {"invalid": "Give an object of details."}

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("invalid")
        known = ChronologyEventDetailsSerializer(data=data)
        if not known.is_valid():
            raise serializers.ValidationError(known.errors)
        return dict(data)

    def to_representation(self, value):
        return value


class ChronologyEventSerializer(serializers.Serializer):
    """One entry of a child's chronology, as the acting person may see it. A restricted entry they may not read
    is a placeholder (`placeholder: true`): its date, type, agency and whom to contact, the rest null, exactly as
    the browser shows it."""

    id = serializers.IntegerField(help_text="The platform's id of the entry.")
    ref = serializers.CharField(
        allow_null=True, help_text="The sending system's reference (`j-...` when recorded here); null in a placeholder."
    )
    source_system = serializers.CharField(
        allow_null=True,
        help_text="The system that sent it (`jigsaw` when recorded here or through this API); null in a placeholder.",
    )
    occurred_on = serializers.DateField(help_text="When it happened (ISO 8601), as exactly as date_precision says.")
    date_precision = DatePrecisionCode(help_text="`day`, or `month` (dated the 1st) or `year` (dated 1 January).")
    agency = ChronologyEventAgencySerializer(help_text="The agency that recorded it.")
    type = EventTypeCode(help_text="What kind of event it was.")
    factors = serializers.ListField(
        child=FactorCode(), allow_null=True, help_text="Factor codes the event evidences; null in a placeholder."
    )
    summary = serializers.CharField(allow_null=True, help_text="What happened; null in a placeholder.")
    action_taken = serializers.CharField(
        allow_null=True, help_text="What the recording practitioner did; null in a placeholder."
    )
    child_seen = serializers.BooleanField(
        allow_null=True, help_text="Whether the child was seen; null when not known, and in a placeholder."
    )
    child_seen_alone = serializers.BooleanField(
        allow_null=True, help_text="Whether the child was seen alone; null when not known, and in a placeholder."
    )
    child_voice = serializers.CharField(
        allow_null=True, help_text="What the child said or showed of their daily life; null in a placeholder."
    )
    source = InformationSourceCode(allow_null=True, help_text="Where the information came from; null in a placeholder.")
    verified = VerificationCode(allow_null=True, help_text="Whether it was checked; null in a placeholder.")
    significant = serializers.BooleanField(help_text="Marked significant for the child by the recorder.")
    sharing = SharingCode(help_text="`all`, or `restricted` (only the recording agency and area leads read it).")
    details = DetailsField(allow_null=True, help_text="Type-specific facts; null in a placeholder.")
    recorded_at = serializers.DateTimeField(
        allow_null=True, help_text="When it was recorded (UTC); null in a placeholder."
    )
    recorded_by = serializers.CharField(
        help_text="Who recorded it (name, role, agency): in a placeholder, whom to contact to learn more."
    )
    amends = serializers.IntegerField(allow_null=True, help_text="The id of the entry this one amends, if any.")
    amendment_kind = AmendmentKindCode(
        allow_null=True, help_text="For an amendment: `correction` or `filed_in_error`; null otherwise."
    )
    amendment_reason = serializers.CharField(
        allow_null=True, help_text="For an amendment: why; null otherwise and in a placeholder."
    )
    amendments = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Ids of the entries that amend this one, oldest first; empty in a placeholder.",
    )
    superseded = serializers.BooleanField(help_text="A later entry amends this one; the original stays readable.")
    filed_in_error = serializers.BooleanField(
        help_text="Withdrawn: filed in error, or the amendment that did so. Shown only to safeguarding leads and "
        "auditors; others never receive these entries."
    )
    placeholder = serializers.BooleanField(
        help_text="A restricted entry the acting person may not read: only that it exists, its date, type and agency."
    )

    def to_representation(self, entry: EntryView) -> dict[str, Any]:
        # Built by hand: a page is read hundreds of times a second, and this is the whole of what a reader sees.
        e = entry.event
        if entry.view != visibility.FULL:
            return {
                **dict.fromkeys(_ENTRY_FIELDS),
                "id": e.pk,
                "occurred_on": e.occurred_on.isoformat(),
                "date_precision": e.date_precision,
                "agency": {"code": e.agency.code, "name": e.agency.name},
                "type": e.type,
                "significant": e.significant,
                "sharing": e.sharing,
                "recorded_by": e.recorded_by or e.agency.name,
                "amends": e.amends_id,
                "amendments": [],
                "superseded": entry.superseded,
                "filed_in_error": entry.filed_in_error,
                "placeholder": True,
            }
        amendment = e.amends_id is not None
        return {
            "id": e.pk,
            "ref": e.ref,
            "source_system": e.source_system,
            "occurred_on": e.occurred_on.isoformat(),
            "date_precision": e.date_precision,
            "agency": {"code": e.agency.code, "name": e.agency.name},
            "type": e.type,
            "factors": list(e.factors or []),
            "summary": e.summary,
            "action_taken": e.action_taken,
            "child_seen": e.child_seen,
            "child_seen_alone": e.child_seen_alone,
            "child_voice": e.child_voice,
            "source": e.information_source,
            "verified": e.verified,
            "significant": e.significant,
            "sharing": e.sharing,
            "details": e.details or {},
            "recorded_at": utc_text(e.recorded_at),
            "recorded_by": e.recorded_by,
            "amends": e.amends_id,
            "amendment_kind": (e.amendment_kind or "correction") if amendment else None,
            "amendment_reason": e.amendment_reason if amendment else None,
            "amendments": [a.pk for a in entry.amendments],
            "superseded": entry.superseded,
            "filed_in_error": entry.filed_in_error,
            "placeholder": False,
        }


_ENTRY_FIELDS = tuple(ChronologyEventSerializer._declared_fields)


class ChronologyEventPageSerializer(PageSerializer):
    results = ChronologyEventSerializer(many=True, help_text="This page's entries, in the order asked for.")


class ChronologyQuerySerializer(QuerySerializer):
    page = PageQuery._declared_fields["page"]
    page_size = serializers.IntegerField(
        required=False,
        default=PAGE_SIZE,
        min_value=1,
        max_value=MAX_PAGE_SIZE,
        help_text=f"Entries a page: {PAGE_SIZE} unless given, at most {MAX_PAGE_SIZE}.",
    )
    agency = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        help_text="Only entries of these agencies (codes; repeat the parameter for more than one).",
    )
    type = serializers.ListField(
        child=EventTypeCode(), required=False, help_text="Only entries of these types (repeat for more)."
    )
    factor = serializers.ListField(
        child=FactorCode(), required=False, help_text="Only entries that evidence any of these factors."
    )
    significant = serializers.BooleanField(
        required=False, default=False, help_text="true: only entries marked significant."
    )
    date_from = serializers.DateField(required=False, help_text="Only entries on or after this date (YYYY-MM-DD).")
    date_to = serializers.DateField(required=False, help_text="Only entries on or before this date (YYYY-MM-DD).")
    order = serializers.ChoiceField(
        choices=[("oldest", "Oldest first"), ("newest", "Newest first")],
        required=False,
        default="oldest",
        help_text="`oldest` first (the default, as a chronology reads) or `newest` first.",
    )

    def validate_agency(self, codes: list[str]) -> list[int]:
        found = dict(Agency.objects.filter(code__in=codes).values_list("code", "pk"))
        unknown = [code for code in codes if code not in found]
        if unknown:
            raise serializers.ValidationError(
                f"unknown agency code{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}"
            )
        return [found[code] for code in codes]

    def validate(self, data):
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise serializers.ValidationError({"date_to": "date_to must be the same as or after date_from."})
        return data

    def filters(self) -> selectors.ChronologyFilters:
        data = self.validated_data
        return selectors.ChronologyFilters(
            agencies=tuple(data.get("agency", ())),
            types=tuple(data.get("type", ())),
            factors=tuple(data.get("factor", ())),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            significant_only=data["significant"],
            newest_first=data["order"] == "newest",
        )


# What the platform sets, never the sender: a key writes only as its agency, as the acting person, now.
SET_BY_THE_PLATFORM = {
    "agency": "An event sent with a key is recorded for the key's agency: do not name an agency.",
    "recorded_by": "The platform records who recorded the event: the acting person (X-Acting-User).",
    "recorded_at": "The platform records when the event was recorded: now.",
    "recorded_by_user": "The platform records who recorded the event: the acting person (X-Acting-User).",
    "ref": "The platform gives an event recorded here its reference.",
    "source_system": "Events recorded through the API come from the platform ('jigsaw').",
    "id": "The platform gives the event its id.",
    "child": "The child is the one in the path.",
    "amends": "Send an amendment to /api/v1/events/{id}/amendments.",
    "people": "People are linked to events through an exchange document (the batch import), not here.",
}


class EventFieldsSerializer(serializers.Serializer):
    occurred_on = StrictDateField(help_text="When it happened (YYYY-MM-DD), today or earlier.")
    date_precision = DatePrecisionCode(
        required=False, default="day", help_text="`day`; `month` or `year` for a date known only that exactly."
    )
    type = EventTypeCode(help_text="What kind of event it is.")
    factors = serializers.ListField(
        child=FactorCode(), required=False, default=list, max_length=50, help_text="Factor codes it evidences."
    )
    summary = StrictCharField(
        max_length=20000, help_text="What happened, explicitly: what was seen and heard, so a later reader knows."
    )
    action_taken = StrictCharField(
        required=False, default="", allow_blank=True, max_length=20000, help_text="What the practitioner did."
    )
    child_seen = StrictBooleanField(
        required=False, default=None, allow_null=True, help_text="Whether the child was seen; null: not known."
    )
    child_seen_alone = StrictBooleanField(
        required=False, default=None, allow_null=True, help_text="Whether the child was seen alone; null: not known."
    )
    child_voice = StrictCharField(
        required=False,
        default="",
        allow_blank=True,
        max_length=20000,
        help_text="What the child said or showed of their daily life, in their words where possible.",
    )
    source = InformationSourceCode(required=False, default="practitioner", help_text="Where the information came from.")
    verified = VerificationCode(required=False, default="unverified", help_text="Whether it was checked.")
    significant = StrictBooleanField(required=False, default=False, help_text="Significant for the child.")
    sharing = SharingCode(
        required=False, default="all", help_text="`restricted`: only the agency and area leads read the text."
    )
    details = DetailsField(required=False, default=dict, help_text="Type-specific facts (see the contract).")

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            refused = {
                name: [SET_BY_THE_PLATFORM.get(name, "Unknown field: this endpoint does not take it.")]
                for name in data
                if name not in self.fields
            }
            if refused:
                raise serializers.ValidationError(refused)
        return super().to_internal_value(data)


EVENT_FIELDS = list(EventFieldsSerializer._declared_fields)


class ChronologyEventCreateSerializer(EventFieldsSerializer):
    """A new event on the child's chronology, recorded for the key's agency by the acting person, now."""

    def event_input(self, *, agency: Agency) -> services.EventInput:
        return _event_input(self.validated_data, agency=agency)


class ChronologyEventAmendmentSerializer(EventFieldsSerializer):
    """An amendment: the kind and reason, and the fields that change; every field not given is the entry's own."""

    amendment_kind = AmendmentKindCode(
        required=False,
        default="correction",
        help_text="`correction` (the default) or `filed_in_error` (the entry belongs to another child: it leaves "
        "the chronology for all but safeguarding leads and auditors).",
    )
    amendment_reason = StrictCharField(max_length=2000, help_text="Why the entry is amended.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in EVENT_FIELDS:
            field = self.fields[name]
            field.required, field.default = False, serializers.empty

    def event_input(self, *, agency: Agency, original: Event) -> services.EventInput:
        given = self.validated_data
        values = {name: given[name] if name in given else _original_value(original, name) for name in EVENT_FIELDS}
        return _event_input(
            values,
            agency=agency,
            amends=original,
            amendment_kind=given["amendment_kind"],
            amendment_reason=given["amendment_reason"],
        )


def _original_value(original: Event, name: str):
    value = getattr(original, "information_source" if name == "source" else name)
    return list(value) if name == "factors" else dict(value) if name == "details" else value


def _event_input(values: dict, *, agency: Agency, **amendment) -> services.EventInput:
    return services.EventInput(
        occurred_on=values["occurred_on"],
        agency=agency,
        type=values["type"],
        summary=values["summary"],
        date_precision=values["date_precision"],
        factors=list(values["factors"]),
        action_taken=values["action_taken"],
        child_seen=values["child_seen"],
        child_seen_alone=values["child_seen_alone"],
        child_voice=values["child_voice"],
        information_source=values["source"],
        verified=values["verified"],
        significant=values["significant"],
        sharing=values["sharing"],
        details=dict(values["details"]),
        **amendment,
    )


# From the scenarios (../shared/scenarios/s03-neglect-jigsaw.json, vinny-e1): a school's first sign of neglect.
EVENT_BODY_EXAMPLE = OpenApiExample(
    "A school records a presentation concern",
    value={
        "occurred_on": "2024-09-10",
        "type": "presentation_concern",
        "factors": ["16A"],
        "summary": "Arrives hungry most mornings; same clothes all week.",
        "child_seen": True,
        "child_voice": "There's no breakfast at home.",
        "source": "practitioner",
        "details": {},
    },
    request_only=True,
)
EVENT_EXAMPLE_VALUE = {
    "id": 4051,
    "ref": "j-6f1c2e0d8a4b4f7e9c3a5b1d2e4f6a8c",
    "source_system": "jigsaw",
    "occurred_on": "2024-09-10",
    "date_precision": "day",
    "agency": {"code": "ns-school", "name": "Harbour Primary School"},
    "type": "presentation_concern",
    "factors": ["16A"],
    "summary": "Arrives hungry most mornings; same clothes all week.",
    "action_taken": "",
    "child_seen": True,
    "child_seen_alone": None,
    "child_voice": "There's no breakfast at home.",
    "source": "practitioner",
    "verified": "unverified",
    "significant": False,
    "sharing": "all",
    "details": {},
    "recorded_at": "2024-09-10T08:52:11Z",
    "recorded_by": "A. Teacher, Designated safeguarding lead, Harbour Primary School",
    "amends": None,
    "amendment_kind": None,
    "amendment_reason": None,
    "amendments": [],
    "superseded": False,
    "filed_in_error": False,
    "placeholder": False,
}
EVENT_EXAMPLE = OpenApiExample("The event recorded", value=EVENT_EXAMPLE_VALUE, response_only=True)
# From the scenarios (s02-toxic-trio.json): a police entry restricted to the police and the area's leads.
PLACEHOLDER_EXAMPLE_VALUE = {
    **dict.fromkeys(EVENT_EXAMPLE_VALUE),
    "id": 4052,
    "occurred_on": "2024-10-02",
    "date_precision": "day",
    "agency": {"code": "ns-police", "name": "Northshire Police"},
    "type": "domestic_abuse_incident",
    "significant": True,
    "sharing": "restricted",
    "recorded_by": "PC 1234 A. Officer, Northshire Police",
    "amends": None,
    "amendments": [],
    "superseded": False,
    "filed_in_error": False,
    "placeholder": True,
}
AMENDMENT_BODY_EXAMPLE = OpenApiExample(
    "A correction",
    value={
        "amendment_kind": "correction",
        "amendment_reason": "Wrong week recorded: checked with the attendance register.",
        "occurred_on": "2024-09-03",
    },
    request_only=True,
)
FILED_IN_ERROR_EXAMPLE = OpenApiExample(
    "Filed in error",
    value={"amendment_kind": "filed_in_error", "amendment_reason": "Belongs to another pupil; recorded there."},
    request_only=True,
)


def _child_or_404(view: ApiView, child_id: int, what: str):
    try:
        return selectors.child_get(actor=view.request.user, child_id=child_id, what=what, origin=view.origin())
    except Child.DoesNotExist:
        raise Http404("No child found") from None


def _writing_agency(request) -> Agency:
    """The key's agency: a key writes only as its agency (its acting person is always of that agency)."""
    if isinstance(request.auth, ApiKey):
        return request.auth.agency
    if request.user.agency_id is None:
        raise PermissionDenied("Only people in an agency record information.")
    return request.user.agency


def _recorded(request, child: Child, data: services.EventInput) -> Response:
    try:
        event = services.event_record(actor=request.user, child=child, data=data)
    except Child.DoesNotExist:
        raise Http404("No child found") from None
    # The recorder reads what they recorded, whatever its sharing; nothing amends it yet.
    entry = EntryView(
        event=event,
        view=visibility.event_view(request.user, event),
        superseded=False,
        filed_in_error=event.is_filed_in_error,
        amendments=[],
    )
    location = reverse("api-event-detail", args=[event.pk])
    return Response(ChronologyEventSerializer(entry).data, status=201, headers={"Location": location})


class ChildEvents(ApiView):
    """The chronology of one child: read a page of it (GET), or record an event on it (POST)."""

    @extend_schema(
        operation_id="chronology_list",
        summary="A child's chronology",
        description=(
            "A page of the child's chronology as the acting person may see it, with the browser's filters. A "
            "restricted entry they may not read comes as a placeholder; entries filed in error are left out for "
            "all but safeguarding leads and auditors, who receive them marked. Each call is written to the access "
            "log. 404 for a child the person may not read, and for a page past the last."
        ),
        parameters=[ChronologyQuerySerializer],
        responses={200: ChronologyEventPageSerializer},
        examples=[
            OpenApiExample(
                "A page with a restricted entry another agency recorded",
                value={
                    "count": 2,
                    "next": None,
                    "previous": None,
                    "results": [EVENT_EXAMPLE_VALUE, PLACEHOLDER_EXAMPLE_VALUE],
                },
                response_only=True,
            )
        ],
        tags=["chronology"],
    )
    def get(self, request, child_id: int):
        query = ChronologyQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        with transaction.atomic():
            child, access = _child_or_404(self, child_id, "chronology (API)")
            try:
                page = selectors.chronology_page(
                    actor=request.user,
                    child=child,
                    access=access,
                    filters=query.filters(),
                    page_number=query.validated_data["page"],
                    page_size=query.validated_data["page_size"],
                )
            except EmptyPage as exc:
                raise Http404(str(exc)) from None
        return Response(
            {
                "count": page.total,
                "next": page.number + 1 if page.number < page.num_pages else None,
                "previous": page.number - 1 if page.number > 1 else None,
                "results": ChronologyEventSerializer(page.entries, many=True).data,
            }
        )

    @extend_schema(
        operation_id="event_create",
        summary="Record an event",
        description=(
            "Records one event on the child's chronology, through the same rules as the browser's form, for the "
            "key's agency, by the acting person, now: the body may not name an agency, a recorder, a time or a "
            "reference (400 naming the field), nor any field the contract does not name. The browser's prompts "
            "(a vague summary, the child's voice) do not hold an event sent by a system; the rules every event "
            "meets do (400 naming the field, nothing written). 403 for a person who may read the record but not "
            "write on it; 404 for a child they may not read. The record is written to the access log."
        ),
        request=ChronologyEventCreateSerializer,
        responses={201: ChronologyEventSerializer},
        examples=[EVENT_BODY_EXAMPLE, EVENT_EXAMPLE],
        tags=["chronology"],
    )
    def post(self, request, child_id: int):
        def perform() -> Response:
            child, access = _child_or_404(self, child_id, "event recorded (API)")
            if not access.can_write:
                raise PermissionDenied("The acting person can read this record but not record information on it.")
            agency = _writing_agency(request)
            body = ChronologyEventCreateSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            return _recorded(request, child, body.event_input(agency=agency))

        return idempotent(request, perform)


def _entry_or_404(view: ApiView, event_id: int, what: str):
    """The entry, its child and the person's access, when it is on the chronology they read, in full."""
    original = Event.objects.filter(pk=event_id).only("pk", "child_id").first()
    if original is None:
        raise Http404("No entry found")
    child, access = _child_or_404(view, original.child_id, what)
    try:
        entry = selectors.chronology_entry(actor=view.request.user, child=child, access=access, event_id=event_id)
    except Event.DoesNotExist:
        raise Http404("No entry found") from None
    return entry, child, access


class EventDetail(ApiView):
    @extend_schema(
        operation_id="event_detail",
        summary="One chronology entry",
        description=(
            "One entry, as the acting person sees it on the child's chronology (a placeholder for a restricted "
            "entry they may not read). 404 for an entry that is not on a chronology they read. The read is "
            "written to the access log."
        ),
        responses={200: ChronologyEventSerializer},
        examples=[EVENT_EXAMPLE],
        tags=["chronology"],
    )
    def get(self, request, event_id: int):
        _query(QuerySerializer, request)
        with transaction.atomic():
            entry, _, _ = _entry_or_404(self, event_id, "chronology entry (API)")
        return Response(ChronologyEventSerializer(entry).data)


class EventAmendments(ApiView):
    @extend_schema(
        operation_id="event_amend",
        summary="Amend an entry",
        description=(
            "Records an amendment of the entry: a `correction`, or `filed_in_error` for an entry that belongs to "
            "another child. Entries are never changed: the amendment is a new entry on the same chronology, with "
            "its reason and the fields that change (every field not given is the original's), and the original "
            "stays readable beside it. The recording agency, or a safeguarding lead for the area, amends; for the "
            "key's agency, by the acting person, now, under the same rules as recording an event. 403 for a "
            "person who may not amend it; 404 for an entry they may not read in full."
        ),
        request=ChronologyEventAmendmentSerializer,
        responses={201: ChronologyEventSerializer},
        examples=[AMENDMENT_BODY_EXAMPLE, FILED_IN_ERROR_EXAMPLE, EVENT_EXAMPLE],
        tags=["chronology"],
    )
    def post(self, request, event_id: int):
        def perform() -> Response:
            entry, child, access = _entry_or_404(self, event_id, "event amended (API)")
            if entry.view != visibility.FULL:
                raise Http404("No entry found")
            original = entry.event
            services.amendment_allowed(actor=request.user, original=original)
            if not access.can_write:
                raise PermissionDenied("The acting person can read this record but not record information on it.")
            agency = _writing_agency(request)
            body = ChronologyEventAmendmentSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            return _recorded(request, child, body.event_input(agency=agency, original=original))

        return idempotent(request, perform)
