from __future__ import annotations

from datetime import date

import nhs_number
from django import forms
from stdnum.gb import upn as upn_checker

from agencies.models import Agency, InvolvementReason, User
from chronology.selectors import Identifiers


class FindChildForm(forms.Form):
    nhs_number = forms.CharField(
        label="NHS number",
        required=False,
        help_text="10 digits, for example 999 123 4567",
        widget=forms.TextInput(attrs={"class": "govuk-input--width-10", "inputmode": "numeric", "spellcheck": "false"}),
    )
    upn = forms.CharField(
        label="Unique pupil number (UPN)",
        required=False,
        help_text="13 characters",
        widget=forms.TextInput(attrs={"class": "govuk-input--width-20", "spellcheck": "false"}),
    )
    given_name = forms.CharField(label="First name", required=False)
    family_name = forms.CharField(label="Last name", required=False)
    dob_day = forms.IntegerField(label="Day", required=False, min_value=1, max_value=31)
    dob_month = forms.IntegerField(label="Month", required=False, min_value=1, max_value=12)
    dob_year = forms.IntegerField(label="Year", required=False, min_value=1900, max_value=2100)

    def clean_nhs_number(self) -> str:
        value = "".join(self.cleaned_data["nhs_number"].split())
        if value and not (value.isdigit() and len(value) == 10 and nhs_number.is_valid(value)):
            raise forms.ValidationError("Enter a valid 10-digit NHS number, like 999 123 4567")
        return value

    def clean_upn(self) -> str:
        value = "".join(self.cleaned_data["upn"].split()).upper()
        if value and not upn_checker.is_valid(value):
            raise forms.ValidationError("Enter a valid 13-character unique pupil number")
        return value

    def clean(self):
        data = super().clean()
        parts = [data.get("dob_day"), data.get("dob_month"), data.get("dob_year")]
        data["date_of_birth"] = None
        if any(p is not None for p in parts):
            if None in parts:
                self.add_error("dob_day", "Date of birth must include a day, month and year")
            else:
                try:
                    data["date_of_birth"] = date(parts[2], parts[1], parts[0])
                except ValueError:
                    self.add_error("dob_day", "Date of birth must be a real date")
        by_name = data.get("given_name") and data.get("family_name") and data["date_of_birth"]
        if not self.errors and not (data.get("nhs_number") or data.get("upn") or by_name):
            raise forms.ValidationError(
                "Enter an NHS number, a unique pupil number, or the child's first name, last name and date of birth"
            )
        return data

    def identifiers(self) -> Identifiers:
        data = self.cleaned_data
        return Identifiers(
            nhs_number=data.get("nhs_number", ""),
            upn=data.get("upn", ""),
            given_name=(data.get("given_name") or "").strip(),
            family_name=(data.get("family_name") or "").strip(),
            date_of_birth=data.get("date_of_birth"),
        )


class BreakGlassForm(forms.Form):
    reason = forms.CharField(
        label="Why do you need to open this record now?",
        help_text="Say what the emergency is. Safeguarding leads and auditors review every break-glass opening.",
        widget=forms.Textarea(attrs={"rows": 4}),
        min_length=20,
        error_messages={
            "required": "Enter why you need to open this record",
            "min_length": "Write the reason in full (at least 20 characters)",
        },
    )


class AuditOpenForm(forms.Form):
    reason = forms.CharField(
        label="Why are you opening this record?",
        help_text="For example, the audit or complaint reference and what you need to check.",
        widget=forms.Textarea(attrs={"rows": 4}),
        min_length=20,
        error_messages={
            "required": "Enter why you are opening this record",
            "min_length": "Write the reason in full (at least 20 characters)",
        },
    )


class InvolvementAddForm(forms.Form):
    agency = forms.ModelChoiceField(queryset=Agency.objects.none(), label="Agency", empty_label=None)
    practitioner = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        label="Practitioner",
        empty_label="The agency's team as a whole",
    )
    reason = forms.ChoiceField(
        label="Working relationship",
        choices=[c for c in InvolvementReason.choices if c[0] != InvolvementReason.RECORDED_INFORMATION],
    )
    reason_detail = forms.CharField(
        label="Details",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required when the relationship is 'Other'.",
    )

    def __init__(self, *args, agencies, practitioners, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = agencies
        self.fields["practitioner"].queryset = practitioners
        self.fields["practitioner"].label_from_instance = lambda u: f"{u.get_full_name()} ({u.agency.name})"


class InvolvementEndForm(forms.Form):
    reason = forms.CharField(
        label="Why is this involvement ending?",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Enter why the involvement is ending"},
    )
