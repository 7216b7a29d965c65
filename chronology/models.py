"""The shared child record: the child, their household, and every agency's dated events.

Events are evidence: never updated, never deleted. A correction is a new event that amends the old
one, with a reason; both stay readable.
"""

from __future__ import annotations

import uuid
from datetime import date

from django.db import models

from agencies.models import AppendOnlyModel
from chronology import vocabulary as v

NON_MOBILE_UNDER_MONTHS = 6


def months_between(born: date, day: date) -> int:
    months = (day.year - born.year) * 12 + day.month - born.month
    if day.day < born.day:
        months -= 1
    return months


class Child(models.Model):
    given_name = models.CharField(max_length=200, blank=True)
    family_name = models.CharField(max_length=200, blank=True)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=10, choices=v.choices(v.SEX), blank=True)
    ethnicity = models.CharField(max_length=100, blank=True)
    religion = models.CharField(max_length=100, blank=True)
    first_language = models.CharField(max_length=100, blank=True)
    nhs_number = models.CharField(
        max_length=10, blank=True, db_index=True, help_text="10 digits, no spaces. Empty when not known."
    )
    upn = models.CharField(
        "unique pupil number", max_length=13, blank=True, db_index=True, help_text="Empty when not known."
    )
    area = models.ForeignKey("agencies.Area", on_delete=models.PROTECT, related_name="children")
    setting = models.ForeignKey(
        "agencies.Agency",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="pupils",
        help_text="The child's school or early years setting.",
    )
    not_independently_mobile_recorded = models.BooleanField(
        null=True,
        blank=True,
        help_text="As a practitioner recorded it. Empty: derived (every child under 6 months is not mobile).",
    )
    young_carer = models.BooleanField(null=True, blank=True)
    elective_home_education = models.BooleanField(null=True, blank=True)
    # Fields an exchange document gave that the contract does not name: kept and exported, never dropped.
    extra = models.JSONField(default=dict, blank=True)
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged_records"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Sound-alike and prefix keys of every part of the name, for the tolerant search (chronology.search).
    name_keys = models.CharField(max_length=1000, blank=True, default="", editable=False)

    class Meta:
        ordering = ["family_name", "given_name", "date_of_birth"]
        verbose_name_plural = "children"
        indexes = [
            models.Index(fields=["family_name", "given_name", "date_of_birth"]),
            # Likely-duplicate search looks for the same date of birth first.
            models.Index(fields=["date_of_birth"]),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.date_of_birth:%d %B %Y})"

    def save(self, *args, **kwargs):
        _keep_name_keys(self, kwargs)
        super().save(*args, **kwargs)

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip() or "Name not recorded"

    def age_text_on(self, day: date) -> str:
        """Age in words: months for a child under two, where months matter."""
        months = months_between(self.date_of_birth, day)
        if months < 0:
            return "not yet born"
        if months < 24:
            return f"{months} month{'s' if months != 1 else ''}"
        return f"{months // 12} years"

    def age_on(self, day: date) -> int:
        return months_between(self.date_of_birth, day) // 12

    def not_independently_mobile_on(self, day: date) -> bool:
        """What a practitioner recorded; otherwise every baby under 6 months is not independently mobile."""
        if self.not_independently_mobile_recorded is not None:
            return self.not_independently_mobile_recorded
        return months_between(self.date_of_birth, day) < NON_MOBILE_UNDER_MONTHS


class ChildAlias(models.Model):
    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="aliases")
    given_name = models.CharField(max_length=200, blank=True)
    family_name = models.CharField(max_length=200, blank=True)
    note = models.CharField(max_length=200, blank=True, help_text="For example: previous name, known as.")
    name_keys = models.CharField(max_length=1000, blank=True, default="", editable=False)

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()

    def save(self, *args, **kwargs):
        _keep_name_keys(self, kwargs)
        super().save(*args, **kwargs)


def _keep_name_keys(record, save_kwargs: dict) -> None:
    """Recompute the search keys of a child's or alias's name whenever the name may have changed."""
    from chronology.search import name_keys

    fields = save_kwargs.get("update_fields")
    if fields is not None:
        if not {"given_name", "family_name"} & set(fields):
            return
        save_kwargs["update_fields"] = [*fields, "name_keys"]
    record.name_keys = name_keys(record.given_name, record.family_name)


class ChildIdentifier(models.Model):
    """One sending system's record of the child: `source` + `ref`, and the child object as it came."""

    child = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="identifiers")
    source = models.CharField(max_length=64)
    ref = models.CharField(max_length=200)
    record = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "ref"], name="unique_child_identifier")]

    def __str__(self) -> str:
        return f"{self.source}:{self.ref}"


