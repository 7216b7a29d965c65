"""The shared child record.

For now the child alone, enough for the access policy to stand on; events, household and the
exchange format build on it.
"""

from __future__ import annotations

from datetime import date

from django.db import models


class Child(models.Model):
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    nhs_number = models.CharField(
        max_length=10, blank=True, db_index=True, help_text="10 digits, no spaces. Empty when not known."
    )
    upn = models.CharField(
        "unique pupil number", max_length=13, blank=True, db_index=True, help_text="Empty when not known."
    )
    area = models.ForeignKey("agencies.Area", on_delete=models.PROTECT, related_name="children")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["family_name", "given_name", "date_of_birth"]
        verbose_name_plural = "children"
        indexes = [models.Index(fields=["family_name", "given_name", "date_of_birth"])]

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name} ({self.date_of_birth:%d %B %Y})"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def age_text_on(self, day: date) -> str:
        """Age in words: months for a child under two, where months matter."""
        months = (day.year - self.date_of_birth.year) * 12 + day.month - self.date_of_birth.month
        if day.day < self.date_of_birth.day:
            months -= 1
        if months < 24:
            return f"{months} month{'s' if months != 1 else ''}"
        years = months // 12
        return f"{years} years"

    def age_on(self, day: date) -> int:
        years = day.year - self.date_of_birth.year
        if (day.month, day.day) < (self.date_of_birth.month, self.date_of_birth.day):
            years -= 1
        return years
