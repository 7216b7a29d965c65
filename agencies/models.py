"""Areas, agencies and the people who work in them.

The access policy (issue: who may see what) builds on these; this module keeps to who is who.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class AgencyKind(models.TextChoices):
    # The list in the chronology exchange contract; a code here is a code there.
    POLICE = "police", "Police"
    GP = "gp", "GP practice"
    HEALTH_VISITING = "health_visiting", "Health visiting"
    MIDWIFERY = "midwifery", "Midwifery"
    HOSPITAL = "hospital", "Hospital"
    AMBULANCE = "ambulance", "Ambulance service"
    MENTAL_HEALTH = "mental_health", "Mental health service"
    SCHOOL_NURSING = "school_nursing", "School nursing"
    PAEDIATRICS = "paediatrics", "Paediatrics"
    SCHOOL = "school", "School"
    EARLY_YEARS = "early_years", "Early years setting"
    EDUCATION_WELFARE = "education_welfare", "Education welfare"
    CHILDRENS_SOCIAL_CARE = "childrens_social_care", "Children's social care"
    EARLY_HELP = "early_help", "Early help"
    ADULT_SOCIAL_CARE = "adult_social_care", "Adult social care"
    HOUSING = "housing", "Housing"
    YOUTH_JUSTICE = "youth_justice", "Youth justice"
    PROBATION = "probation", "Probation"
    SUBSTANCE_MISUSE_SERVICE = "substance_misuse_service", "Substance misuse service"
    DOMESTIC_ABUSE_SERVICE = "domestic_abuse_service", "Domestic abuse service"
    VOLUNTARY = "voluntary", "Voluntary sector"
    REGISTRAR = "registrar", "Registrar"
    COURTS = "courts", "Courts"
    OTHER = "other", "Other"


class Role(models.TextChoices):
    PRACTITIONER = "practitioner", "Practitioner"
    DESIGNATED_SAFEGUARDING_LEAD = "designated_safeguarding_lead", "Designated safeguarding lead"
    LINE_MANAGER = "line_manager", "Line manager"
    SENIOR_MANAGER = "senior_manager", "Senior manager"
    CORE_GROUP_CHAIR = "core_group_chair", "Core group chair"
    AREA_SAFEGUARDING_LEAD = "area_safeguarding_lead", "Safeguarding lead for the area"
    EMERGENCY_DUTY_TEAM = "emergency_duty_team", "Emergency duty team"
    AUDITOR = "auditor", "Auditor"
    ADMINISTRATOR = "administrator", "Administrator"


class Area(models.Model):
    """A local authority area, the footprint of one safeguarding partnership."""

    name = models.CharField(max_length=100, unique=True)
    code = models.SlugField(max_length=40, unique=True, help_text="Short stable code, for example 'northshire'.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Agency(models.Model):
    code = models.SlugField(
        max_length=60, unique=True, help_text="The agency's code in the chronology exchange format."
    )
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=40, choices=AgencyKind.choices)
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="agencies")

    class Meta:
        ordering = ["area__name", "name"]
        verbose_name_plural = "agencies"

    def __str__(self) -> str:
        return f"{self.name} ({self.area})"


class User(AbstractUser):
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, null=True, blank=True, related_name="staff")
    job_title = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    is_demo = models.BooleanField(
        default=False,
        help_text="A demo account with a published password. Demo accounts cannot sign in on production.",
    )

    class Meta:
        ordering = ["last_name", "first_name", "username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def area(self) -> Area | None:
        return self.agency.area if self.agency_id else None

    def role_codes(self) -> set[str]:
        return {grant.role for grant in self.role_grants.all()}

    def has_role(self, role: Role | str) -> bool:
        return str(role) in self.role_codes()


class RoleGrant(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_grants")
    role = models.CharField(max_length=40, choices=Role.choices)
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user", "role"]
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="unique_role_per_user")]

    def __str__(self) -> str:
        return f"{self.user}: {self.get_role_display()}"
