from __future__ import annotations

import re
from datetime import date

import nhs_number
from django import forms
from django.utils import timezone
from stdnum.gb import upn as upn_checker

from agencies.models import Agency, InvolvementReason, User
from chronology import vocabulary as v
from chronology.selectors import Identifiers
from config.forms import DatesMixin, date_parts


class FindChildForm(DatesMixin, forms.Form):
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
    dob_day, dob_month, dob_year = date_parts()

    def clean_nhs_number(self) -> str:
        value = "".join(re.sub(r"[-\u2010-\u2015]", " ", self.cleaned_data["nhs_number"]).split())  # any dash
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
        data["date_of_birth"] = self.date_from("dob", "of birth", required=False)
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


YES_NO_UNKNOWN = [("yes", "Yes"), ("no", "No"), ("", "Not applicable or not known")]


def _tristate(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


class EventForm(DatesMixin, forms.Form):
    """Logging an event: what happened, to whom, seen or not, in the child's words, shared how."""

    type = forms.ChoiceField(
        label="What kind of event is this?",
        choices=[("", "Choose a type")] + [(g, list(items)) for g, items in v.EVENT_TYPE_GROUPS.items()],
        error_messages={"required": "Choose what kind of event this is"},
    )
    to_agency = forms.ModelChoiceField(
        label="For a referral: the agency it went to",
        queryset=None,
        required=False,
        empty_label="Not a referral",
        help_text="The receiving agency is told, and you are told its outcome.",
    )
    occurred_day, occurred_month, occurred_year = date_parts()
    factors = forms.MultipleChoiceField(choices=v.choices(v.FACTORS), required=False, label="What does it show?")
    child_seen = forms.ChoiceField(choices=YES_NO_UNKNOWN, required=False, label="Was the child seen?")
    child_seen_alone = forms.ChoiceField(choices=YES_NO_UNKNOWN, required=False, label="Was the child seen alone?")
    child_voice = forms.CharField(
        label="The child's voice",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What the child said or showed of their daily life, in their words where you can.",
    )
    information_source = forms.ChoiceField(
        label="Where did the information come from?", choices=v.choices(v.INFORMATION_SOURCES), initial="practitioner"
    )
    verified = forms.ChoiceField(
        label="Has it been checked with another source?", choices=v.choices(v.VERIFICATION), initial="unverified"
    )
    summary = forms.CharField(
        label="What happened",
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Say explicitly what you saw and heard, so that anyone reading it later understands.",
        error_messages={"required": "Enter what happened"},
    )
    action_taken = forms.CharField(label="What you did", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    significant = forms.BooleanField(label="This is significant for the child", required=False)
    sharing = forms.ChoiceField(label="Who may read it?", choices=v.choices(v.SHARING), initial="all")
    # Details that the thresholds read, asked only where they apply.
    injury_kind = forms.ChoiceField(
        label="Kind of injury", choices=[("", "Not an injury"), *v.choices(v.INJURY_KINDS)], required=False
    )
    injury_site = forms.CharField(label="Where on the body", required=False)
    explanation_consistent = forms.ChoiceField(
        label="Is the explanation consistent with the injury?", choices=YES_NO_UNKNOWN, required=False
    )
    delay_hours = forms.DecimalField(label="Hours before it was presented", required=False, min_value=0)
    weapon = forms.BooleanField(label="A weapon was used", required=False)
    strangulation = forms.BooleanField(label="Strangulation or choking", required=False)
    threats_to_kill = forms.BooleanField(label="Threats to kill", required=False)
    dash_score = forms.IntegerField(label="DASH score (ticks, 0 to 24)", required=False, min_value=0, max_value=24)
    returned_on_day, returned_on_month, returned_on_year = date_parts()
    outcome = forms.ChoiceField(
        label="Outcome", choices=[("", "No outcome recorded"), *v.choices(v.OUTCOMES)], required=False
    )
    plan = forms.ChoiceField(label="Plan", choices=[("", "No plan"), *v.choices(v.PLANS)], required=False)
    category = forms.ChoiceField(
        label="Category of abuse", choices=[("", "None"), *v.choices(v.CATEGORIES)], required=False
    )
    # Confirmations the nudges ask for.
    confirm_attend_alone = forms.BooleanField(
        label="The young person was expected to attend this appointment alone", required=False
    )
    confirm_vague_summary = forms.BooleanField(label="I have checked: this summary says what happened", required=False)

    def __init__(self, *args, child, **kwargs):
        from agencies.models import Agency

        super().__init__(*args, **kwargs)
        self.child = child
        self.fields["to_agency"].queryset = Agency.objects.select_related("area").order_by("area__name", "name")

    def clean(self):
        data = super().clean()
        data["occurred_on"] = self.date_from("occurred", "it happened", required=True)
        data["returned_on"] = self.date_from("returned_on", "the child returned", required=False)
        if data.get("type") == "referral" and not data.get("to_agency"):
            self.add_error("to_agency", "Choose the agency the referral went to")
        return data

    def details(self) -> dict:
        data = self.cleaned_data
        details: dict = {}
        if data.get("injury_kind"):
            details["injury_kind"] = data["injury_kind"]
            if data.get("injury_site"):
                details["injury_site"] = data["injury_site"].strip()
            consistent = _tristate(data.get("explanation_consistent", ""))
            if consistent is not None:
                details["explanation_consistent"] = consistent
            if data.get("delay_hours") is not None:
                details["delay_hours"] = float(data["delay_hours"])
        for flag in ("weapon", "strangulation", "threats_to_kill"):
            if data.get(flag):
                details[flag] = True
        if data.get("dash_score") is not None:
            details["dash_score"] = data["dash_score"]
        if data.get("returned_on"):
            details["returned_on"] = data["returned_on"].isoformat()
        for key in ("outcome", "plan", "category"):
            if data.get(key):
                details[key] = data[key]
        if data.get("type") == "referral" and data.get("to_agency"):
            details["to_agency"] = data["to_agency"].code
        if data.get("confirm_attend_alone"):
            details["expected_to_attend_alone"] = True
        return details

    def event_input(self, *, agency, amends=None, amendment_reason: str = "", amendment_kind: str = ""):
        from chronology.services import EventInput

        data = self.cleaned_data
        return EventInput(
            occurred_on=data["occurred_on"],
            agency=agency,
            type=data["type"],
            summary=data["summary"],
            factors=list(data.get("factors") or []),
            action_taken=data.get("action_taken", ""),
            child_seen=_tristate(data.get("child_seen", "")),
            child_seen_alone=_tristate(data.get("child_seen_alone", "")),
            child_voice=data.get("child_voice", ""),
            information_source=data["information_source"],
            verified=data["verified"],
            significant=bool(data.get("significant")),
            sharing=data["sharing"],
            details=self.details(),
            amends=amends,
            amendment_reason=amendment_reason,
            amendment_kind=amendment_kind,
        )

    def partial_input(self, *, agency):
        """What a form with errors already says, for the prompts it would meet once corrected: None until its
        type is known. Fields in error stand empty (a missing date as today: the caller leaves the prompts that
        depend on the child's age then), so their prompts wait."""
        from chronology.services import EventInput

        data = self.cleaned_data
        if not data.get("type"):
            return None
        return EventInput(
            occurred_on=data.get("occurred_on") or timezone.localdate(),
            agency=agency,
            type=data["type"],
            summary=data.get("summary") or "",
            child_seen=_tristate(data.get("child_seen", "")),
            child_seen_alone=_tristate(data.get("child_seen_alone", "")),
            child_voice=data.get("child_voice", ""),
        )

    def confirmations(self) -> set[str]:
        done = set()
        if self.cleaned_data.get("confirm_attend_alone"):
            done.add("attend_alone")
        if self.cleaned_data.get("confirm_vague_summary"):
            done.add("vague_summary")
        return done


class AmendmentForm(EventForm):
    amendment_kind = forms.ChoiceField(
        label="What kind of amendment is this?",
        choices=v.choices(v.AMENDMENT_KINDS),
        widget=forms.RadioSelect,
        initial="correction",
    )
    amendment_reason = forms.CharField(
        label="Why are you amending the entry?",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The original stays readable beside your amendment.",
        error_messages={"required": "Enter why you are amending the entry"},
    )


def _agency_by_code(code):
    from agencies.models import Agency

    return Agency.objects.filter(code=code).first() if isinstance(code, str) else None


def initial_from_event(event) -> dict:
    d = event.details or {}
    tri = {True: "yes", False: "no", None: ""}
    initial = {
        "type": event.type,
        "occurred_day": event.occurred_on.day,
        "occurred_month": event.occurred_on.month,
        "occurred_year": event.occurred_on.year,
        "factors": list(event.factors),
        "child_seen": tri[event.child_seen],
        "child_seen_alone": tri[event.child_seen_alone],
        "child_voice": event.child_voice,
        "information_source": event.information_source,
        "verified": event.verified,
        "summary": event.summary,
        "action_taken": event.action_taken,
        "significant": event.significant,
        "sharing": event.sharing,
        "injury_kind": d.get("injury_kind", ""),
        "injury_site": d.get("injury_site", ""),
        "explanation_consistent": tri.get(d.get("explanation_consistent"), ""),
        "delay_hours": d.get("delay_hours"),
        "weapon": bool(d.get("weapon")),
        "strangulation": bool(d.get("strangulation")),
        "threats_to_kill": bool(d.get("threats_to_kill")),
        "dash_score": d.get("dash_score"),
        "to_agency": _agency_by_code(d.get("to_agency")),
        "outcome": d.get("outcome", ""),
        "plan": d.get("plan", ""),
        "category": d.get("category", ""),
    }
    if d.get("returned_on"):
        returned = date.fromisoformat(d["returned_on"])
        initial.update(returned_on_day=returned.day, returned_on_month=returned.month, returned_on_year=returned.year)
    return initial


class ChronologyFilterForm(forms.Form):
    agency = forms.MultipleChoiceField(required=False, label="Agency", widget=forms.CheckboxSelectMultiple)
    type = forms.MultipleChoiceField(choices=v.choices(v.EVENT_TYPES), required=False, label="Type")
    factor = forms.MultipleChoiceField(choices=v.choices(v.FACTORS), required=False, label="Factor")
    date_from = forms.DateField(
        required=False,
        label="From",
        input_formats=["%d/%m/%Y", "%Y-%m-%d"],
        help_text="For example, 27/03/2024",
        error_messages={"invalid": "The 'From' date must be a real date, written like 27/03/2024"},
    )
    date_to = forms.DateField(
        required=False,
        label="To",
        input_formats=["%d/%m/%Y", "%Y-%m-%d"],
        help_text="For example, 27/03/2025",
        error_messages={"invalid": "The 'To' date must be a real date, written like 27/03/2025"},
    )
    significant = forms.BooleanField(required=False, label="Significant entries only")
    order = forms.ChoiceField(
        required=False, initial="", label="Order", choices=[("", "Oldest first"), ("newest", "Newest first")]
    )

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "The 'To' date must be the same as or after the 'From' date")
        return data

    def __init__(self, *args, agencies, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].choices = [(str(a.pk), a.name) for a in agencies]


class ChildForm(FindChildForm):
    """Adding a child: the exact identifiers first, so a child already on Jigsaw is found, not duplicated."""

    sex = forms.ChoiceField(label="Sex", choices=[("", "Not known"), *v.choices(v.SEX)], required=False)
    ethnicity = forms.CharField(label="Ethnicity", required=False)
    first_language = forms.CharField(label="First language", required=False)
    religion = forms.CharField(label="Religion", required=False)

    def clean(self):
        data = super().clean()
        for name, label in (("given_name", "first name"), ("family_name", "last name")):
            if not (data.get(name) or "").strip():
                self.add_error(name, f"Enter the child's {label}")
        if data.get("date_of_birth") is None and "dob_day" not in self.errors:
            self.add_error("dob_day", "Enter the child's date of birth")
        return data


class HouseholdMemberForm(forms.Form):
    role = forms.ChoiceField(
        label="Role",
        choices=[("", "Choose a role"), *v.choices(v.PERSON_ROLES)],
        error_messages={"required": "Choose the person's role"},
    )
    given_name = forms.CharField(label="First name", required=False)
    family_name = forms.CharField(label="Last name", required=False)
    relationship = forms.CharField(
        label="Relationship, in plain words",
        required=False,
        help_text="For example: mother's partner, visits most days",
    )
    factors = forms.MultipleChoiceField(
        label="What is known about them (factor codes)",
        required=False,
        choices=[(c, f"{label} ({c})") for c, label in v.FACTORS.items() if c.endswith(("B", "C"))],
        widget=forms.CheckboxSelectMultiple,
    )


class AddressForm(forms.Form):
    address = forms.CharField(
        label="Address", widget=forms.Textarea(attrs={"rows": 3}), error_messages={"required": "Enter the address"}
    )
    postcode = forms.CharField(
        label="Postcode", required=False, widget=forms.TextInput(attrs={"class": "govuk-input--width-10"})
    )
    area_name = forms.CharField(
        label="Local authority area",
        required=False,
        help_text="A move into another area shows on the record as a move across a border.",
    )
    moved_in = forms.DateField(
        label="Moved in on", required=False, input_formats=["%d/%m/%Y", "%Y-%m-%d"], help_text="For example, 27/03/2025"
    )


TRISTATE = [("", "Not recorded"), ("yes", "Yes"), ("no", "No")]


class ChildDetailsForm(forms.Form):
    sex = forms.ChoiceField(label="Sex", choices=[("", "Not known"), *v.choices(v.SEX)], required=False)
    ethnicity = forms.CharField(label="Ethnicity", required=False)
    religion = forms.CharField(label="Religion", required=False)
    first_language = forms.CharField(label="First language", required=False)
    setting = forms.ModelChoiceField(
        queryset=Agency.objects.none(),
        required=False,
        label="School or early years setting",
        empty_label="None recorded",
    )
    mobility = forms.ChoiceField(
        label="Is the child independently mobile (crawling, cruising or pulling to stand)?",
        choices=[
            ("", "Not recorded: decide by age (every baby under 6 months is not)"),
            ("mobile", "Yes, independently mobile"),
            ("not_mobile", "No, not independently mobile"),
        ],
        required=False,
    )
    young_carer = forms.ChoiceField(label="Young carer", choices=TRISTATE, required=False)
    elective_home_education = forms.ChoiceField(label="Electively home educated", choices=TRISTATE, required=False)
    alias_given_name = forms.CharField(label="Other first name", required=False)
    alias_family_name = forms.CharField(label="Other last name", required=False)
    alias_note = forms.CharField(
        label="What the other name is", required=False, help_text="For example: previous name, known as"
    )

    def __init__(self, *args, child, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["setting"].queryset = Agency.objects.filter(
            area_id=child.area_id, kind__in=["school", "early_years"]
        ).order_by("name")

    def changes(self) -> dict:
        data = self.cleaned_data
        tri = {"": None, "yes": True, "no": False}
        return {
            "sex": data["sex"],
            "ethnicity": data["ethnicity"].strip(),
            "religion": data["religion"].strip(),
            "first_language": data["first_language"].strip(),
            "setting": data["setting"],
            "not_independently_mobile_recorded": {"": None, "mobile": False, "not_mobile": True}[data["mobility"]],
            "young_carer": tri[data["young_carer"]],
            "elective_home_education": tri[data["elective_home_education"]],
        }


def child_details_initial(child) -> dict:
    tri = {None: "", True: "yes", False: "no"}
    return {
        "sex": child.sex,
        "ethnicity": child.ethnicity,
        "religion": child.religion,
        "first_language": child.first_language,
        "setting": child.setting_id,
        "mobility": {None: "", False: "mobile", True: "not_mobile"}[child.not_independently_mobile_recorded],
        "young_carer": tri[child.young_carer],
        "elective_home_education": tri[child.elective_home_education],
    }
