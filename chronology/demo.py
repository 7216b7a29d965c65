"""Invented demo children in Northshire, with the demo users' involvements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from agencies import policy
from agencies.demo import DemoDisabled
from agencies.models import Agency, Area, Involvement, InvolvementReason, User
from chronology.models import Child, ChildIdentifier

log = structlog.get_logger(__name__)


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
                    lead=reason == InvolvementReason.ALLOCATED,
                    started_on=date(2025, 6, 2) if child.date_of_birth.year == 2025 else date(2025, 9, 1),
                    created_by=system,
                    confirmed_by=system,
                    confirmed_at=now,
                    last_activity_at=now,
                )
            else:
                # A demo opened again after a long gap starts with its involvements active.
                Involvement.objects.filter(pk=involvement.pk).update(last_activity_at=now)


# --- long invented chronologies -------------------------------------------------------------------

# (type, factors, significant-chance, summary template). Every family and event here is invented.
_PATTERN = [
    ("health_contact", [], 0.0, "Routine health contact: {name} weighed and measured, growth on the same centile."),
    ("home_visit", [], 0.05, "Home visit: {name} seen in the living room; mother tired, flat cold, little food in."),
    ("school_absence", [], 0.0, "{name} absent from school again today; no call from home. Attendance now {pct}%."),
    (
        "presentation_concern",
        ["16A"],
        0.2,
        "{name} arrived hungry and in the same clothes as yesterday; ate two breakfasts.",
    ),
    (
        "domestic_abuse_incident",
        ["3B"],
        0.6,
        "Police called by a neighbour to shouting at the address; {name} was in the home.",
    ),
    ("was_not_brought", [], 0.1, "{name} was not brought to the dental appointment; second missed this year."),
    ("parental_mental_health_concern", ["4B"], 0.3, "Mother told the GP she is not sleeping and feels hopeless."),
    ("parental_substance_misuse_concern", ["2B"], 0.3, "Father's partner seen at the address under the influence."),
    ("housing_issue", [], 0.0, "Housing officer: damp in the children's bedroom, rent arrears growing."),
    ("referral", [], 0.4, "Referral to children's social care about {name}'s lateness, hunger and the shouting."),
    ("emotional_wellbeing_concern", ["4A"], 0.2, "{name} cried in class and said 'I don't want to go home tonight'."),
    ("behaviour_concern", ["14A"], 0.1, "{name} pushed another child and ran out of the classroom."),
]
_AGENCY_CODES = [
    "ns-police",
    "ns-gp",
    "ns-hv",
    "ns-ed",
    "ns-school",
    "ns-ey",
    "ns-csc",
    "ns-eh",
    "ns-housing",
    "ns-mh",
    "ns-drugs",
    "ns-yjs",
]


def long_chronology(
    *, ref: str, given: str, family: str, born: date, n: int, seed: int, sex: str = "", nhs_number: str | None = None
) -> dict:
    """An exchange document for one invented child with `n` events from 12 Northshire agencies."""
    import random

    rng = random.Random(seed)  # noqa: S311 - a repeatable invented demo, not a secret
    start = max(born, date(2014, 1, 1))
    days = (date(2026, 10, 31) - start).days
    events = []
    for i in range(n):
        kind, factors, significant, text = _PATTERN[rng.randrange(len(_PATTERN))]
        seen = rng.random() < 0.5
        events.append(
            {
                "ref": f"{ref}-e{i}",
                "child": ref,
                "occurred_on": date.fromordinal(start.toordinal() + (i * days) // n).isoformat(),
                "agency": _AGENCY_CODES[rng.randrange(len(_AGENCY_CODES))],
                "type": kind,
                "factors": factors,
                "summary": text.format(name=given, pct=rng.randrange(70, 95)),
                "child_seen": seen,
                "child_voice": f"{given} said home was 'noisy' and tea was crisps." if seen else "",
                "significant": rng.random() < significant,
                "recorded_by": "Demo practitioner",
            }
        )
    return {
        "format": "chronology-exchange/1",
        "source": "jigsaw-demo",
        "agencies": [],
        "children": [
            {
                "ref": ref,
                "given_name": given,
                "family_name": family,
                "date_of_birth": born.isoformat(),
                "sex": sex or None,
                "nhs_number": nhs_number,
                "area": "Northshire",
            }
        ],
        "events": events,
    }


# ref, given name, family name, born, sex, NHS number, events, involvements (usernames)
LONG_CHILDREN = [
    (
        "jayden",
        "Jayden",
        "Holt",
        date(2016, 4, 9),
        "male",
        None,
        2200,
        ("school.practitioner", "social.worker", "police.practitioner"),
    ),
    (
        "ellie",
        "Ellie",
        "Marsh",
        date(2019, 8, 23),
        "female",
        None,
        320,
        ("hv.practitioner", "gp.practitioner", "social.worker"),
    ),
    # Leo is already on the platform: his NHS number links this source's record to him.
    ("leo", "Leo", "Ashdown", date(2017, 9, 14), "male", "9991234535", 40, ()),
]


def _involve_demo_users(child: Child, usernames, reason=InvolvementReason.ALLOCATED) -> None:
    system = policy.system_user()
    now = timezone.now()
    for username in usernames:
        user = User.objects.filter(username=username).select_related("agency").first()
        if user is None:
            continue
        existing = Involvement.objects.filter(child=child, practitioner=user, ended_at__isnull=True)
        if existing.exists():
            existing.update(last_activity_at=now)
            continue
        Involvement.objects.create(
            child=child,
            agency=user.agency,
            practitioner=user,
            reason=reason,
            lead=username == "social.worker",  # the allocated social worker leads
            started_on=max(child.date_of_birth, date(2020, 1, 1)),
            created_by=system,
            confirmed_by=system,
            confirmed_at=now,
            last_activity_at=now,
        )


def demo_long_seed() -> list[str]:
    """Import the long invented chronologies (one of over 2,000 events) and involve demo users."""
    from chronology.exchange import ImportRefused, chronology_import

    system = policy.system_user()
    names = []
    for ref, given, family, born, sex, nhs_number, n, usernames in LONG_CHILDREN:
        document = long_chronology(
            ref=ref, given=given, family=family, born=born, n=n, seed=n, sex=sex, nhs_number=nhs_number
        )
        try:
            chronology_import(actor=system, document=document)
        except ImportRefused as exc:
            # A demo database seeded by an earlier version keeps its children: stored records never change.
            log.warning("demo_chronology_kept", ref=ref, problems=len(exc.problems))
        child = ChildIdentifier.objects.get(source=document["source"], ref=ref).child
        _involve_demo_users(child, usernames)
        names.append(f"{given} {family} ({n} entries)")
    return names


def demo_scenarios_seed(directory) -> list[str]:
    """Import the scenario families, and involve demo users the way their ages suggest."""
    import json
    from pathlib import Path

    from chronology.exchange import chronology_import

    system = policy.system_user()
    names = []
    today = timezone.localdate()
    for path in sorted(Path(directory).glob("s*.json")):
        document = json.loads(path.read_text())
        chronology_import(actor=system, document=document)
        for item in document["children"]:
            child = ChildIdentifier.objects.get(source=document["source"], ref=item["ref"]).child
            users = ["social.worker", "hv.practitioner" if child.age_on(today) < 5 else "school.practitioner"]
            _involve_demo_users(child, users, reason=InvolvementReason.UNIVERSAL_SERVICE)
            names.append(child.full_name)
    return names
