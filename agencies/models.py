"""Areas, agencies and the people who work in them.

The access policy (issue: who may see what) builds on these; this module keeps to who is who.
"""

from __future__ import annotations

import re

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
    # Fields an exchange document gave that the contract does not name: kept and exported, never dropped.
    extra = models.JSONField(default=dict, blank=True)

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
    line_manager = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reports",
        help_text="Unacknowledged alerts move up to them; they see the supervision list for their reports.",
    )

    class Meta:
        ordering = ["last_name", "first_name", "username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def area(self) -> Area | None:
        return self.agency.area if self.agency_id else None

    def role_codes(self) -> set[str]:
        # Asked many times in one request; roles change rarely and a new request loads the user afresh.
        cached = getattr(self, "_role_codes", None)
        if cached is None:
            cached = set(self.role_grants.order_by().values_list("role", flat=True))
            self._role_codes = cached
        return cached

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


class InvolvementReason(models.TextChoices):
    ALLOCATED = "allocated", "Allocated worker"
    UNIVERSAL_SERVICE = "universal_service", "Universal service for the child (school, GP, health visiting)"
    REFERRAL = "referral", "Referral received"
    PLAN = "plan", "Member of the child's plan or core group"
    RECORDED_INFORMATION = "recorded_information", "Recorded information"
    OTHER = "other", "Other"


class InvolvementQuerySet(models.QuerySet):
    def active(self, *, now=None):
        """Started, not ended, and not lapsed for want of activity."""
        from agencies.policy import involvement_active_q

        return self.filter(involvement_active_q(now=now))


class Involvement(models.Model):
    """A named practitioner's, or an agency team's, working relationship with a child.

    With no practitioner, the relationship is the agency team's: every practitioner of the agency
    shares it.
    """

    child = models.ForeignKey("chronology.Child", on_delete=models.PROTECT, related_name="involvements")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="involvements")
    practitioner = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="involvements",
        help_text="Empty when the relationship is the agency team's as a whole.",
    )
    reason = models.CharField(max_length=40, choices=InvolvementReason.choices)
    lead = models.BooleanField(
        default=False, help_text="The child's lead practitioner: alerts about the child reach them directly."
    )
    reason_detail = models.TextField(blank=True)
    started_on = models.DateField()
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_activity_at = models.DateTimeField(
        help_text="Reading or recording about the child through this involvement, or renewing it."
    )
    confirmed_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    end_reason = models.TextField(blank=True)

    objects = InvolvementQuerySet.as_manager()

    class Meta:
        ordering = ["-started_on", "pk"]
        indexes = [
            models.Index(fields=["child", "agency"]),
            models.Index(fields=["practitioner", "ended_at"]),
        ]

    def __str__(self) -> str:
        who = self.practitioner or f"{self.agency.name} team"
        return f"{who}: {self.get_reason_display()}"

    @property
    def self_claimed(self) -> bool:
        return self.reason == InvolvementReason.RECORDED_INFORMATION

    @property
    def awaiting_confirmation(self) -> bool:
        return self.self_claimed and self.confirmed_at is None and self.ended_at is None


class ExceptionalAccessKind(models.TextChoices):
    BREAK_GLASS = "break_glass", "Break-glass (emergency)"
    AUDIT = "audit", "Audit"


class ReviewOutcome(models.TextChoices):
    APPROPRIATE = "appropriate", "Appropriate"
    INAPPROPRIATE = "inappropriate", "Not appropriate"


