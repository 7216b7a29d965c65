"""Forms for the core group pages. They parse what was typed; the services decide what may be recorded."""

from __future__ import annotations

from datetime import date

from django import forms

from agencies.models import User
from config.forms import DatesMixin, date_fields
from coregroups.models import ActionStatus, Member, MemberKind, Plan, PlanAction, Presence, Safer
from coregroups.services import MeetingInput

CATEGORIES = [
    ("neglect", "Neglect"),
    ("physical", "Physical abuse"),
    ("emotional", "Emotional abuse"),
    ("sexual", "Sexual abuse"),
    ("multiple", "Multiple categories"),
]
FAMILY_CHOICES = [(k.value, k.label) for k in (MemberKind.PARENT, MemberKind.CARER, MemberKind.CHILD, MemberKind.OTHER)]


def person_label(user: User) -> str:
    name = user.get_full_name() or user.username
    role = f", {user.job_title}" if user.job_title else ""
    agency = f" ({user.agency.name})" if user.agency_id else ""
    return f"{name}{role}{agency}"


class _PeopleChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return person_label(obj)


class CoreGroupForm(DatesMixin, forms.Form):
    plan = forms.ChoiceField(
        label="Which plan does the core group carry out?",
        choices=Plan.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose the plan: child protection or child in need"},
    )
    category = forms.ChoiceField(
        label="Category of the child protection plan",
        help_text="Only for a child protection plan.",
        choices=[("", "Choose the category"), *CATEGORIES],
        required=False,
    )
    chair = _PeopleChoice(
        queryset=User.objects.none(),
        label="Chair",
        help_text="Usually the child's social worker.",
        empty_label="Choose the chair",
        error_messages={
            "required": "Choose who chairs the core group",
            "invalid_choice": "Choose the chair from the list",
        },
    )
    deputy = _PeopleChoice(
        queryset=User.objects.none(),
        label="Deputy (optional)",
        help_text="Chairs a meeting when the chair cannot come, so the meeting goes ahead.",
        empty_label="No deputy",
        required=False,
        error_messages={"invalid_choice": "Choose the deputy from the list"},
    )

    def __init__(self, *args, professionals: list[User], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(date_fields("started"))
        # The order of the page, which the error summary follows.
        self.order_fields(["plan", "category", "started_day", "started_month", "started_year", "chair", "deputy"])
        pks = [u.pk for u in professionals]
        for name in ("chair", "deputy"):
            # The list is the access policy's answer; the queryset only turns the posted id back into that user.
            self.fields[name].queryset = User.objects.filter(pk__in=pks).select_related("agency")
            self.fields[name].choices = [("", self.fields[name].empty_label)] + [
                (u.pk, person_label(u)) for u in professionals
            ]

    def clean(self):
        data = super().clean()
        data["started_on"] = self.date_from("started", "the core group started", required=True)
        if data.get("plan") == Plan.CP and not data.get("category"):
            self.add_error("category", "Choose the category of the child protection plan")
        if data.get("plan") == Plan.CIN:
            data["category"] = ""
        if data.get("chair") and data.get("deputy") and data["chair"] == data["deputy"]:
            self.add_error("deputy", "The deputy must be someone other than the chair")
        return data


class ProfessionalMemberForm(forms.Form):
    user = _PeopleChoice(
        queryset=User.objects.none(),
        label="Professional",
        help_text="People who work with the child and may record on the record. Someone not listed needs an "
        "involvement with the child first.",
        empty_label="Choose the professional",
        error_messages={
            "required": "Choose the professional",
            "invalid_choice": "Choose the professional from the list",
        },
    )

    def __init__(self, *args, professionals: list[User], **kwargs):
        kwargs.setdefault("prefix", "professional")
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = User.objects.filter(pk__in=[u.pk for u in professionals]).select_related(
            "agency"
        )
        self.fields["user"].choices = [("", "Choose the professional")] + [
            (u.pk, person_label(u)) for u in professionals
        ]


class FamilyMemberForm(forms.Form):
    kind = forms.ChoiceField(
        label="Who are they?",
        choices=FAMILY_CHOICES,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose who they are"},
    )
    name = forms.CharField(
        label="Name",
        max_length=200,
        help_text="How they are named in the meeting, for example 'Jo Smith'.",
        error_messages={"required": "Enter their name"},
    )
    relationship = forms.CharField(
        label="Relationship to the child (optional)",
        max_length=100,
        required=False,
        help_text="For example: mother, stepfather, grandmother, foster carer.",
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "family")
        super().__init__(*args, **kwargs)


class ActionForm(DatesMixin, forms.Form):
    description = forms.CharField(
        label="What will be done?",
        help_text="Say who does what and how often, for example 'Health visitor visits weekly and weighs Kit'.",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say what will be done"},
    )
    owner = forms.ModelChoiceField(
        queryset=Member.objects.none(),
        label="Who owns it?",
        empty_label="Choose a member of the core group",
        error_messages={
            "required": "Choose who owns the action",
            "invalid_choice": "Choose a member of this core group",
        },
    )
    expected_impact = forms.CharField(
        label="What should be different for the child when it is done?",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say what should be different for the child"},
    )

    def __init__(self, *args, members, **kwargs):
        kwargs.setdefault("prefix", "action")
        super().__init__(*args, **kwargs)
        self.fields.update(date_fields("due"))
        self.order_fields(["description", "owner", "due_day", "due_month", "due_year", "expected_impact"])
        self.fields["owner"].queryset = members

    def clean(self):
        data = super().clean()
        data["due_on"] = self.date_from("due", "it is due", required=True)
        return data


class MeetingForm(DatesMixin, forms.Form):
    """The record of one meeting, whole. Fields are made for this group's members and open actions; what must be
    there is decided by services.meeting_problems, whose messages land on the field they are about."""

    child_view = forms.CharField(
        label="The child's views",
        help_text="In the child's own words where you can: what they said, wished and showed, and how their views "
        "were gathered. If they could not be gathered, say why.",
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
    )
    safer = forms.ChoiceField(
        label="Does the core group judge the child safer since the last meeting?",
        choices=Safer.choices,
        widget=forms.RadioSelect,
        required=False,
    )
    safer_evidence = forms.CharField(
        label="On what evidence?",
        help_text="What was seen, by whom and when: not what was promised.",
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
    )
    decisions = forms.CharField(
        label="Decisions",
        help_text="What the core group decided, including any change to the plan.",
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
    )

    def __init__(self, *args, members: list[Member], actions: list[PlanAction], **kwargs):
        super().__init__(*args, **kwargs)
        self.members, self.actions = members, actions
        fields = dict(date_fields("held"))
        for m in members:
            fields[f"attendance_{m.pk}"] = forms.ChoiceField(
                label=str(m), choices=Presence.choices, widget=forms.RadioSelect, required=False
            )
        fields["child_view"] = self.fields.pop("child_view")
        for m in self.family_with_views():
            fields[f"view_{m.pk}"] = forms.CharField(
                label=f"What {m.name} said" + (f" ({m.relationship.lower()})" if m.relationship else ""),
                help_text="Their views in their own words. If they gave none, say so and why.",
                widget=forms.Textarea(attrs={"rows": 3}),
                required=False,
            )
        for a in actions:
            fields[f"action_{a.pk}_status"] = forms.ChoiceField(
                label=f"Status of action {a.number}",
                choices=ActionStatus.choices,
                widget=forms.RadioSelect,
                required=False,
                initial=a.status,
            )
            fields[f"action_{a.pk}_progress"] = forms.CharField(
                label=f"What happened on action {a.number}",
                help_text="What was done, by whom, and what got in the way.",
                widget=forms.Textarea(attrs={"rows": 3}),
                required=False,
            )
            fields[f"action_{a.pk}_impact"] = forms.CharField(
                label=f"Observed impact of action {a.number} on the child (optional)",
                help_text="What is different for the child, as seen.",
                widget=forms.Textarea(attrs={"rows": 2}),
                required=False,
            )
        for name in ("safer", "safer_evidence", "decisions"):
            fields[name] = self.fields.pop(name)
        fields.update(date_fields("next"))
        self.fields = fields

    def family_with_views(self) -> list[Member]:
        return [m for m in self.members if m.kind in (MemberKind.PARENT, MemberKind.CARER)]

    # For the template: each group of fields with what it is about.
    def attendance_fields(self):
        return [(m, self[f"attendance_{m.pk}"]) for m in self.members]

    def view_fields(self):
        return [(m, self[f"view_{m.pk}"]) for m in self.family_with_views()]

    def action_fields(self):
        return [
            (a, self[f"action_{a.pk}_status"], self[f"action_{a.pk}_progress"], self[f"action_{a.pk}_impact"])
            for a in self.actions
        ]

    def clean(self):
        data = super().clean()
        data["held_on"] = self.date_from("held", "of the meeting", required=True)
        data["next_meeting_on"] = self.date_from("next", "of the next meeting", required=False)
        return data

    def meeting_input(self, *, today: date) -> MeetingInput:
        """What was entered, for meeting_problems: a missing meeting date stands in as today (its own error is
        already on the form), so every other problem is still found in the same submission."""
        data = self.cleaned_data
        return MeetingInput(
            held_on=data.get("held_on") or today,
            child_view=data.get("child_view", ""),
            safer=data.get("safer", ""),
            safer_evidence=data.get("safer_evidence", ""),
            decisions=data.get("decisions", ""),
            next_meeting_on=data.get("next_meeting_on"),
            attendance={m.pk: data[f"attendance_{m.pk}"] for m in self.members if data.get(f"attendance_{m.pk}")},
            family_views={m.pk: data.get(f"view_{m.pk}", "") for m in self.family_with_views()},
            progress={
                a.pk: (
                    data.get(f"action_{a.pk}_status", ""),
                    data.get(f"action_{a.pk}_progress", ""),
                    data.get(f"action_{a.pk}_impact", ""),
                )
                for a in self.actions
            },
        )

    def add_problems(self, problems: dict[str, str], *, held_on_known: bool) -> None:
        """meeting_problems' messages, each on the field it is about, in the form's order."""
        for key, message in problems.items():
            if key in ("held_on", "next_meeting_on"):
                if not held_on_known:  # compared with a stand-in date: not a problem of what was typed
                    continue
                self.add_error({"held_on": "held_day", "next_meeting_on": "next_day"}[key], message)
            elif key == "attendance":
                missing = [m for m in self.members if not self.cleaned_data.get(f"attendance_{m.pk}")]
                for m in missing:
                    self.add_error(
                        f"attendance_{m.pk}", f"Record whether {m.name} was present, sent apologies or was absent"
                    )
                if not missing:
                    self.add_error(None, message)
            elif key.startswith("action_"):
                pk = int(key.removeprefix("action_"))
                if self.cleaned_data.get(f"action_{pk}_status") not in ActionStatus.values:
                    self.add_error(f"action_{pk}_status", message + ": choose its status")
                if not self.cleaned_data.get(f"action_{pk}_progress", "").strip():
                    self.add_error(f"action_{pk}_progress", message + ": say what happened")
            elif key in self.fields:
                self.add_error(key, message)
            else:
                self.add_error(None, message)
