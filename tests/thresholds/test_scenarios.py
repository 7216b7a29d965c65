"""Every expectation in the shared scenarios holds, through the `assess` command as tools call it."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from chronology.exchange import chronology_import
from tests.helpers import SHARED

SCENARIOS = SHARED / "scenarios"
EXPECT = json.loads((SCENARIOS / "expect.json").read_text()) if (SCENARIOS / "expect.json").exists() else {}


def _cases():
    for ref, spec in sorted(EXPECT.items()):
        for day, want in sorted(spec["at"].items()):
            yield pytest.param(ref, day, want, id=f"{ref}-{day}")


def test_the_scenarios_are_there():
    assert EXPECT, f"the shared scenarios were not found at {SCENARIOS}"


@pytest.fixture
def scenarios(db):
    from agencies.policy import system_user

    for path in sorted(SCENARIOS.glob("s*.json")):
        chronology_import(actor=system_user(), document=json.loads(path.read_text()))


@pytest.mark.parametrize(("ref", "day", "want"), list(_cases()))
def test_expectation(scenarios, ref, day, want):
    out = io.StringIO()
    call_command("assess", f"public-scenarios:{ref}", "--as-of", day, "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert result["child"] == ref and result["as_of"] == day and result["indicated"] is True
    if "min_level" in want:
        assert result["level"] >= want["min_level"], result
    if "max_level" in want:
        assert result["level"] <= want["max_level"], result
    assert set(want.get("flags", [])) <= set(result["flags"]), result
    assert not set(want.get("not_flags", [])) & set(result["flags"]), result
    assert result["score"] == pytest.approx(sum(r["points"] for r in result["reasons"]), abs=0.15)
    for reason in result["reasons"]:
        assert reason["rule"] and reason["text"]
        assert all(isinstance(e, str) and not e.isdigit() for e in reason["events"])  # contract refs, not ids


def test_ordinary_families_stay_at_level_one_or_two_every_day(scenarios):
    """Alert fatigue is a failure too: the ordinary scenario children never pass level 2, on any date."""
    for ref in ("oliver", "jess", "noah"):
        out = io.StringIO()
        call_command("assess", f"public-scenarios:{ref}", "--timeline", "--until", "2026-06-30", "--json", stdout=out)
        rows = json.loads(out.getvalue())
        assert rows, ref
        assert max(row["level"] for row in rows) <= 2, (ref, rows)
