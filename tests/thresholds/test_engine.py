"""The engine on its own: plain data in, an explained assessment out. Properties hold for any input."""

from __future__ import annotations

import copy
import json
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thresholds.engine import ChildFacts, EventFacts, PolicyError, assess, default_policy, policy_from_document
from thresholds.engine.policy import DEFAULT_PATH

POLICY = default_policy()
TYPES = [
    "domestic_abuse_incident",
    "injury",
    "presentation_concern",
    "home_conditions_concern",
    "was_not_brought",
    "no_access_visit",
    "missing_episode",
    "return_home_interview",
    "school_absence",
    "health_contact",
    "home_visit",
    "parental_mental_health_concern",
    "parental_substance_misuse_concern",
    "case_closed",
    "assessment",
    "plan_start",
    "referral",
    "behaviour_concern",
]
FACTORS = ["3B", "4B", "2B", "1C", "16A", "10A", "11A", "6A", "14A"]
START = date(2018, 1, 1)

details = st.fixed_dictionaries(
    {},
    optional={
        "injury_kind": st.sampled_from(["bruise", "burn", "laceration"]),
        "explanation_consistent": st.booleans(),
        "delay_hours": st.integers(0, 72),
        "weapon": st.booleans(),
        "dash_score": st.integers(0, 24),
        "returned_on": st.dates(START, date(2024, 12, 31)).map(date.isoformat),
        "attendance_percent": st.integers(50, 100),
        "outcome": st.sampled_from(["early_help", "cin", "no_further_action", "non_engagement"]),
        "plan": st.sampled_from(["cin", "cp"]),
    },
)


@st.composite
def histories(draw, min_size=0):
    n = draw(st.integers(min_size, 25))
    events = []
    for i in range(n):
        events.append(
            EventFacts(
                ref=f"e{i}",
                occurred_on=draw(st.dates(START, date(2024, 12, 31))),
                agency=draw(st.sampled_from(["police", "gp", "school", "hv", "housing"])),
                type=draw(st.sampled_from(TYPES)),
                factors=tuple(draw(st.lists(st.sampled_from(FACTORS), max_size=3, unique=True))),
                child_seen=draw(st.sampled_from([True, False, None])),
                source=draw(st.sampled_from(["practitioner", "neighbour", "parent"])),
                details=draw(details),
            )
        )
    return events


children = st.builds(
    ChildFacts,
    ref=st.just("c"),
    date_of_birth=st.dates(date(2005, 1, 1), date(2024, 6, 1)),
    not_independently_mobile=st.sampled_from([None, True, False]),
)
as_of_dates = st.dates(date(2019, 1, 1), date(2025, 12, 31))


@settings(max_examples=150, deadline=None)
@given(children, histories(), as_of_dates, st.randoms(use_true_random=False))
def test_order_of_arrival_does_not_matter(child, events, as_of, random):
    shuffled = list(events)
    random.shuffle(shuffled)
    assert assess(child, events, as_of, POLICY).as_dict() == assess(child, shuffled, as_of, POLICY).as_dict()


@settings(max_examples=150, deadline=None)
@given(children, histories(), as_of_dates)
def test_events_after_the_as_of_date_change_nothing(child, events, as_of):
    before = [e for e in events if e.occurred_on <= as_of]
    assert assess(child, events, as_of, POLICY).as_dict() == assess(child, before, as_of, POLICY).as_dict()


@settings(max_examples=200, deadline=None)
@given(
    children,
    histories(),
    as_of_dates,
    st.sampled_from(
        ["domestic_abuse_incident", "presentation_concern", "injury", "was_not_brought", "missing_episode"]
    ),
)
def test_adding_a_concern_never_lowers_the_level(child, events, as_of, kind):
    concern = EventFacts(ref="added", occurred_on=as_of, agency="police", type=kind, factors=("16A",))
    before = assess(child, events, as_of, POLICY)
    after = assess(child, [*events, concern], as_of, POLICY)
    assert after.level >= before.level


@settings(max_examples=150, deadline=None)
@given(children, histories(min_size=1), as_of_dates)
def test_the_score_is_the_sum_of_the_points_and_every_reason_names_events_it_was_given(child, events, as_of):
    result = assess(child, events, as_of, POLICY)
    assert result.score == pytest.approx(sum(r.points for r in result.reasons))
    assert 1 <= result.level <= 4
    refs = {e.ref for e in events if e.occurred_on <= as_of}
    for reason in result.reasons:
        assert set(reason.events) <= refs
    json.dumps(result.as_dict())  # the contract output always serialises


@settings(max_examples=100, deadline=None)
@given(children, histories(min_size=1), as_of_dates, st.data())
def test_an_amendment_replaces_what_it_supersedes(child, events, as_of, data):
    original = data.draw(st.sampled_from(events))
    replacement = EventFacts(
        ref="fix",
        occurred_on=original.occurred_on,
        agency=original.agency,
        type="home_visit",
        amends=original.ref,
        amendment_kind="correction",
    )
    amended = assess(child, [*events, replacement], as_of, POLICY)
    without = [e for e in events if e.ref != original.ref]
    plain = EventFacts(ref="fix", occurred_on=original.occurred_on, agency=original.agency, type="home_visit")
    assert amended.as_dict() == assess(child, [*without, plain], as_of, POLICY).as_dict()
    withdrawn = EventFacts(
        ref="fie",
        occurred_on=original.occurred_on,
        agency=original.agency,
        type="other",
        amends=original.ref,
        amendment_kind="filed_in_error",
    )
    assert (
        assess(child, [*events, withdrawn], as_of, POLICY).as_dict() == assess(child, without, as_of, POLICY).as_dict()
    )


