"""The chronology's REST API: children and their records, for agencies' own systems (docs/api.md).

Each view parses, calls a selector or service that applies the access policy for the acting person, and
serializes; a record the caller may not read answers 404, exactly as the browser does.
"""

from __future__ import annotations

from django.db import transaction
from django.http import Http404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from api.base import ApiView
from chronology import selectors
from chronology.models import Child


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
        with transaction.atomic():
            try:
                child, access = selectors.child_get(
                    actor=request.user, child_id=child_id, what="child record (API)", origin=self.origin()
                )
            except Child.DoesNotExist:
                raise Http404("No child found") from None
        return Response(ChildSerializer(child, context={"access": access}).data)
