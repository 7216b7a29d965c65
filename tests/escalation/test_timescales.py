"""Working days and hours: bank holidays of England and Wales, weekends, and the policy document."""

from __future__ import annotations

import copy
from datetime import date, datetime, time

import pytest

from escalation.calendar import LONDON, WorkingCalendar, bank_holidays
from escalation.policy import EscalationPolicyError, default_document, default_rules, rules_from_document


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LONDON)


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        # As published by GOV.UK for England and Wales.
        (2022, ["01-03", "04-15", "04-18", "05-02", "06-02", "06-03", "08-29", "09-19", "12-26", "12-27"]),
        (2023, ["01-02", "04-07", "04-10", "05-01", "05-08", "05-29", "08-28", "12-25", "12-26"]),
        (2026, ["01-01", "04-03", "04-06", "05-04", "05-25", "08-31", "12-25", "12-28"]),
        (2027, ["01-01", "03-26", "03-29", "05-03", "05-31", "08-30", "12-27", "12-28"]),
    ],
)
def test_bank_holidays_of_england_and_wales(year, expected):
    assert sorted(d.strftime("%m-%d") for d in bank_holidays(year)) == expected


def test_one_working_day_from_friday_afternoon_is_monday_afternoon():
    calendar = WorkingCalendar()
    assert calendar.add_working_days(at("2026-11-20 14:00"), 1) == at("2026-11-23 14:00")


def test_a_bank_holiday_monday_is_skipped():
    calendar = WorkingCalendar()
    # Friday before the August bank holiday 2026 (Monday 31 August).
    assert calendar.add_working_days(at("2026-08-28 10:30"), 1) == at("2026-09-01 10:30")
    # Christmas 2026: Friday 25th and Monday 28th (Boxing Day substitute) are holidays.
    assert calendar.add_working_days(at("2026-12-24 16:00"), 1) == at("2026-12-29 16:00")


def test_out_of_hours_counts_from_the_next_working_morning():
    calendar = WorkingCalendar()
    # Friday 23:00: one working day ends at close of Monday.
    assert calendar.add_working_days(at("2026-11-20 23:00"), 1) == at("2026-11-23 17:00")
    # Saturday before a bank holiday Monday: three working days end at close of Thursday.
    assert calendar.add_working_days(at("2026-08-29 09:00"), 3) == at("2026-09-03 17:00")
    # Early on a working day: that day counts.
    assert calendar.add_working_days(at("2026-11-24 07:00"), 1) == at("2026-11-24 17:00")


def test_working_hours_and_an_areas_own_closures():
    calendar = WorkingCalendar(starts=time(9), ends=time(17), closures=frozenset({date(2026, 12, 24)}))
    assert calendar.in_working_hours(at("2026-11-23 09:00"))
    assert not calendar.in_working_hours(at("2026-11-23 17:00"))
    assert not calendar.in_working_hours(at("2026-11-21 12:00"))  # Saturday
    assert not calendar.in_working_hours(at("2026-12-25 12:00"))  # Christmas Day
    assert not calendar.in_working_hours(at("2026-12-24 12:00"))  # the area's closure
    assert calendar.add_working_days(at("2026-12-23 12:00"), 1) == at("2026-12-29 12:00")


def test_the_default_acknowledgement_times():
    rules = default_rules()
    friday = at("2026-11-20 16:00")
    assert rules.acknowledge_by("critical", friday) == at("2026-11-20 17:00")
    assert rules.acknowledge_by("high", friday) == at("2026-11-23 16:00")
    assert rules.acknowledge_by("medium", friday) == at("2026-11-25 16:00")
    assert [s.working_days for s in rules.stages[:2]] == [5, 5]
    assert rules.referral_outcome_working_days == 3


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda d: d.pop("tiers"), "tiers: missing"),
        (lambda d: d["acknowledge_within"].update(high={"days": 1}), "acknowledge_within.high"),
        (lambda d: d["acknowledge_within"]["critical"].update(hours=0), "acknowledge_within.critical.hours"),
        (lambda d: d["severity"]["flags"].update(toxic_trio="urgent"), "severity.flags.toxic_trio"),
        (lambda d: d["routing"]["to"].append("everyone"), "routing.to[2]"),
        (lambda d: d["disagreement_stages"][1].update(working_days=0), "disagreement_stages[1].working_days"),
        (lambda d: d["working_hours"].update(ends="08:00"), "working_hours.ends"),
        (lambda d: d["working_hours"].update(closures=["24/12/2026"]), "working_hours.closures[0]"),
    ],
)
def test_an_invalid_policy_is_refused_naming_the_key(change, key):
    document = copy.deepcopy(default_document())
    change(document)
    with pytest.raises(EscalationPolicyError) as refused:
        rules_from_document(document)
    assert str(refused.value).startswith(key)
