from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from agencies.models import Agency, Area, RoleGrant, User


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
