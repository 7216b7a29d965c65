"""The exchange contract's vocabulary, in one place: a new census year is an edit here, not a rewrite.

Event types, factor codes (the DfE Children in Need census "factors identified at the end of
assessment"), people's roles and the values of the known `details` keys. Labels are the plain words
the pages show; groups order the form's checkboxes and the filters.
"""

from __future__ import annotations

EVENT_TYPE_GROUPS: dict[str, list[tuple[str, str]]] = {
    "Concerns": [
        ("domestic_abuse_incident", "Domestic abuse incident"),
        ("injury", "Injury"),
        ("disclosure", "Disclosure"),
        ("presentation_concern", "Presentation concern (hunger, hygiene, clothing, food-seeking)"),
        ("home_conditions_concern", "Home conditions concern"),
        ("growth_or_development_concern", "Growth or development concern"),
        ("emotional_wellbeing_concern", "Emotional wellbeing concern (distress, self-harm)"),
        ("behaviour_concern", "Behaviour concern"),
        ("parental_mental_health_concern", "Parental mental health concern"),
        ("parental_substance_misuse_concern", "Parental substance misuse concern"),
        ("exploitation_concern", "Exploitation concern"),
        ("missing_episode", "Missing episode"),
        ("return_home_interview", "Return home interview"),
        ("child_offending", "Offending by the child"),
        ("adult_offending", "Offending by an adult"),
        ("online_safety_concern", "Online safety concern"),
        ("anonymous_report", "Anonymous report"),
    ],
    "Engagement": [
        ("was_not_brought", "Was not brought"),
        ("did_not_attend", "Did not attend (young person or adult attending alone)"),
        ("no_access_visit", "No access visit (no answer, or access to the child refused)"),
        ("home_visit", "Home visit"),
        ("non_engagement", "Non-engagement (services declined or withdrawn)"),
    ],
    "Education": [
        ("school_absence", "School absence"),
        ("school_exclusion", "School exclusion"),
        ("elective_home_education", "Elective home education"),
        ("child_missing_education", "Child missing education"),
    ],
    "Household": [
        ("household_change", "Household change (an adult joins or leaves)"),
        ("separation", "Separation"),
        ("house_move", "House move"),
        ("housing_issue", "Housing issue"),
        ("pregnancy", "Pregnancy"),
        ("birth", "Birth"),
    ],
    "Process": [
        ("referral", "Referral"),
        ("assessment", "Assessment"),
        ("strategy_discussion", "Strategy discussion"),
        ("child_protection_conference", "Child protection conference"),
        ("core_group_meeting", "Core group meeting"),
        ("plan_start", "Plan started"),
        ("plan_end", "Plan ended"),
        ("case_closed", "Case closed"),
        ("marac", "MARAC"),
        ("health_contact", "Health contact"),
        ("emergency_department_attendance", "Emergency department attendance"),
        ("other", "Other"),
    ],
}
EVENT_TYPES: dict[str, str] = {code: label for group in EVENT_TYPE_GROUPS.values() for code, label in group}
CONCERN_TYPES = frozenset(code for code, _ in EVENT_TYPE_GROUPS["Concerns"])
MISSED_APPOINTMENT_TYPES = frozenset({"was_not_brought", "did_not_attend"})

