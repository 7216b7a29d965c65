from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from agencies.models import Agency, Area, Involvement, RoleGrant, User


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin):
    list_display = ["name", "code"]
    search_fields = ["name", "code"]


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "kind", "area"]
    list_filter = ["kind", "area"]
    search_fields = ["name", "code"]


class RoleGrantInline(admin.TabularInline):
    model = RoleGrant
    extra = 0
    readonly_fields = ["granted_at"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "first_name", "last_name", "agency", "is_active", "is_demo"]
    list_filter = ["is_active", "is_demo", "agency__area", "agency__kind", "role_grants__role"]
    list_select_related = ["agency", "agency__area"]
    inlines = [RoleGrantInline]
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        ("Agency", {"fields": ("agency", "job_title", "phone", "is_demo")}),
    )


@admin.register(Involvement)
class InvolvementAdmin(admin.ModelAdmin):
    """Read-only, and without children's names: administrators see who works with which record id.

    Designated and area safeguarding leads add, confirm and end involvements in the service itself,
    where the access policy and the access log apply.
    """

    list_display = ["pk", "child_ref", "agency", "practitioner", "reason", "started_on", "confirmed_at", "ended_at"]
    list_filter = ["agency__area", "agency", "reason"]
    list_select_related = ["agency", "practitioner"]
    search_fields = ["practitioner__username", "practitioner__last_name", "agency__name"]
    fields = [
        "child_ref",
        "agency",
        "practitioner",
        "reason",
        "reason_detail",
        "started_on",
        "created_by",
        "created_at",
        "last_activity_at",
        "confirmed_by",
        "confirmed_at",
        "ended_at",
        "ended_by",
        "end_reason",
    ]
    readonly_fields = fields

    @admin.display(description="child record")
    def child_ref(self, obj) -> str:
        return f"record {obj.child_id}"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
