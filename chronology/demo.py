"""Invented demo children in Northshire, with the demo users' involvements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from agencies import policy
from agencies.demo import DemoDisabled
from agencies.models import Agency, Area, Involvement, InvolvementReason, User
from chronology.models import Child


@dataclass(frozen=True)
class DemoChild:
    given_name: str
    family_name: str
    date_of_birth: str
    nhs_number: str
    upn: str
    # (username, reason) or (agency code, reason) for an agency team
    involvements: tuple[tuple[str, InvolvementReason], ...]


CHILDREN = [
    DemoChild(
        "Mia",
        "Thornton",
        "2025-06-02",
        "9991234527",
        "",
        (
            ("hv.practitioner", InvolvementReason.UNIVERSAL_SERVICE),
            ("gp.practitioner", InvolvementReason.UNIVERSAL_SERVICE),
            ("social.worker", InvolvementReason.ALLOCATED),
        ),
    ),
    DemoChild(
        "Leo",
        "Ashdown",
        "2017-09-14",
        "9991234535",
        "N873201700123",
        (
            ("school.practitioner", InvolvementReason.UNIVERSAL_SERVICE),
            ("ns-school", InvolvementReason.UNIVERSAL_SERVICE),
            ("police.practitioner", InvolvementReason.REFERRAL),
        ),
    ),
    # No agency works with Zara yet: find her by exact identifiers to record information or break glass.
    DemoChild("Zara", "Quinn", "2012-02-20", "9991234543", "P873201800456", ()),
]


def demo_children_seed() -> list[DemoChild]:
    if not settings.JIGSAW_DEMO_ENABLED:
        raise DemoDisabled("Demo data is refused here: these settings do not allow demo log-ins.")
    with transaction.atomic():
        area = Area.objects.get(code="northshire")
        agencies = {a.code: a for a in Agency.objects.filter(area=area)}
        _seed_children(area, agencies)
    return CHILDREN


def _seed_children(area, agencies) -> None:
    system = policy.system_user()
    now = timezone.now()
    for spec in CHILDREN:
        child, _ = Child.objects.update_or_create(
            nhs_number=spec.nhs_number,
            defaults={
                "given_name": spec.given_name,
                "family_name": spec.family_name,
                "date_of_birth": date.fromisoformat(spec.date_of_birth),
                "upn": spec.upn,
                "area": area,
            },
        )
        for who, reason in spec.involvements:
            practitioner = User.objects.filter(username=who).first()
            agency = practitioner.agency if practitioner else agencies[who]
            involvement = Involvement.objects.filter(
                child=child, agency=agency, practitioner=practitioner, ended_at__isnull=True
            ).first()
            if involvement is None:
                Involvement.objects.create(
                    child=child,
                    agency=agency,
                    practitioner=practitioner,
                    reason=reason,
                    started_on=date(2025, 6, 2) if child.date_of_birth.year == 2025 else date(2025, 9, 1),
                    created_by=system,
                    confirmed_by=system,
                    confirmed_at=now,
                    last_activity_at=now,
                )
            else:
                # A demo opened again after a long gap starts with its involvements active.
                Involvement.objects.filter(pk=involvement.pk).update(last_activity_at=now)