class Address(models.Model):
    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="addresses")
    address = models.TextField()
    postcode = models.CharField(max_length=10, blank=True)
    area = models.ForeignKey("agencies.Area", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    area_name = models.CharField(max_length=200, blank=True, help_text="When the area is not on the platform.")
    moved_in = models.DateField(null=True, blank=True)
    moved_out = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-moved_in"]
        verbose_name_plural = "addresses"

    def __str__(self) -> str:
        return self.address.splitlines()[0] if self.address else self.postcode

    @property
    def area_label(self) -> str:
        return self.area.name if self.area_id else self.area_name


class Person(models.Model):
    """A household member or significant adult: the men in the household must be visible too."""

    source = models.CharField(max_length=64)
    ref = models.CharField(max_length=200)
    role = models.CharField(max_length=30, choices=v.choices(v.PERSON_ROLES))
    given_name = models.CharField(max_length=200, blank=True)
    family_name = models.CharField(max_length=200, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    relationship = models.CharField(
        max_length=200, blank=True, help_text="In plain words, for example 'mother's partner, visits most days'."
    )
    factors = models.JSONField(default=list, blank=True, help_text="Factor codes that describe this person.")
    children = models.ManyToManyField(Child, related_name="people", blank=True)
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["role", "family_name", "given_name"]
        constraints = [models.UniqueConstraint(fields=["source", "ref"], name="unique_person_ref")]
        verbose_name_plural = "people"

    def __str__(self) -> str:
        name = f"{self.given_name} {self.family_name}".strip() or "Name not recorded"
        return f"{name} ({self.get_role_display()})"


# The types a record's events are looked for by: referrals and the outcomes that answer them (escalation's referral
# loops, run on every write), the latest closure, the plans in force (chronology.selectors._current_plans). A query
# by any other type reads the record's events in date order; tests/unit/test_chronology.py keeps this list whole.
TYPES_LOOKED_FOR = [
    "assessment",
    "case_closed",
    "child_protection_conference",
    "plan_end",
    "plan_start",
    "referral",
    "strategy_discussion",
]


class Event(AppendOnlyModel):
    """One dated piece of the jigsaw from one agency. Append-only."""

    append_only_refusal = "Chronology events are evidence: never updated or deleted. Record an amendment."

    # Every index is paid for by each event written (tens of thousands in one import), so events keep only those their
    # queries use: the child's come first in the indexes below; no query selects events by agency or recorder across
    # children, and within a child's record its events by date serve (a chronology is read in date order, and a child
    # has thousands of events at most); an entry's amendments are found through a partial index of those that amend.
    child = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="events", db_index=False)
    source_system = models.CharField(max_length=64, help_text="The sending system ('jigsaw' when recorded here).")
    ref = models.CharField(max_length=200)
    occurred_on = models.DateField()
    date_precision = models.CharField(max_length=5, choices=v.choices(v.DATE_PRECISION), default="day")
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="events", db_index=False)
    type = models.CharField(max_length=40, choices=v.choices(v.EVENT_TYPES))
    factors = models.JSONField(default=list, blank=True)
    summary = models.TextField()
    action_taken = models.TextField(blank=True)
    child_seen = models.BooleanField(null=True, blank=True)
    child_seen_alone = models.BooleanField(null=True, blank=True)
    child_voice = models.TextField(blank=True)
    information_source = models.CharField(
        max_length=20, choices=v.choices(v.INFORMATION_SOURCES), default="practitioner"
    )
    verified = models.CharField(max_length=20, choices=v.choices(v.VERIFICATION), default="unverified")
    significant = models.BooleanField(default=False)
    sharing = models.CharField(max_length=20, choices=v.choices(v.SHARING), default="all")
    recorded_at = models.DateTimeField()
    recorded_by = models.CharField(max_length=200, blank=True, help_text="Name and role, as the sender knows them.")
    recorded_by_user = models.ForeignKey(
        "agencies.User",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="recorded_events",
        db_index=False,
    )
    amends = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="amendments", db_index=False
    )
    amendment_reason = models.TextField(blank=True)
    amendment_kind = models.CharField(max_length=20, choices=v.choices(v.AMENDMENT_KINDS), blank=True)
    people = models.ManyToManyField(Person, related_name="events", blank=True)
    details = models.JSONField(default=dict, blank=True)
    extra = models.JSONField(default=dict, blank=True)
    # Which fields the sender gave: an absent field means "not known", and export gives back only these.
    given_fields = models.JSONField(default=list, blank=True)
    stored_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_on", "recorded_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["source_system", "ref"], name="unique_event_ref")]
        indexes = [
            models.Index(fields=["child", "occurred_on", "recorded_at"]),
            # By type only for the few types looked for within records (TYPES_LOOKED_FOR); the chronology's filter
            # by type reads in date order, through the index above.
            models.Index(
                fields=["child", "type"], condition=models.Q(type__in=TYPES_LOOKED_FOR), name="event_types_looked_for"
            ),
            models.Index(fields=["amends"], condition=models.Q(amends__isnull=False), name="event_amends"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_on} {self.get_type_display()} ({self.source_system}:{self.ref})"

    @property
    def factor_words(self) -> list[str]:
        return v.factor_words(self.factors)

    @property
    def is_filed_in_error(self) -> bool:
        return self.amendment_kind == "filed_in_error"


class MatchCandidate(models.Model):
    """A likely duplicate (similar name, same date of birth) for a safeguarding lead to confirm or reject."""

    class Status(models.TextChoices):
        OPEN = "open", "To review"
        CONFIRMED = "confirmed", "Same child: merged"
        REJECTED = "rejected", "Different children"

    child = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="+")
    candidate = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="+")
    score = models.FloatField()
    reasons = models.JSONField(default=list)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    found_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey("agencies.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-found_at"]
        constraints = [models.UniqueConstraint(fields=["child", "candidate"], name="unique_match_pair")]

    def __str__(self) -> str:
        return f"Possible match: record {self.child_id} and record {self.candidate_id} ({self.get_status_display()})"


