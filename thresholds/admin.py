from __future__ import annotations

from django.contrib import admin

from thresholds.models import ThresholdPolicy


@admin.register(ThresholdPolicy)
class ThresholdPolicyAdmin(admin.ModelAdmin):
    """Read-only: policies are proposed and approved with `manage.py threshold_policy`, by two people."""

    list_display = ["area", "name", "version", "proposed_by", "proposed_at", "approved_by", "approved_at"]
    list_filter = ["area"]
    readonly_fields = [
        "area",
        "name",
        "version",
        "document",
        "note",
        "proposed_by",
        "proposed_at",
        "approved_by",
        "approved_at",
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
