"""Threshold policies, assessment snapshots, and the durable 're-assessment due' rows."""

from __future__ import annotations

from django.db import models


class ThresholdPolicy(models.Model):
    """A versioned policy document for an area. It takes effect only once a second person approves it."""

    area = models.ForeignKey("agencies.Area", on_delete=models.PROTECT, related_name="threshold_policies")
    name = models.CharField(max_length=100)
    version = models.PositiveIntegerField()
    document = models.JSONField()
    note = models.TextField(blank=True, help_text="What changed and why.")
    proposed_by = models.ForeignKey("agencies.User", on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField()
    approved_by = models.ForeignKey("agencies.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["area", "-approved_at", "-version"]
        verbose_name_plural = "threshold policies"
        constraints = [
            models.UniqueConstraint(fields=["area", "name", "version"], name="unique_policy_version"),
            models.CheckConstraint(
                condition=models.Q(approved_by__isnull=True) | ~models.Q(approved_by=models.F("proposed_by")),
                name="policy_approved_by_a_second_person",
            ),
        ]

    def __str__(self) -> str:
        state = "approved" if self.approved_at else "awaiting approval"
        return f"{self.area}: {self.name}/{self.version} ({state})"


class Assessment(models.Model):
    """A snapshot of a child's indicated level, stored only when the level, score or flags changed."""

    child = models.ForeignKey("chronology.Child", on_delete=models.PROTECT, related_name="assessments")
    assessed_at = models.DateTimeField()
    as_of = models.DateField()
    policy = models.CharField(max_length=120, help_text="name/version of the policy used")
    level = models.PositiveSmallIntegerField()
    level_name = models.CharField(max_length=100)
    score = models.FloatField()
    toxic_trio = models.JSONField(default=dict)
    flags = models.JSONField(default=list)
    # Each reason's events are platform event ids (as text), so the page links straight to them.
    reasons = models.JSONField(default=list)

    class Meta:
        ordering = ["-assessed_at", "-pk"]
        indexes = [models.Index(fields=["child", "-assessed_at"]), models.Index(fields=["level"])]

    def __str__(self) -> str:
        return f"Child {self.child_id}: indicated level {self.level} as of {self.as_of}"


class ReassessmentDue(models.Model):
    """Written in the same transaction as the events that make it due, so no re-assessment is ever lost."""

    child = models.ForeignKey("chronology.Child", on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    done_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["created_at"]
        verbose_name_plural = "re-assessments due"

    def __str__(self) -> str:
        return f"Child {self.child_id}: {self.reason} ({'done' if self.done_at else 'due'})"
