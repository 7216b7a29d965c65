"""The scoring engine: add up a child's accumulated pattern the way the domain notes say, and show why.

Every point traces to a reason naming its rule and events. The score is the sum of the reasons'
points; the indicated level comes from the policy's score boundaries, raised where a rule sets a
minimum level (a bruised baby who is not independently mobile is level 4 whatever else is known).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date

from thresholds.engine.facts import Assessment, ChildFacts, EventFacts, Reason
from thresholds.engine.policy import Policy

DOMESTIC_ABUSE_FACTORS = frozenset({"3A", "3B", "3C"})
MENTAL_HEALTH_FACTORS = frozenset({"4B", "4C"})
SUBSTANCE_FACTORS = frozenset({"1B", "1C", "2B", "2C"})
NEGLECT_KINDS = {
    # kind of neglect evidence -> how an event shows it
    "presentation_concern": "presentation",
    "home_conditions_concern": "home conditions",
    "growth_or_development_concern": "growth or development",
    "was_not_brought": "appointments missed",
    "school_absence": "school absence",
    "child_missing_education": "missing education",
}
THIRD_PARTY_SOURCES = frozenset({"neighbour", "anonymous", "relative", "other_agency", "parent"})
CLOSURE_OUTCOMES = frozenset({"non_engagement", "no_further_action", "goals_met"})
DECISION_LEVEL = {
    "no_further_action": 1,
    "universal": 1,
    "goals_met": 1,
    "non_engagement": 1,
    "early_help": 2,
    "cin": 3,
    "cp_plan": 4,
    "lac": 4,
    "section_47": 4,
    "strategy_discussion": 4,
}
PLAN_LEVEL = {"early_help": 2, "cin": 3, "cp": 4, "lac": 4}
TYPE_WORDS = {
    "domestic_abuse_incident": "domestic abuse incident",
    "injury": "injury",
    "disclosure": "disclosure",
    "presentation_concern": "presentation concern",
    "home_conditions_concern": "home conditions concern",
    "growth_or_development_concern": "growth or development concern",
    "emotional_wellbeing_concern": "emotional wellbeing concern",
    "behaviour_concern": "behaviour concern",
    "parental_mental_health_concern": "parental mental health concern",
    "parental_substance_misuse_concern": "parental substance misuse concern",
    "exploitation_concern": "exploitation concern",
    "missing_episode": "missing episode",
    "child_offending": "offence by the child",
    "adult_offending": "offence by an adult",
    "online_safety_concern": "online safety concern",
    "anonymous_report": "anonymous report",
    "was_not_brought": "appointment the child was not brought to",
    "no_access_visit": "visit with no access",
    "non_engagement": "withdrawal from services",
    "school_exclusion": "school exclusion",
    "child_missing_education": "episode of missing education",
    "housing_issue": "housing issue",
    "marac": "MARAC referral",
    "school_absence": "low school attendance",
}


# Phrases whose plural is not made at their end.
_PLURALS = {"appointment the child was not brought to": "appointments the child was not brought to"}


def _plural(n: int, word: str) -> str:
    if n == 1:
        return f"{n} {word}"
    if word in _PLURALS:
        return f"{n} {_PLURALS[word]}"
    return f"{n} {word[:-1]}ies" if word.endswith("y") else f"{n} {word}s"


def _age_months(born: date, day: date) -> int:
    months = (day.year - born.year) * 12 + day.month - born.month
    return months - 1 if day.day < born.day else months


def effective_events(events: Iterable[EventFacts], as_of: date) -> list[EventFacts]:
    """Events on or before `as_of`, amendments in place of what they correct, nothing filed in error."""
    known = [e for e in events if e.occurred_on <= as_of]
    replaced: set[str] = set()
    withdrawn: set[str] = set()
    for e in known:
        if e.amends:
            replaced.add(e.amends)
            if e.amendment_kind == "filed_in_error":
                withdrawn.add(e.ref)
    out = [e for e in known if e.ref not in replaced and e.ref not in withdrawn]
    out.sort(key=lambda e: (e.occurred_on, e.ref))
    return out


def assess(child: ChildFacts, events: Sequence[EventFacts], as_of: date, policy: Policy) -> Assessment:
    """The child's indicated level as of the end of `as_of`, with every reason."""
    live = effective_events(events, as_of)
    today = as_of.toordinal()
    r = policy.rules
    reasons: list[Reason] = []
    flags: list[str] = []
    min_level = 1

    def add(rule: str, text: str, refs: Iterable[str], points: float, flag: str | None = None, level: int = 1):
        nonlocal min_level
        reasons.append(Reason(rule, text, tuple(refs), float(points)))
        if flag and flag not in flags:
            flags.append(flag)
        min_level = max(min_level, level)

    # --- what each event shows on its own, weighted by recency --------------------------------
    half_life = policy.half_life_days
    floor = policy.floor
    type_w = policy.type_weights
    factor_w = policy.factor_weights
    by_type: dict[str, list] = defaultdict(lambda: [0.0, []])
    concerns: list[EventFacts] = []
    for e in live:
        raw = type_w.get(e.type, 0.0)
        for code in e.factors:
            raw += factor_w.get(code, 0.0)
        if e.type == "school_absence":
            percent = e.details.get("attendance_percent")
            if isinstance(percent, (int, float)) and percent < policy.low_attendance_percent:
                raw += policy.low_attendance_points
            else:
                raw -= type_w.get("school_absence", 0.0)
        if e.type == "injury" and _ordinary_injury(e, child, policy):
            raw -= type_w.get("injury", 0.0)
        if raw <= 0:
            continue
        concerns.append(e)
        if e.source in THIRD_PARTY_SOURCES:
            raw *= policy.unverified_third_party
        age = today - e.occurred_on.toordinal()
        weight = max(floor, 0.5 ** (age / half_life))
        bucket = by_type[e.type]
        bucket[0] += raw * weight
        bucket[1].append(e.ref)
    for kind in sorted(by_type, key=lambda k: -by_type[k][0]):
        points, refs = by_type[kind]
        add(
            f"concern:{kind}",
            f"{_plural(len(refs), TYPE_WORDS.get(kind, kind.replace('_', ' ')))}, "
            "each weighted by what it shows and how recent it is",
            refs,
            points,
        )

    def within(e: EventFacts, days: int) -> bool:
        return today - e.occurred_on.toordinal() <= days

    # --- injuries --------------------------------------------------------------------------------
    rule = r["non_mobile_bruising"]
    bruises = [
        e
        for e in live
        if e.type == "injury"
        and e.details.get("injury_kind") == "bruise"
        and within(e, rule["window_days"])
        and (
            child.not_independently_mobile
            if child.not_independently_mobile is not None
            else _age_months(child.date_of_birth, e.occurred_on) < rule["under_months"]
        )
    ]
    if bruises:
        add(
            "non_mobile_bruising",
            "Bruising on a baby who is not independently mobile: refer to children's social "
            "care and seek a same-day paediatric opinion, whatever the explanation",
            [e.ref for e in bruises],
            rule["points"],
            "non_mobile_bruising",
            rule["min_level"],
        )
    rule = r["injury_explanation_inconsistent"]
    inconsistent = [
        e
        for e in live
        if e.type == "injury" and e.details.get("explanation_consistent") is False and within(e, rule["window_days"])
    ]
    if inconsistent:
        add(
            "injury_explanation_inconsistent",
            "An injury whose explanation does not fit it",
            [e.ref for e in inconsistent],
            rule["points"],
            "injury_explanation_inconsistent",
            rule["min_level"],
        )
    rule = r["delayed_presentation"]
    delayed = [
        e
        for e in live
        if e.type in {"injury", "emergency_department_attendance"}
        and isinstance(e.details.get("delay_hours"), (int, float))
        and e.details["delay_hours"] >= rule["delay_hours"]
        and within(e, rule["window_days"])
    ]
    if delayed:
        add(
            "delayed_presentation",
            f"An injury brought for care {rule['delay_hours']:g} hours or more after it happened",
            [e.ref for e in delayed],
            rule["points"],
            "delayed_presentation",
        )

    # --- domestic abuse --------------------------------------------------------------------------
    rule = r["high_risk_domestic_abuse"]
    high_risk = [
        e
        for e in live
        if within(e, rule["window_days"])
        and (
            e.details.get("weapon") is True
            or e.details.get("strangulation") is True
            or e.details.get("threats_to_kill") is True
            or (isinstance(e.details.get("dash_score"), int) and e.details["dash_score"] >= rule["dash_score"])
        )
    ]
    if high_risk:
        add(
            "high_risk_domestic_abuse",
            "High-risk domestic abuse markers (weapon, strangulation, threats to kill, "
            f"or a DASH score of {rule['dash_score']} or more)",
            [e.ref for e in high_risk],
            rule["points"],
            "high_risk_domestic_abuse",
            rule["min_level"],
        )
    rule = r["repeat_domestic_abuse"]
    incidents = [e for e in live if e.type == "domestic_abuse_incident" and within(e, rule["window_days"])]
    if len(incidents) >= rule["count"]:
        add(
            "repeat_domestic_abuse",
            f"{len(incidents)} domestic abuse incidents within "
            f"{_months(rule['window_days'])}: consider a MARAC referral",
            [e.ref for e in incidents],
            rule["points"],
            "repeat_domestic_abuse",
            rule["min_level"],
        )

    # --- the toxic trio --------------------------------------------------------------------------
    rule = r["toxic_trio"]
    trio: dict[str, list[str]] = {"domestic_abuse": [], "mental_health": [], "substance_misuse": []}
    for e in live:
        if not within(e, rule["window_days"]):
            continue
        codes = set(e.factors) | set(e.people_factors)
        if e.type in {"domestic_abuse_incident", "marac"} or codes & DOMESTIC_ABUSE_FACTORS:
            trio["domestic_abuse"].append(e.ref)
        if e.type == "parental_mental_health_concern" or codes & MENTAL_HEALTH_FACTORS:
            trio["mental_health"].append(e.ref)
        if e.type == "parental_substance_misuse_concern" or codes & SUBSTANCE_FACTORS:
            trio["substance_misuse"].append(e.ref)
    present = [k for k, refs in trio.items() if refs]
    evidence = [refs[-1] for refs in trio.values() if refs]
    words = {
        "domestic_abuse": "domestic abuse",
        "mental_health": "parental mental ill health",
        "substance_misuse": "parental substance misuse",
    }
    if len(present) == 3:
        add(
            "toxic_trio",
            "Domestic abuse, parental mental ill health and parental substance misuse all evidenced "
            f"within {_months(rule['window_days'])}",
            evidence,
            rule["three_points"],
            "toxic_trio",
            rule["min_level"],
        )
    elif len(present) == 2:
        add(
            "toxic_trio_two",
            f"Two of the toxic trio evidenced within {_months(rule['window_days'])}: "
            f"{words[present[0]]} and {words[present[1]]}",
            evidence,
            rule["two_points"],
        )

    # --- neglect and engagement ------------------------------------------------------------------
    rule = r["cumulative_neglect"]
    kinds: dict[str, list[str]] = defaultdict(list)
    neglect_points = 0.0
    for e in concerns:
        if not within(e, rule["window_days"]):
            continue
        kind = NEGLECT_KINDS.get(e.type) or ("neglect recorded" if "16A" in e.factors else None)
        if kind:
            kinds[kind].append(e.ref)
            neglect_points += type_w.get(e.type, 0.0) + factor_w.get("16A", 0.0) * ("16A" in e.factors)
            if e.type == "school_absence":
                neglect_points += policy.low_attendance_points
    if len(kinds) >= rule["kinds"] and neglect_points >= rule["threshold"]:
        add(
            "cumulative_neglect",
            f"Neglect shown {len(kinds)} ways within {_months(rule['window_days'])} "
            f"({', '.join(sorted(kinds))}): low-level concerns adding up",
            [ref for refs in kinds.values() for ref in refs],
            rule["points"],
            "cumulative_neglect",
            rule["min_level"],
        )

    on_plan = _current_plan_level(live) >= 3
    rule = r["was_not_brought_pattern"]
    wnb = [e for e in live if e.type == "was_not_brought"]
    under_5 = _age_months(child.date_of_birth, as_of) < 60
    pattern = None
    recent = [e for e in wnb if within(e, rule["under_5_window_days"])]
    if under_5 and len(recent) >= rule["under_5_count"]:
        pattern = (
            recent,
            f"{len(recent)} appointments a child under 5 was not brought to within "
            f"{_months(rule['under_5_window_days'])}",
        )
    year = [e for e in wnb if within(e, rule["window_days"])]
    if pattern is None and len(year) >= rule["count"]:
        pattern = (year, f"{len(year)} appointments not brought to within {_months(rule['window_days'])}")
    plan_missed = [e for e in wnb if within(e, rule["on_plan_window_days"])]
    if pattern is None and on_plan and len(plan_missed) >= rule["on_plan_count"]:
        pattern = (plan_missed, "A child on a plan was not brought to an appointment: a contact failure")
    if pattern:
        add(
            "was_not_brought_pattern",
            pattern[1],
            [e.ref for e in pattern[0]],
            rule["points"],
            "was_not_brought_pattern",
        )

    rule = r["no_access"]
    no_access = [e for e in live if e.type == "no_access_visit" and within(e, rule["window_days"])]
    if no_access:
        repeat = [e for e in no_access if within(e, rule["repeat_window_days"])]
        if len(repeat) >= rule["repeat_count"]:
            add(
                "no_access",
                f"{len(repeat)} visits within {_months(rule['repeat_window_days'])} where the child could not be seen",
                [e.ref for e in repeat],
                rule["repeat_points"],
                "no_access",
            )
        else:
            add(
                "no_access",
                "A visit where the child could not be seen",
                [e.ref for e in no_access],
                rule["points"],
                "no_access",
            )

    # --- adolescents: going missing --------------------------------------------------------------
    rule = r["missing_return_interview_overdue"]
    overdue = []
    for e in live:
        if e.type != "missing_episode" or not within(e, rule["window_days"]):
            continue
        returned = _date(e.details.get("returned_on")) or e.occurred_on
        due = returned.toordinal() + rule["hours"] // 24
        interviewed = any(x.type == "return_home_interview" and x.occurred_on >= returned for x in live)
        if not interviewed and today > due:
            overdue.append(e.ref)
    if overdue:
        add(
            "missing_return_interview_overdue",
            f"A return home interview was due within {rule['hours']} hours of the child's return and none is recorded",
            overdue,
            rule["points"],
            "missing_return_interview_overdue",
            rule["min_level"],
        )

    # --- the pattern across agencies and time ----------------------------------------------------
    rule = r["multi_agency_pattern"]
    agencies: dict[str, list[str]] = defaultdict(list)
    for e in concerns:
        if within(e, rule["window_days"]):
            agencies[e.agency].append(e.ref)
    if len(agencies) >= rule["agencies"]:
        add(
            "multi_agency_pattern",
            f"Concerns from {len(agencies)} different agencies within "
            f"{_months(rule['window_days'])}: pieces of one picture",
            [refs[-1] for refs in agencies.values()],
            rule["points"],
            "multi_agency_pattern",
        )

    rule = r["rising_concern"]
    recent = [e for e in concerns if within(e, rule["recent_days"])]
    prior = [
        e
        for e in concerns
        if rule["recent_days"] < today - e.occurred_on.toordinal() <= rule["recent_days"] + rule["prior_days"]
    ]
    if len(recent) >= rule["min_recent"]:
        recent_rate = len(recent) / rule["recent_days"]
        prior_rate = len(prior) / rule["prior_days"]
        if recent_rate >= rule["ratio"] * prior_rate:
            add(
                "rising_concern",
                f"{len(recent)} concerns in the last {rule['recent_days']} days, at least "
                f"{rule['ratio']:g} times the rate before",
                [e.ref for e in recent],
                rule["points"],
                "rising_concern",
            )

    # The child unseen: only where the concerns already add up to early help or more, since agencies
    # record the notable rather than every sighting of an ordinary child.
    rule = r["child_not_seen"]
    recent_concerns = [e for e in concerns if within(e, rule["concern_window_days"])]
    concern_level = max(policy.level_for(sum(reason.points for reason in reasons)), min_level)
    if recent_concerns and live and concern_level >= 2:
        seen = [e for e in live if e.child_seen]
        since = seen[-1].occurred_on if seen else live[0].occurred_on
        limit = rule["under_5_days"] if under_5 else rule["over_5_days"]
        gap = today - since.toordinal()
        if gap > limit:
            text = (
                f"No professional has recorded seeing the child for {gap} days "
                f"(since {since:%-d %B %Y}) while concerns are open"
            )
            add("child_not_seen", text, [seen[-1].ref] if seen else [], rule["points"], "child_not_seen")

    # --- closing while risk remains, and the gap to the last decision ----------------------------
    score = sum(reason.points for reason in reasons)
    level = max(policy.level_for(score), min_level)
    rule = r["closed_with_unresolved_risk"]
    closures = [
        e
        for e in live
        if within(e, rule["window_days"])
        and (e.type in {"case_closed", "plan_end"} or e.details.get("outcome") in CLOSURE_OUTCOMES)
    ]
    if closures:
        last = closures[-1]
        reopened = any(x.occurred_on > last.occurred_on and (x.type in {"plan_start", "referral"}) for x in live)
        if not reopened and (level >= rule["min_level_before"] or flags):
            add(
                "closed_with_unresolved_risk",
                "The case was closed or support ended while indicators remained high",
                [last.ref],
                rule["points"],
                "closed_with_unresolved_risk",
                rule["min_level"],
            )
            score = sum(reason.points for reason in reasons)
            level = max(policy.level_for(score), min_level)
    decision = _latest_decision(live)
    if decision is not None and level > decision[0]:
        add(
            "decision_gap",
            f"The indicated level ({level}) is above the latest recorded professional decision (level {decision[0]})",
            [decision[1]],
            r["decision_gap"]["points"],
            "decision_gap",
        )
        score = sum(reason.points for reason in reasons)
        level = max(policy.level_for(score), min_level)

    return Assessment(
        child=child.ref,
        as_of=as_of,
        policy=policy.label,
        level=level,
        level_name=policy.level_name(level),
        score=round(score, 6),
        toxic_trio={k: bool(v) for k, v in trio.items()},
        flags=tuple(flags),
        reasons=tuple(reasons),
    )