class MergeRecord(models.Model):
    """A merge of two records of the same child, and its undoing. Events are never moved or rewritten."""

    merged = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="+")
    surviving = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="+")
    merged_by = models.ForeignKey("agencies.User", on_delete=models.PROTECT, related_name="+")
    merged_at = models.DateTimeField()
    reason = models.TextField()
    unmerged_by = models.ForeignKey("agencies.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    unmerged_at = models.DateTimeField(null=True, blank=True)
    unmerge_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-merged_at"]

    def __str__(self) -> str:
        return f"Record {self.merged_id} merged into record {self.surviving_id}"


class BatchImport(models.Model):
    """An exchange document sent through the REST API, imported in the background, all or nothing.

    The agency is the one the document was written as (the key's); who may see the import is decided from it
    and from the caller. The document is kept only until the import has run; what happened to each record, or
    every problem with its place, is kept instead.
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done: written"
        REFUSED = "refused", "Refused: nothing written"
        FAILED = "failed", "Failed: nothing written"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey("agencies.User", on_delete=models.PROTECT, related_name="+")
    api_key = models.ForeignKey(
        "agencies.ApiKey",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The key it was sent with; empty when sent from the browser.",
    )
    source = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED, db_index=True)
    document = models.TextField(blank=True, help_text="The body as sent; emptied once the import has run.")
    events_total = models.PositiveIntegerField(default=0)
    counts = models.JSONField(null=True, blank=True)
    results = models.JSONField(null=True, blank=True)
    problems = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Import {self.pk} ({self.source}, {self.get_state_display()})"


class SourceAgency(models.Model):
    """An agency whose events a sending system has sent. A source is one system, and an agency's key sends only as
    its own (chronology.batch.agency_problems): asked for one row, whatever the number of events a source has
    sent. Written in the transaction that writes the events, by every path that writes events of a source other
    than the platform's (the exchange importer and the batch import)."""

    source = models.CharField(max_length=64)
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "agency"], name="unique_source_agency")]

    def __str__(self) -> str:
        return f"{self.source}: {self.agency_id}"

    @classmethod
    def record(cls, pairs) -> None:
        """Keep each (source, agency id) pair of events just written; the platform's own source is not a system."""
        from chronology.services import JIGSAW_SOURCE

        pairs = sorted({(source, agency) for source, agency in pairs if source != JIGSAW_SOURCE})
        rows = [cls(source=source, agency_id=agency) for source, agency in pairs]
        cls.objects.bulk_create(rows, ignore_conflicts=True)


class EventsVersion(models.Model):
    """How many times events were added to a record: raised in the transaction that adds them, by every write
    path (each sends `chronology.signals.events_written` there, and the chronology answers it with
    `raise_for`), so a reader sees a new number exactly when it sees the new events. api.reads keys the pages it
    keeps on it."""

    child = models.OneToOneField(Child, on_delete=models.CASCADE, primary_key=True, related_name="+")
    version = models.BigIntegerField()

    def __str__(self) -> str:
        return f"record {self.child_id}: version {self.version}"

    @classmethod
    def raise_for(cls, child_ids) -> None:
        """One statement, whatever the number of records: a batch of 500 children costs one upsert."""
        from django.db import connection

        ids = sorted(set(child_ids))
        if not ids:
            return
        table = cls._meta.db_table
        rows = ", ".join(["(%s, 1)"] * len(ids))
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (child_id, version) VALUES {rows} "  # noqa: S608 (the model's own table)
                f"ON CONFLICT (child_id) DO UPDATE SET version = {table}.version + 1",
                ids,
            )