FACTOR_GROUPS: dict[str, list[tuple[str, str]]] = {
    "About the child": [
        ("1A", "Alcohol misuse (child)"),
        ("2A", "Drug misuse (child)"),
        ("3A", "Domestic abuse (child)"),
        ("4A", "Mental health (child)"),
        ("5A", "Learning disability (child)"),
        ("6A", "Physical disability or illness (child)"),
        ("7A", "Young carer"),
        ("8F", "Privately fostered"),
        ("9A", "Unaccompanied asylum-seeking child"),
        ("10A", "Going or being missing"),
        ("11A", "Child sexual exploitation"),
        ("12A", "Trafficking"),
        ("13A", "Gangs"),
        ("14A", "Socially unacceptable behaviour"),
        ("15A", "Self-harm"),
        ("16A", "Neglect"),
        ("17A", "Emotional abuse"),
        ("22A", "Female genital mutilation"),
        ("23A", "Abuse linked to faith or belief"),
        ("24A", "Child criminal exploitation"),
    ],
    "About a parent or carer": [
        ("1B", "Alcohol misuse (parent or carer)"),
        ("2B", "Drug misuse (parent or carer)"),
        ("3B", "Domestic abuse (parent or carer)"),
        ("4B", "Mental health (parent or carer)"),
        ("5B", "Learning disability (parent or carer)"),
        ("6B", "Physical disability or illness (parent or carer)"),
        ("18B", "Physical abuse by an adult"),
        ("19B", "Sexual abuse by an adult"),
    ],
    "About another person in the household": [
        ("1C", "Alcohol misuse (another person)"),
        ("2C", "Drug misuse (another person)"),
        ("3C", "Domestic abuse (another person)"),
        ("4C", "Mental health (another person)"),
        ("5C", "Learning disability (another person)"),
        ("6C", "Physical disability or illness (another person)"),
        ("18C", "Physical abuse by another child"),
        ("19C", "Sexual abuse by another child"),
    ],
    "Other": [
        ("20", "Other factor"),
        ("21", "No factors identified"),
    ],
}
FACTORS: dict[str, str] = {code: label for group in FACTOR_GROUPS.values() for code, label in group}

PERSON_ROLES: dict[str, str] = {
    "mother": "Mother",
    "father": "Father",
    "step_parent": "Step-parent",
    "partner_of_parent": "Partner of a parent",
    "carer": "Carer",
    "sibling": "Sibling",
    "grandparent": "Grandparent",
    "other_relative": "Other relative",
    "other_adult": "Other adult (for example a man who visits)",
}

INFORMATION_SOURCES: dict[str, str] = {
    "practitioner": "Practitioner (seen directly)",
    "child": "The child",
    "parent": "A parent",
    "relative": "A relative",
    "neighbour": "A neighbour",
    "anonymous": "Anonymous",
    "other_agency": "Another agency",
}
VERIFICATION: dict[str, str] = {
    "unverified": "Not verified",
    "verified": "Verified with another source",
    "disputed": "Disputed",
}
SHARING: dict[str, str] = {
    "all": "Every agency involved with the child",
    "restricted": "Restricted: only my agency and safeguarding leads read the text",
}
DATE_PRECISION: dict[str, str] = {"day": "Day", "month": "Month", "year": "Year"}
AMENDMENT_KINDS: dict[str, str] = {"correction": "Correction", "filed_in_error": "Filed in error"}
SEX: dict[str, str] = {"female": "Female", "male": "Male", "other": "Other", "unknown": "Not known"}

OUTCOMES: dict[str, str] = {
    "no_further_action": "No further action",
    "universal": "Universal services",
    "early_help": "Early help",
    "cin": "Child in need",
    "cp_plan": "Child protection plan",
    "lac": "Looked after",
    "goals_met": "Goals met",
    "non_engagement": "Non-engagement",
    "transferred": "Transferred",
    "strategy_discussion": "Strategy discussion",
    "section_47": "Section 47 enquiry",
}
PLANS: dict[str, str] = {
    "early_help": "Early help plan",
    "cin": "Child in need plan",
    "cp": "Child protection plan",
    "lac": "Looked after child",
}
CATEGORIES: dict[str, str] = {
    "neglect": "Neglect",
    "physical": "Physical abuse",
    "emotional": "Emotional abuse",
    "sexual": "Sexual abuse",
    "multiple": "Multiple",
}
INJURY_KINDS: dict[str, str] = {
    "bruise": "Bruise",
    "burn": "Burn",
    "fracture": "Fracture",
    "bite": "Bite",
    "laceration": "Laceration",
    "head_injury": "Head injury",
    "other": "Other",
}


def choices(mapping: dict[str, str]) -> list[tuple[str, str]]:
    return list(mapping.items())


def factor_words(codes) -> list[str]:
    return [FACTORS.get(code, code) for code in codes]
