"""Core groups: the people who carry out a child's plan, their actions, the record of each meeting, and
the chronology packs they meet over (frozen, numbered, every copy counted)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Plan(models.TextChoices):
    CP = "cp", "Child protection plan"
    CIN = "cin", "Child in need plan"


class CoreGroup(models.Model):
    child = models.ForeignKey("chronology.Child", on_delete=models.PROTECT, related_name="core_groups")
    plan = models.CharField(max_length=10, choices=Plan.choices)
    category = models.CharField(
        max_length=20,
        blank=True,
        help_text="For a child protection plan: neglect, physical, emotional, sexual, multiple.",
    )
    started_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    chair = models.ForeignKey("agencies.User", on_delete=models.PROTECT, related_name="+")
    deputy = models.ForeignKey(
        "agencies.User",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Chairs when the chair is absent, so the meeting goes ahead.",
    )
    created_by = models.ForeignKey("agencies.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-started_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["child"], condition=Q(ended_on__isnull=True), name="one_open_core_group_per_child"
            ),
            models.CheckConstraint(condition=~Q(deputy=models.F("chair")), name="deputy_is_not_the_chair"),
        ]

    def __str__(self) -> str:
        return f"Core group {self.pk} ({self.get_plan_display()})"


class MemberKind(models.TextChoices):
    PROFESSIONAL = "professional", "Professional"
    PARENT = "parent", "Parent"
    CARER = "carer", "Carer"
    CHILD = "child", "The child"
    OTHER = "other", "Other family member or supporter"


FAMILY_KINDS = (MemberKind.PARENT, MemberKind.CARER, MemberKind.CHILD, MemberKind.OTHER)


class Member(models.Model):
    group = models.ForeignKey(CoreGroup, on_delete=models.PROTECT, related_name="members")
    kind = models.CharField(max_length=20, choices=MemberKind.choices)
    user = models.ForeignKey("agencies.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    name = models.CharField(max_length=200, help_text="For parents, carers and the child: how they are named.")
    relationship = models.CharField(max_length=100, blank=True)
    joined_on = models.DateField()
    left_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["group", "kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="professional") | Q(agency__isnull=False), name="professional_member_has_an_agency"
            )
        ]

    def __str__(self) -> str:
        if self.kind == MemberKind.PROFESSIONAL and self.agency_id:
            return f"{self.name} ({self.agency.name})"
        return f"{self.name} ({self.get_kind_display().lower()})"


class ActionStatus(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    NOT_DONE = "not_done", "Not done"
    DROPPED = "dropped", "No longer needed"


class PlanAction(models.Model):
    group = models.ForeignKey(CoreGroup, on_delete=models.PROTECT, related_name="actions")
    number = models.PositiveSmallIntegerField()
    description = models.TextField()
    owner = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="actions")
    due_on = models.DateField()
    status = models.CharField(max_length=20, choices=ActionStatus.choices, default=ActionStatus.NOT_STARTED)
    expected_impact = models.TextField(help_text="What should be different for the child when this is done.")
    observed_impact = models.TextField(blank=True, help_text="What is different for the child, as seen.")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["group", "number"]
        constraints = [models.UniqueConstraint(fields=["group", "number"], name="one_number_per_action")]

    def __str__(self) -> str:
        return f"Action {self.number}"


class Safer(models.TextChoices):
    YES = "yes", "Yes, the child is safer"
    PARTLY = "partly", "Partly"
    NO = "no", "No, the child is not safer"
    UNCLEAR = "unclear", "Not yet known"


class Meeting(models.Model):
    group = models.ForeignKey(CoreGroup, on_delete=models.PROTECT, related_name="meetings")
    held_on = models.DateField()
    chaired_by = models.ForeignKey("agencies.User", on_delete=models.PROTECT, related_name="+")
    child_view = models.TextField(help_text="The child's own words and wishes, and how they were gathered.")
    safer = models.CharField(max_length=10, choices=Safer.choices)
    safer_evidence = models.TextField(help_text="The evidence the group relied on.")
    decisions = models.TextField()
    next_meeting_on = models.DateField(null=True, blank=True)
    recorded_by = models.ForeignKey("agencies.User", on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-held_on", "-pk"]

    def __str__(self) -> str:
        return f"Core group meeting on {self.held_on:%d %B %Y}"


class Presence(models.TextChoices):
    PRESENT = "present", "Present"
    APOLOGIES = "apologies", "Apologies"
    ABSENT = "absent", "Absent without apology"


class Attendance(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.PROTECT, related_name="attendance")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="attendance")
    presence = models.CharField(max_length=10, choices=Presence.choices)

    class Meta:
        ordering = ["meeting", "member"]
        constraints = [models.UniqueConstraint(fields=["meeting", "member"], name="one_attendance_per_member")]

    def __str__(self) -> str:
        return f"{self.member}: {self.get_presence_display()}"


class FamilyView(models.Model):
    """What a parent or carer said, in their words."""

    meeting = models.ForeignKey(Meeting, on_delete=models.PROTECT, related_name="family_views")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    view = models.TextField()

    class Meta:
        ordering = ["meeting", "member"]
        constraints = [models.UniqueConstraint(fields=["meeting", "member"], name="one_view_per_member")]

    def __str__(self) -> str:
        return f"View of {self.member}"


class ActionProgress(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.PROTECT, related_name="progress")
    action = models.ForeignKey(PlanAction, on_delete=models.PROTECT, related_name="progress")
    status = models.CharField(max_length=20, choices=ActionStatus.choices)
    progress = models.TextField()
    observed_impact = models.TextField(blank=True)

    class Meta:
        ordering = ["meeting", "action"]
        constraints = [models.UniqueConstraint(fields=["meeting", "action"], name="one_progress_per_action")]

    def __str__(self) -> str:
        return f"Progress on {self.action}"


class Variant(models.TextChoices):
    FULL = "full", "Full chronology"
    SIGNIFICANT = "significant", "Significant events only"
    PARENTS = "parents", "Copy for parents"
    RESTRICTED = "restricted", "Full chronology with restricted entries"


class PackState(models.TextChoices):
    QUEUED = "queued", "Waiting to be rendered"
    RENDERING = "rendering", "Being rendered"
    READY = "ready", "Ready"
    FAILED = "failed", "Could not be rendered"


class Pack(models.Model):
    """A frozen master: rendered once, never overwritten. A new pack is a new numbered version."""

    meeting = models.ForeignKey(Meeting, on_delete=models.PROTECT, related_name="packs")
    variant = models.CharField(max_length=20, choices=Variant.choices)
    version = models.PositiveIntegerField()
    state = models.CharField(max_length=20, choices=PackState.choices, default=PackState.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Per cent, while rendering.")
    requested_by = models.ForeignKey("agencies.User", on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    rendered_at = models.DateTimeField(null=True, blank=True)
    as_of = models.DateTimeField(null=True, blank=True, help_text="The chronology as it stood at this moment.")
    pdf = models.BinaryField(null=True, blank=True, editable=False)
    sha256 = models.CharField(max_length=64, blank=True)
    pages = models.PositiveIntegerField(null=True, blank=True)
    events = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    omitted_addresses = models.JSONField(default=list, blank=True, help_text="Addresses the chair left out.")
    reader_agency = models.ForeignKey(
        "agencies.Agency",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=(
            "With restricted entries: the agency whose restricted entries this pack shows in full, issued only to its "
            "people; empty, every agency's, issued only to the area's safeguarding leads."
        ),
    )
    pages_reviewed = models.JSONField(default=list, blank=True, help_text="Copy for parents: pages the chair read.")
    signed_off_by = models.ForeignKey(
        "agencies.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signed_off_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["meeting", "variant", "-version"]
        constraints = [models.UniqueConstraint(fields=["meeting", "variant", "version"], name="one_pack_version")]

    def __str__(self) -> str:
        return f"{self.get_variant_display()} pack, version {self.version}"

    @property
    def issuable(self) -> bool:
        if self.state != PackState.READY:
            return False
        return self.variant != Variant.PARENTS or self.signed_off_at is not None


class PackCopy(models.Model):
    """One issued copy: the master with "Printed by NAME on DATE, copy N" stamped on every page."""

    pack = models.ForeignKey(Pack, on_delete=models.PROTECT, related_name="copies")
    number = models.PositiveIntegerField()
    issued_to = models.ForeignKey("agencies.User", on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField()
    pdf = models.BinaryField(editable=False)
    sha256 = models.CharField(max_length=64)
    master_sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["pack", "number"]
        verbose_name_plural = "pack copies"
        constraints = [models.UniqueConstraint(fields=["pack", "number"], name="one_copy_number")]

    def __str__(self) -> str:
        return f"Copy {self.number} of {self.pack}"
