"""Alerts and their delivery outbox, notifications, professional disagreements, referral loops, closures.

Nothing here is deleted: an alert, a stage or a referral leaves the queues only with a recorded
decision, and every change is a row in its history.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from agencies.models import AppendOnlyModel


class Severity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"


SEVERITY_RANK = {Severity.CRITICAL: 0, Severity.HIGH: 1, Severity.MEDIUM: 2}


class EscalationPolicy(models.Model):
    """An area's routing, timescales and staged procedure, as a validated document (see escalation/policy.py)."""

    area = models.ForeignKey("agencies.Area", on_delete=models.PROTECT, related_name="escalation_policies")
    version = models.PositiveIntegerField()
    document = models.JSONField()
    note = models.TextField(blank=True, help_text="What changed and why.")
    created_by = models.ForeignKey("agencies.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["area", "-version"]
        verbose_name_plural = "escalation policies"
        constraints = [models.UniqueConstraint(fields=["area", "version"], name="unique_escalation_policy_version")]

    def __str__(self) -> str:
        return f"{self.area}: escalation policy version {self.version}"


class AlertState(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    CLOSED = "closed", "Closed with a decision"


class Decision(models.TextChoices):
    REFERRED = "referred", "Referred to children's social care"
    STRATEGY_DISCUSSION = "strategy_discussion", "Strategy discussion held or requested"
    EARLY_HELP = "early_help", "Early help offered or continued"
    ALREADY_IN_HAND = "already_in_hand", "Already in hand under the current plan"
    DECIDED_NOT_TO_REFER = "decided_not_to_refer", "Decided not to refer"
    NO_FURTHER_ACTION = "no_further_action", "No further action"
    REVIEWED_APPROPRIATE = "reviewed_appropriate", "Reviewed: access was appropriate"
    REVIEWED_NOT_APPROPRIATE = "reviewed_not_appropriate", "Reviewed: access was not appropriate"


class Alert(models.Model):
    """Something an accountable person must look at and decide on. One open alert per child and cause."""

    child = models.ForeignKey("chronology.Child", on_delete=models.PROTECT, related_name="alerts")
    area = models.ForeignKey("agencies.Area", on_delete=models.PROTECT, related_name="alerts")
    cause = models.CharField(
        max_length=80, help_text="What raised it: level:4, flag:<code>, break_glass:<id>, closure, referral:<id>."
    )
    causes = models.JSONField(default=list, blank=True, help_text="Every cause this alert carries, main one first.")
    severity = models.CharField(max_length=10, choices=Severity.choices)
    title = models.CharField(max_length=200)
    text = models.TextField(help_text="In explicit words: what the pattern shows and which entries show it.")
    reasons = models.JSONField(default=list, blank=True)
    assessment = models.ForeignKey(
        "thresholds.Assessment", on_delete=models.PROTECT, null=True, blank=True, related_name="alerts"
    )
    exceptional_access = models.ForeignKey(
        "agencies.ExceptionalAccess", on_delete=models.PROTECT, null=True, blank=True, related_name="alerts"
    )
    state = models.CharField(max_length=20, choices=AlertState.choices, default=AlertState.OPEN)
    created_at = models.DateTimeField()
    acknowledge_by = models.DateTimeField(help_text="When the current tier must have acknowledged it.")
    tier = models.PositiveSmallIntegerField(default=0, help_text="0: first recipients; each step up adds people.")
    owner = models.ForeignKey("agencies.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        "agencies.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey("agencies.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    decision = models.CharField(max_length=40, choices=Decision.choices, blank=True)
    rationale = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["area", "state"]), models.Index(fields=["state", "acknowledge_by"])]
        constraints = [
            models.UniqueConstraint(
                fields=["child", "cause"], condition=~Q(state="closed"), name="one_open_alert_per_child_and_cause"
            ),
            models.CheckConstraint(
                condition=Q(state="closed", decision__gt="", closed_at__isnull=False) | ~Q(state="closed"),
                name="closed_alert_has_a_decision",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_severity_display()}: {self.title}"


class AlertRecipient(models.Model):
    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="recipients")
    user = models.ForeignKey("agencies.User", on_delete=models.PROTECT, related_name="+")
    why = models.CharField(max_length=200)
    tier = models.PositiveSmallIntegerField(default=0)
    added_at = models.DateTimeField()

    class Meta:
        ordering = ["alert", "tier", "pk"]
        constraints = [models.UniqueConstraint(fields=["alert", "user"], name="one_recipient_row_per_user")]

    def __str__(self) -> str:
        return f"{self.user} ({self.why})"


class AlertHistory(AppendOnlyModel):
    """Everything that happened to an alert, in order: routed, delivered, acknowledged, noted, moved up, closed."""

    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="history")
    at = models.DateTimeField()
    actor = models.ForeignKey("agencies.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=40)
    text = models.TextField()

    class Meta:
        ordering = ["at", "pk"]
        verbose_name_plural = "alert history"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind}"


class Notification(models.Model):
    """What a user sees under the bell in the header. The key makes a retried delivery add nothing."""

    key = models.CharField(max_length=200, unique=True)
    user = models.ForeignKey("agencies.User", on_delete=models.PROTECT, related_name="notifications")
    created_at = models.DateTimeField()
    severity = models.CharField(max_length=10, choices=Severity.choices)
    title = models.CharField(max_length=200)
    link = models.CharField(max_length=300)
    child = models.ForeignKey("chronology.Child", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, null=True, blank=True, related_name="notifications")
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return self.title


class Channel(models.TextChoices):
    IN_APP = "in_app", "In the platform"
    EMAIL = "email", "E-mail"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Being sent"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Stopped after too many attempts"


class Delivery(models.Model):
    """The outbox: one row per recipient and channel, written in the transaction that raised the notice."""

    key = models.CharField(max_length=200, unique=True, help_text="Idempotency key; the e-mail's Message-ID too.")
    user = models.ForeignKey("agencies.User", on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    title = models.CharField(max_length=200, help_text="Never a child's details: it goes into e-mail.")
    link = models.CharField(max_length=300)
    child = models.ForeignKey("chronology.Child", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, null=True, blank=True, related_name="deliveries")
    state = models.CharField(max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} to {self.user}: {self.get_state_display()}"


class DisagreementState(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


class StageOutcome(models.TextChoices):
    RESOLVED = "resolved", "Resolved at this stage"
    MOVED_UP = "moved_up", "Not resolved: moved to the next stage"
    OVERDUE = "overdue", "Overdue: moved to the next stage"


class Disagreement(models.Model):
    """A professional disagreement ("what is being done does not protect this child"), run by the staged procedure."""

    child = models.ForeignKey("chronology.Child", on_delete=models.PROTECT, related_name="disagreements")
    area = models.ForeignKey("agencies.Area", on_delete=models.PROTECT, related_name="+")
    raised_by = models.ForeignKey("agencies.User", on_delete=models.PROTECT, related_name="+")
    raised_at = models.DateTimeField()
    decision_disputed = models.TextField(help_text="The decision or inaction disputed, whose and when.")
    concern = models.TextField(help_text="Why it does not protect the child.")
    with_whom = models.ForeignKey(
        "agencies.User",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The practitioner whose decision is disputed, if known.",
    )
    state = models.CharField(max_length=10, choices=DisagreementState.choices, default=DisagreementState.OPEN)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at", "-pk"]

    def __str__(self) -> str:
        return f"Professional disagreement {self.pk}"

    @property
    def current_stage(self) -> DisagreementStage | None:
        return self.stages.filter(closed_at__isnull=True).order_by("-number").first()


class DisagreementStage(models.Model):
    disagreement = models.ForeignKey(Disagreement, on_delete=models.PROTECT, related_name="stages")
    number = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    owner = models.ForeignKey("agencies.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    participants = models.ManyToManyField("agencies.User", related_name="+", blank=True)
    opened_at = models.DateTimeField()
    due_at = models.DateTimeField()
    prompted_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey("agencies.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    outcome = models.CharField(max_length=20, choices=StageOutcome.choices, blank=True)
    rationale = models.TextField(blank=True)

    class Meta:
        ordering = ["disagreement", "number"]
        constraints = [
            models.UniqueConstraint(fields=["disagreement", "number"], name="one_row_per_stage"),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True) | Q(outcome__gt=""), name="closed_stage_has_an_outcome"
            ),
        ]

    def __str__(self) -> str:
        return f"Stage {self.number}: {self.title}"


class DisagreementNote(AppendOnlyModel):
    disagreement = models.ForeignKey(Disagreement, on_delete=models.PROTECT, related_name="notes")
    at = models.DateTimeField()
    actor = models.ForeignKey("agencies.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=40)
    text = models.TextField()

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind}"


class Referral(models.Model):
    """A referral from one agency to another, waiting for the receiving agency's outcome."""

    child = models.ForeignKey("chronology.Child", on_delete=models.PROTECT, related_name="referrals")
    event = models.OneToOneField("chronology.Event", on_delete=models.PROTECT, related_name="referral_loop")
    from_agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="+")
    to_agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="referrals_received")
    referred_by = models.ForeignKey("agencies.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    referred_at = models.DateTimeField()
    outcome_due_at = models.DateTimeField()
    outcome = models.CharField(max_length=40, blank=True)
    outcome_text = models.TextField(blank=True)
    outcome_at = models.DateTimeField(null=True, blank=True)
    outcome_by = models.ForeignKey("agencies.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    outcome_event = models.ForeignKey(
        "chronology.Event", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["outcome_due_at", "pk"]
        indexes = [models.Index(fields=["to_agency", "outcome_at"])]

    def __str__(self) -> str:
        return f"Referral from {self.from_agency} to {self.to_agency}"


class ClosureState(models.TextChoices):
    AWAITING = "awaiting", "Awaiting countersignature"
    COUNTERSIGNED = "countersigned", "Countersigned: case closed"
    DECLINED = "declined", "Declined: case stays open"


class ClosureRequest(models.Model):
    """Closing a case while the indicated level is 3 or more, or flags are open, needs a DSL's countersignature."""

    child = models.ForeignKey("chronology.Child", on_delete=models.PROTECT, related_name="closure_requests")
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey("agencies.User", on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    occurred_on = models.DateField()
    summary = models.TextField()
    outcome = models.CharField(max_length=40, blank=True)
    level_at_request = models.PositiveSmallIntegerField()
    flags_at_request = models.JSONField(default=list)
    state = models.CharField(max_length=20, choices=ClosureState.choices, default=ClosureState.AWAITING)
    decided_by = models.ForeignKey("agencies.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    rationale = models.TextField(blank=True)
    event = models.OneToOneField(
        "chronology.Event", on_delete=models.PROTECT, null=True, blank=True, related_name="closure_request"
    )

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state="awaiting") | (Q(rationale__gt="") & Q(decided_by__isnull=False)),
                name="closure_decision_has_a_rationale",
            ),
            models.CheckConstraint(
                condition=~Q(decided_by=models.F("requested_by")), name="closure_countersigned_by_someone_else"
            ),
        ]

    def __str__(self) -> str:
        return f"Case closure request {self.pk}: {self.get_state_display()}"
