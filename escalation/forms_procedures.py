"""Forms for the professional-disagreement, referral-outcome, case-closure pages. They parse; services decide."""

from __future__ import annotations

from django import forms

from agencies.models import User
from chronology import vocabulary as v
from config.forms import DatesMixin, date_parts
from escalation.models import StageOutcome


class DisagreementForm(forms.Form):
    decision_disputed = forms.CharField(
        label="Which decision, or lack of one, do you disagree with?",
        help_text="Say what was decided or not done, by whom and when. For example: "
        "'the referral of 3 March was closed with no further action by the front door team on 5 March'.",
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Enter the decision, or lack of one, that you disagree with"},
    )
    concern = forms.CharField(
        label="Why does it not protect the child?",
        help_text="Say explicitly what risk remains for the child and what you think should happen instead.",
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": "Enter why what is being done does not protect the child"},
    )
    with_whom = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        label="Whose decision is it? (optional)",
        help_text="The practitioner working with the child whose decision you disagree with, if they are listed.",
        empty_label="Not known, or not listed",
        error_messages={"invalid_choice": "Choose a practitioner from the list, or leave it as not known"},
    )

    def __init__(self, *args, practitioners, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["with_whom"].queryset = practitioners
        self.fields["with_whom"].label_from_instance = _person


def _person(user: User) -> str:
    name = user.get_full_name() or user.username
    role = f", {user.job_title}" if user.job_title else ""
    agency = f" ({user.agency.name})" if user.agency_id else ""
    return f"{name}{role}{agency}"


class StageOutcomeForm(forms.Form):
    outcome = forms.ChoiceField(
        label="What is the outcome of this stage?",
        widget=forms.RadioSelect,
        error_messages={"required": "Say whether it was resolved or moves to the next stage"},
    )
    rationale = forms.CharField(
        label="Rationale",
        help_text="What was discussed and agreed, by whom, and why. The person who raised the disagreement reads it.",
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": "Enter the rationale for the outcome"},
    )

    def __init__(self, *args, last_stage: bool, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(StageOutcome.RESOLVED.value, StageOutcome.RESOLVED.label)]
        if not last_stage:
            choices.append((StageOutcome.MOVED_UP.value, StageOutcome.MOVED_UP.label))
        self.fields["outcome"].choices = choices


class ReferralOutcomeForm(forms.Form):
    outcome = forms.ChoiceField(
        label="Outcome of the referral",
        choices=[("", "Choose the outcome"), *v.choices(v.OUTCOMES)],
        error_messages={"required": "Choose the outcome"},
    )
    text = forms.CharField(
        label="What was decided and why",
        help_text="The referrer is told the outcome. Say what will happen for the child, and who does it.",
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": "Enter what was decided and why"},
    )


class ClosureRequestForm(DatesMixin, forms.Form):
    occurred_day, occurred_month, occurred_year = date_parts()
    summary = forms.CharField(
        label="Why is the case closing, and what is in place for the child?",
        help_text="Say who still works with the child, what the family has agreed to, and how the risk is now managed.",
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": "Enter why the case is closing and what is in place for the child"},
    )
    outcome = forms.ChoiceField(
        label="Outcome (optional)",
        choices=[("", "No outcome recorded"), *v.choices(v.OUTCOMES)],
        required=False,
    )

    def clean(self):
        data = super().clean()
        data["occurred_on"] = self.date_from("occurred", "the case closes", required=True)
        return data


class ClosureDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label="Your decision",
        choices=[
            ("countersign", "Countersign: the case closes"),
            ("decline", "Decline: the case stays open"),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose whether you countersign or decline the closure"},
    )
    rationale = forms.CharField(
        label="Rationale",
        help_text="Why the risk is, or is not, managed well enough to close. The requester reads it.",
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": "Enter the rationale for your decision"},
    )
