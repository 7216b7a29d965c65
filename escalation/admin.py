"""Administration: an area's escalation policy (new versions only, validated), and the outbox's health.

No child data is shown here: deliveries name the user and the state, never the child or the alert's words.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin
from django.utils import timezone

from escalation.models import Delivery, DeliveryState, EscalationPolicy
from escalation.policy import EscalationPolicyError, default_document, rules_from_document


class EscalationPolicyForm(forms.ModelForm):
    class Meta:
        model = EscalationPolicy
        fields = ["area", "version", "document", "note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.initial.get("document"):
            self.initial["document"] = json.dumps(default_document(), indent=2)

    def clean_document(self):
        document = self.cleaned_data["document"]
        try:
            rules_from_document(document)
        except EscalationPolicyError as exc:
            raise forms.ValidationError(str(exc)) from None
        return document

    def clean(self):
        cleaned = super().clean()
        area, version = cleaned.get("area"), cleaned.get("version")
        if area and version is not None:
            latest = EscalationPolicy.objects.filter(area=area).order_by("-version").first()
            if latest and version <= latest.version:
                self.add_error("version", f"Give a version above {latest.version}, the latest for {area}.")
        return cleaned


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(admin.ModelAdmin):
    """A policy is never edited: a change is a new version, which takes effect for new alerts and stages."""

    form = EscalationPolicyForm
    list_display = ["area", "version", "created_by", "created_at"]
    list_filter = ["area"]

    def get_readonly_fields(self, request, obj=None):
        return ["area", "version", "document", "note", "created_by", "created_at"] if obj else []

    def save_model(self, request, obj, form, change):
        obj.created_by = request.user
        obj.created_at = timezone.now()
        super().save_model(request, obj, form, change)

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The outbox, for seeing that nothing is stuck: failed rows stopped after their attempts."""

    list_display = ["pk", "user", "channel", "severity", "state", "attempts", "created_at", "delivered_at"]
    list_filter = ["state", "channel", "severity"]
    fields = ["user", "channel", "severity", "state", "attempts", "created_at", "next_attempt_at", "last_error"]
    readonly_fields = fields
    actions = ["send_again"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Send again (failed deliveries start a new round of attempts)")
    def send_again(self, request, queryset):
        count = queryset.filter(state=DeliveryState.FAILED).update(
            state=DeliveryState.PENDING, attempts=0, next_attempt_at=timezone.now()
        )
        self.message_user(request, f"{count} deliveries will be sent again by the next sweep.")