def _ordinary_injury(e: EventFacts, child: ChildFacts, policy: Policy) -> bool:
    """A mobile child's injury, explained consistently and brought promptly: ordinary childhood."""
    r = policy.rules
    if e.details.get("explanation_consistent") is not True:
        return False
    delay = e.details.get("delay_hours")
    if isinstance(delay, (int, float)) and delay >= r["delayed_presentation"]["delay_hours"]:
        return False
    not_mobile = (
        child.not_independently_mobile
        if child.not_independently_mobile is not None
        else _age_months(child.date_of_birth, e.occurred_on) < r["non_mobile_bruising"]["under_months"]
    )
    return not not_mobile


def _months(days: int) -> str:
    months = round(days / 30.4)
    if months >= 12 and months % 12 == 0:
        return "12 months" if months == 12 else f"{months // 12} years"
    return f"{months} months"


def _date(value) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _current_plan_level(live: list[EventFacts]) -> int:
    current: dict[str, int] = {}
    for e in live:
        plan = e.details.get("plan")
        if plan in PLAN_LEVEL:
            if e.type == "plan_end":
                current.pop(plan, None)
            elif e.type in {"plan_start", "child_protection_conference"}:
                current[plan] = PLAN_LEVEL[plan]
    return max(current.values(), default=1)


def _latest_decision(live: list[EventFacts]) -> tuple[int, str] | None:
    """The level of the latest recorded professional decision: an outcome or a plan."""
    latest = None
    for e in live:
        outcome = e.details.get("outcome")
        plan = e.details.get("plan")
        if outcome in DECISION_LEVEL:
            latest = (DECISION_LEVEL[outcome], e.ref)
        elif plan in PLAN_LEVEL and e.type in {"plan_start", "child_protection_conference"}:
            latest = (PLAN_LEVEL[plan], e.ref)
        elif plan in PLAN_LEVEL and e.type == "plan_end":
            latest = (1, e.ref)
    return latest
