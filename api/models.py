"""What the REST API keeps of its own: the first response to each Idempotency-Key."""

from __future__ import annotations

from django.db import models


class IdempotentRequest(models.Model):
    """A write made with an Idempotency-Key: a retry with the same key and body gets this response back and
    writes nothing; the same key with another body is refused. Kept for JIGSAW_API_IDEMPOTENCY_DAYS."""

    caller = models.CharField(max_length=40, help_text='Whose key: "key:ID" for an API key, "user:ID" for a session.')
    key = models.CharField(max_length=100)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the method, path and body.")
    status = models.PositiveSmallIntegerField()
    body = models.JSONField(null=True)
    location = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["caller", "key"], name="one_response_per_idempotency_key")]

    def __str__(self) -> str:
        return f"{self.caller} {self.key}"
