"""Invented demo data: the area Northshire, its agencies and a demo user for every role.

The agency codes are those used by the scenarios in the shared folder, so the scenario families
import into these agencies. Every person here is invented. The demo password is published in
README.md; production settings refuse it and refuse every demo account.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from agencies.models import Agency, AgencyKind, Area, Role, RoleGrant, User

DEMO_PASSWORD = "northshire-demo"  # noqa: S105 - published on purpose; production refuses it


class DemoDisabled(Exception):
    pass


AREAS = [
    ("northshire", "Northshire"),
    # A neighbouring area, so families who move across the border show as such.
    ("southmoor", "Southmoor"),
]

AGENCIES = [
    # code, name, kind, area code
    ("ns-police", "Northshire Police", AgencyKind.POLICE, "northshire"),
    ("ns-gp", "Harbour Street Surgery", AgencyKind.GP, "northshire"),
    ("ns-hv", "Health visiting", AgencyKind.HEALTH_VISITING, "northshire"),
    ("ns-ed", "Northshire General Hospital", AgencyKind.HOSPITAL, "northshire"),
    ("ns-school", "Brookside Primary School", AgencyKind.SCHOOL, "northshire"),
    ("ns-ey", "Little Acorns Nursery", AgencyKind.EARLY_YEARS, "northshire"),
    ("ns-csc", "Children's social care", AgencyKind.CHILDRENS_SOCIAL_CARE, "northshire"),
    ("ns-eh", "Early help", AgencyKind.EARLY_HELP, "northshire"),
    ("ns-housing", "Northshire Homes", AgencyKind.HOUSING, "northshire"),
    ("ns-mh", "Adult mental health service", AgencyKind.MENTAL_HEALTH, "northshire"),
    ("ns-drugs", "Recovery service", AgencyKind.SUBSTANCE_MISUSE_SERVICE, "northshire"),
    ("ns-yjs", "Youth justice service", AgencyKind.YOUTH_JUSTICE, "northshire"),
    ("ns-midwifery", "Maternity services", AgencyKind.MIDWIFERY, "northshire"),
    ("ns-da", "Northshire Domestic Abuse Service", AgencyKind.DOMESTIC_ABUSE_SERVICE, "northshire"),
    ("ns-secondary", "Northshire Academy", AgencyKind.SCHOOL, "northshire"),
    ("ns-ews", "Education welfare service", AgencyKind.EDUCATION_WELFARE, "northshire"),
    ("sm-police", "Southmoor Constabulary", AgencyKind.POLICE, "southmoor"),
    ("sm-csc", "Southmoor children's services", AgencyKind.CHILDRENS_SOCIAL_CARE, "southmoor"),
]


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    agency: str | None
    job_title: str
    roles: tuple[Role, ...]
    staff: bool = False


USERS = [
    DemoUser("hv.practitioner", "Hannah", "Verity", "ns-hv", "Health visitor", (Role.PRACTITIONER,)),
    DemoUser("gp.practitioner", "Gareth", "Pennant", "ns-gp", "GP", (Role.PRACTITIONER,)),
    DemoUser("school.practitioner", "Sian", "Clarke", "ns-school", "Class teacher", (Role.PRACTITIONER,)),
    DemoUser("police.practitioner", "Paul", "Oakley", "ns-police", "Police constable", (Role.PRACTITIONER,)),
    DemoUser(
        "school.dsl", "Deepa", "Lal", "ns-school", "Designated safeguarding lead", (Role.DESIGNATED_SAFEGUARDING_LEAD,)
    ),
    DemoUser("hv.dsl", "Dora", "Hale", "ns-hv", "Named nurse for safeguarding", (Role.DESIGNATED_SAFEGUARDING_LEAD,)),
    DemoUser("gp.dsl", "Gita", "Desai", "ns-gp", "Safeguarding lead GP", (Role.DESIGNATED_SAFEGUARDING_LEAD,)),
    DemoUser(
        "front.door",
        "Farah",
        "Doyle",
        "ns-csc",
        "Front door (MASH) team manager",
        (Role.DESIGNATED_SAFEGUARDING_LEAD,),
    ),
    DemoUser("social.worker", "Sam", "Wright", "ns-csc", "Social worker", (Role.PRACTITIONER, Role.CORE_GROUP_CHAIR)),
    DemoUser("team.manager", "Leah", "Manning", "ns-csc", "Team manager", (Role.LINE_MANAGER,)),
    DemoUser("head.of.service", "Simon", "Marsh", "ns-csc", "Head of service", (Role.SENIOR_MANAGER,)),
    DemoUser("area.lead", "Alia", "Leeds", "ns-csc", "Partnership safeguarding lead", (Role.AREA_SAFEGUARDING_LEAD,)),
    DemoUser(
        "edt.worker", "Evan", "Dutton", "ns-csc", "Emergency duty team social worker", (Role.EMERGENCY_DUTY_TEAM,)
    ),
    DemoUser("auditor", "Aud", "Itor", "ns-csc", "Information governance auditor", (Role.AUDITOR,)),
    DemoUser("admin", "Ada", "Minter", None, "Platform administrator", (Role.ADMINISTRATOR,), staff=True),
]

# Who manages whom: unacknowledged alerts move up to line managers, who see the supervision list.
LINE_MANAGERS = {
    "social.worker": "team.manager",
    "team.manager": "head.of.service",
    "hv.practitioner": "hv.dsl",
    "school.practitioner": "school.dsl",
    "gp.practitioner": "gp.dsl",
}


def demo_seed() -> list[DemoUser]:
    """Create or refresh the demo data. Running it again changes nothing that is already right."""
    if not settings.JIGSAW_DEMO_ENABLED:
        raise DemoDisabled("Demo data is refused here: these settings do not allow demo log-ins.")
    with transaction.atomic():
        _seed()
    return USERS


def _seed() -> None:
    areas = {}
    for code, name in AREAS:
        areas[code], _ = Area.objects.update_or_create(code=code, defaults={"name": name})
    agencies = {}
    for code, name, kind, area_code in AGENCIES:
        agencies[code], _ = Agency.objects.update_or_create(
            code=code, defaults={"name": name, "kind": kind, "area": areas[area_code]}
        )
    for spec in USERS:
        user, created = User.objects.update_or_create(
            username=spec.username,
            defaults={
                "first_name": spec.first_name,
                "last_name": spec.last_name,
                "email": f"{spec.username}@demo.jigsaw.invalid",
                "agency": agencies[spec.agency] if spec.agency else None,
                "job_title": spec.job_title,
                "is_demo": True,
                "is_active": True,
                "is_staff": spec.staff,
                "is_superuser": spec.staff,
            },
        )
        if created or not user.check_password(DEMO_PASSWORD):
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        for role in spec.roles:
            RoleGrant.objects.get_or_create(user=user, role=role)
        RoleGrant.objects.filter(user=user).exclude(role__in=spec.roles).delete()
    for report, manager in LINE_MANAGERS.items():
        User.objects.filter(username=report).update(line_manager=User.objects.get(username=manager))
