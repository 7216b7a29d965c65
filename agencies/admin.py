from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from agencies.apikeys import api_key_create, api_key_revoke
from agencies.models import RATE, Agency, ApiKey, ApiScope, Area, Involvement, RoleGrant, User


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


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=ApiScope.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiKey
        fields = ["agency", "name", "scopes", "expires_at", "rate"]

    def clean_rate(self):
        rate = self.cleaned_data["rate"].strip()
        if rate and not RATE.fullmatch(rate):
            raise forms.ValidationError(
                'Write the rate as a number of requests per second, minute, hour or day: "1200/minute".'
            )
        return rate


FIELDS_SHOWN = [
    "prefix",
    "agency",
    "name",
    "scopes",
    "rate",
    "expires_at",
    "created_at",
    "created_by",
    "last_used_at",
    "revoked_at",
    "revoked_by",
]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are made here (the key is shown once, in the message after saving) and revoked, never deleted."""

    form = ApiKeyForm
    list_display = ["prefix", "agency", "name", "scopes", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["agency__area", "agency"]
    list_select_related = ["agency"]
    search_fields = ["prefix", "name", "agency__code", "agency__name"]
    actions = ["revoke"]
    readonly_fields = ["prefix", "created_at", "created_by", "last_used_at", "revoked_at", "revoked_by"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [*self.readonly_fields, "agency", "scopes", "expires_at"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["agency", "name", "scopes", "expires_at", "rate"]
        return [*FIELDS_SHOWN]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name", "rate"])
            return
        data = form.cleaned_data
        api_key, key = api_key_create(
            agency=data["agency"],
            name=data["name"],
            scopes=data["scopes"],
            created_by=request.user,
            expires_at=data["expires_at"],
        )
        if data["rate"]:
            api_key.rate = data["rate"]
            api_key.save(update_fields=["rate"])
        obj.pk = api_key.pk
        messages.warning(
            request,
            f"The new key, shown this once (only its SHA-256 is kept): {key}",
        )

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        for api_key in queryset:
            api_key_revoke(api_key=api_key, revoked_by=request.user)
        messages.success(request, f"{queryset.count()} key(s) revoked.")