def test_time_driven_rules_follow_the_as_of_date():
    child = ChildFacts("c", date(2009, 3, 3))
    missing = EventFacts(
        "m", date(2025, 3, 1), "police", "missing_episode", ("10A",), details={"returned_on": "2025-03-01"}
    )
    assert "missing_return_interview_overdue" not in assess(child, [missing], date(2025, 3, 4), POLICY).flags
    assert "missing_return_interview_overdue" in assess(child, [missing], date(2025, 3, 5), POLICY).flags
    interview = EventFacts("r", date(2025, 3, 3), "eh", "return_home_interview", details={"within_72h": True})
    assert "missing_return_interview_overdue" not in assess(child, [missing, interview], date(2025, 3, 9), POLICY).flags


def test_high_risk_markers_and_injuries_flag_and_raise_the_level():
    child = ChildFacts("c", date(2015, 1, 1))
    strangled = EventFacts(
        "d", date(2024, 5, 1), "police", "domestic_abuse_incident", ("3B",), details={"strangulation": True}
    )
    result = assess(child, [strangled], date(2024, 5, 2), POLICY)
    assert "high_risk_domestic_abuse" in result.flags and result.level >= 3
    dash = EventFacts("d2", date(2024, 5, 1), "police", "domestic_abuse_incident", details={"dash_score": 14})
    assert "high_risk_domestic_abuse" in assess(child, [dash], date(2024, 5, 2), POLICY).flags
    low_dash = EventFacts("d3", date(2024, 5, 1), "police", "domestic_abuse_incident", details={"dash_score": 13})
    assert "high_risk_domestic_abuse" not in assess(child, [low_dash], date(2024, 5, 2), POLICY).flags
    odd = EventFacts(
        "i", date(2024, 5, 1), "ed", "injury", details={"injury_kind": "burn", "explanation_consistent": False}
    )
    late = EventFacts(
        "j",
        date(2024, 5, 1),
        "ed",
        "injury",
        details={"injury_kind": "fracture", "delay_hours": 30, "explanation_consistent": True},
    )
    assert "injury_explanation_inconsistent" in assess(child, [odd], date(2024, 5, 2), POLICY).flags
    assert "delayed_presentation" in assess(child, [late], date(2024, 5, 2), POLICY).flags


def test_a_recorded_mobility_overrides_the_age_rule():
    bruise = EventFacts("b", date(2024, 9, 1), "gp", "injury", details={"injury_kind": "bruise"})
    crawling_early = ChildFacts("c", date(2024, 4, 1), not_independently_mobile=False)
    older_not_mobile = ChildFacts("c", date(2023, 4, 1), not_independently_mobile=True)
    assert "non_mobile_bruising" not in assess(crawling_early, [bruise], date(2024, 9, 2), POLICY).flags
    assert "non_mobile_bruising" in assess(older_not_mobile, [bruise], date(2024, 9, 2), POLICY).flags


def test_decision_gap_compares_with_the_latest_decision():
    child = ChildFacts("c", date(2016, 1, 1))
    da = [
        EventFacts(f"d{i}", date(2024, 1, 1) + timedelta(days=30 * i), "police", "domestic_abuse_incident", ("3B",))
        for i in range(3)
    ]
    decided = EventFacts("a", date(2024, 4, 1), "eh", "assessment", details={"outcome": "early_help"})
    assert "decision_gap" in assess(child, [*da, decided], date(2024, 4, 2), POLICY).flags
    cp = EventFacts("p", date(2024, 4, 5), "csc", "plan_start", details={"plan": "cp"})
    assert "decision_gap" not in assess(child, [*da, decided, cp], date(2024, 4, 6), POLICY).flags


# --- policy documents --------------------------------------------------------------------------------


def default_document() -> dict:
    return json.loads(DEFAULT_PATH.read_text())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["rules"]["toxic_trio"].pop("window_days"), "rules.toxic_trio.window_days: is required"),
        (
            lambda d: d["rules"]["toxic_trio"].update(window_days=0),
            "rules.toxic_trio.window_days: must be a whole number of 1 or more",
        ),
        (lambda d: d["weights"]["factors"].update({"99Z": 3}), "weights.factors.99Z: is not a factor code"),
        (lambda d: d["levels"][2].update(min_score=5), "levels[2].min_score: must be above the level below's"),
        (lambda d: d["recency"].update(floor=2), "recency.floor: must be between 0 and 1"),
        (lambda d: d["rules"].update(made_up={}), "rules.made_up: is not a rule this version knows"),
        (
            lambda d: d["rules"]["non_mobile_bruising"].update(min_level=5),
            "rules.non_mobile_bruising.min_level: must be a level from 1 to 4",
        ),
        (lambda d: d.update(version="two"), "version: must be a whole number"),
    ],
)
def test_an_invalid_policy_is_refused_naming_the_key(change, message):
    document = default_document()
    change(document)
    with pytest.raises(PolicyError) as refused:
        policy_from_document(document)
    assert str(refused.value) == message


def test_the_default_policy_loads_and_names_its_version():
    policy = policy_from_document(copy.deepcopy(default_document()))
    assert policy.label == "default/1"
    assert [name for _, name, _ in policy.levels] == [
        "Universal",
        "Early help",
        "Targeted / child in need",
        "Child protection",
    ]