class ExceptionalAccess(models.Model):
    """Opening a record without a working relationship: break-glass in an emergency, or an audit.

    Each has a written reason, lasts a limited time, and stays on the review list until a reviewer
    records whether it was appropriate.
    """

    kind = models.CharField(max_length=20, choices=ExceptionalAccessKind.choices)
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="exceptional_accesses")
    child = models.ForeignKey("chronology.Child", on_delete=models.PROTECT, related_name="exceptional_accesses")
    reason = models.TextField()
    opened_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    reviewed_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_outcome = models.CharField(max_length=20, choices=ReviewOutcome.choices, blank=True)
    review_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-opened_at"]
        verbose_name_plural = "exceptional accesses"
        indexes = [models.Index(fields=["user", "child", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.user} at {self.opened_at:%Y-%m-%d %H:%M}"


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError(self.model.append_only_refusal)

    def delete(self):
        raise PermissionError(self.model.append_only_refusal)


class AppendOnlyModel(models.Model):
    """Rows written once and never changed or removed by the application (PostgreSQL triggers back it)."""

    append_only_refusal = "This record is append-only: it is never updated or deleted."

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError(self.append_only_refusal)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError(self.append_only_refusal)


class AccessBasis(models.TextChoices):
    INVOLVEMENT = "involvement", "Own involvement"
    TEAM_INVOLVEMENT = "team_involvement", "Agency team's involvement"
    DESIGNATED_SAFEGUARDING_LEAD = "designated_safeguarding_lead", "Designated safeguarding lead of an involved agency"
    LINE_MANAGER = "line_manager", "Line manager of a practitioner involved"
    AREA_SAFEGUARDING_LEAD = "area_safeguarding_lead", "Safeguarding lead for the child's area"
    EMERGENCY_DUTY_TEAM = "emergency_duty_team", "Emergency duty team for the child's area"
    BREAK_GLASS = "break_glass", "Break-glass"
    AUDIT = "audit", "Audit"
    SYSTEM = "system", "Platform system account"
    IDENTIFIER_MATCH = "identifier_match", "Exact identifier match (summary only)"


class AccessChannel(models.TextChoices):
    PAGE = "page", "Web page"
    API = "api", "API"
    EXPORT = "export", "Export"
    PDF = "pdf", "PDF"
    COMMAND = "command", "Command"
    TASK = "task", "Background task"


# A throttle rate as the REST API reads it: "1200/minute".
RATE = re.compile(r"[1-9][0-9]{0,6}/(second|minute|hour|day)")


class ApiScope(models.TextChoices):
    READ = "read", "Read"
    WRITE = "write", "Write"


class ApiKey(models.Model):
    """A key an agency's own system calls the REST API with. Only its SHA-256 is stored: the key itself is shown
    once, when it is made. A key acts for its agency, always on behalf of a named person in it (X-Acting-User)."""

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="api_keys")
    name = models.CharField(max_length=200, help_text='The system that uses it, e.g. "Police command and control".')
    prefix = models.CharField(max_length=16, unique=True, editable=False, help_text="Shown to tell keys apart.")
    hashed = models.CharField(max_length=64, unique=True, editable=False, help_text="SHA-256 of the key.")
    scopes = models.JSONField(default=list, help_text='Any of "read" and "write".')
    rate = models.CharField(
        max_length=30,
        blank=True,
        help_text='Requests allowed, e.g. "1200/minute"; empty for the platform\'s default (JIGSAW_API_RATE).',
    )
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["agency__name", "-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}... ({self.agency.code}: {self.name})"


class AccessLog(AppendOnlyModel):
    """One row per read of a child's record. Append-only; PostgreSQL refuses UPDATE and DELETE."""

    append_only_refusal = "The access log is append-only: rows are never updated or deleted."

    at = models.DateTimeField(db_index=True)
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="access_log")
    child = models.ForeignKey("chronology.Child", on_delete=models.PROTECT, related_name="access_log")
    what = models.CharField(max_length=200)
    channel = models.CharField(max_length=20, choices=AccessChannel.choices)
    basis = models.CharField(max_length=40, choices=AccessBasis.choices)
    reason = models.TextField(blank=True)
    involvement = models.ForeignKey(Involvement, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    exceptional_access = models.ForeignKey(
        ExceptionalAccess, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=100, blank=True)
    api_key = models.ForeignKey(
        ApiKey, on_delete=models.PROTECT, null=True, blank=True, related_name="+", help_text="The key of an API call."
    )

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["child", "-at"]), models.Index(fields=["user", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} read {self.what}"


class AuditEntry(AppendOnlyModel):
    """One row per write that matters: who recorded, amended, merged or imported what, and when."""

    append_only_refusal = "The audit trail is append-only."

    at = models.DateTimeField(db_index=True)
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="audit_entries")
    action = models.CharField(max_length=60)
    child = models.ForeignKey("chronology.Child", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    target = models.CharField(max_length=200, blank=True, help_text="What was written, for example 'event 123'.")
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.action} {self.target}"


class ChronologyVisit(models.Model):
    """When a person last looked at a child's chronology, so that what other agencies added since shows as new.

    A visit is a run of page views with no gap longer than VISIT_GAP; entries stored after the end of the
    previous visit (`seen_until`) are marked new throughout the current one, so paging and filtering keep them
    marked; during the first visit, entries stored after it began are. The home page counts what was stored after
    `last_viewed_at`, which is never earlier: whatever it counts, the chronology marks.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    child = models.ForeignKey("chronology.Child", on_delete=models.CASCADE, related_name="+")
    visit_started_at = models.DateTimeField()
    last_viewed_at = models.DateTimeField()
    seen_until = models.DateTimeField(
        null=True, blank=True, help_text="The end of the previous visit; empty on the first visit."
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "child"], name="one_visit_record_per_user_and_child")]

    def __str__(self) -> str:
        return f"{self.user} last looked at child {self.child_id} at {self.last_viewed_at:%Y-%m-%d %H:%M}"
