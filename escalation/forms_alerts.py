"""Forms for the alert queue and for working an alert. They parse input; the services decide what is allowed."""

from __future__ import annotations

from django import forms

from escalation.models import Decision, Severity
from escalation.selectors import QueueFilters

CLOSING_DECISIONS = [(value, label) for value, label in Decision.choices if not value.startswith("reviewed_")]


class QueueFilterForm(forms.Form):
    severity = forms.ChoiceField(label="Severity", required=False, choices=[("", "Any severity"), *Severity.choices])
    state = forms.ChoiceField(
        label="State",
        required=False,
        choices=[("open", "Open"), ("closed", "Closed"), ("all", "Open and closed")],
    )
    owner = forms.ChoiceField(
        label="Owner",
        required=False,
        choices=[
            ("", "Anyone or nobody"),
            ("me", "Assigned to me"),
            ("sent-or-assigned", "Sent or assigned to me"),
            ("unassigned", "Unassigned"),
        ],
    )
    overdue = forms.BooleanField(label="Only alerts overdue for acknowledgement", required=False)

    def filters(self) -> QueueFilters:
        if not self.is_valid():
            return QueueFilters()
        data = self.cleaned_data
        return QueueFilters(
            severity=data["severity"], state=data["state"] or "open", owner=data["owner"], overdue=data["overdue"]
        )

    @property
    def active(self) -> bool:
        """Whether anything other than the default view is asked for."""
        f = self.filters()
        return bool(f.severity or f.owner or f.overdue or f.state != "open")


class AcknowledgeForm(forms.Form):
    action = "acknowledge"


class AssignForm(forms.Form):
    action = "assign"
    owner = forms.ChoiceField(
        label="Assign to", required=False, error_messages={"invalid_choice": "Choose who owns this alert"}
    )

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, prefix="assign", **kwargs)
        self.candidates = {str(u.pk): u for u in candidates}
        self.fields["owner"].choices = [("", "Choose who owns this alert")] + [
            (str(u.pk), _person(u)) for u in candidates
        ]

    def clean_owner(self):
        value = self.cleaned_data["owner"]
        if value not in self.candidates:
            raise forms.ValidationError("Choose who owns this alert")
        return self.candidates[value]


class NoteForm(forms.Form):
    action = "note"
    text = forms.CharField(
        label="Note",
        required=False,
        help_text="What you did or found out, for whoever reads this alert next. Notes cannot be changed later.",
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="note", **kwargs)


class CloseForm(forms.Form):
    action = "close"
    decision = forms.ChoiceField(
        label="Decision",
        required=False,
        choices=CLOSING_DECISIONS,
        error_messages={"invalid_choice": "Choose the decision made"},
    )
    rationale = forms.CharField(
        label="Rationale",
        required=False,
        help_text=(
            "Why you decided this: what you considered and who you spoke to. "
            "It is recorded with your name and cannot be changed later."
        ),
        widget=forms.Textarea(attrs={"rows": 5}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="close", **kwargs)


def _person(user) -> str:
    parts = [str(user)]
    if user.job_title:
        parts.append(user.job_title)
    if user.agency_id:
        parts.append(user.agency.name)
    return ", ".join(parts)
