from __future__ import annotations

import io
import json

import pytest
from django.contrib.auth import authenticate as django_authenticate
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from agencies.demo import DEMO_PASSWORD, USERS
from agencies.models import Agency, Area, Role, RoleGrant, User
from agencies.passwords import NotDemoPasswordValidator
from tests.helpers import SHARED


def authenticate(**credentials):
    return django_authenticate(RequestFactory().post("/sign-in"), **credentials)


@pytest.fixture
def seeded(db):
    call_command("seed_demo", "--no-long", stdout=io.StringIO())


def test_seed_creates_northshire_with_every_scenario_agency(seeded):
    scenario_files = sorted((SHARED / "scenarios").glob("*.json"))
    agency_codes = {
        agency["code"]
        for path in scenario_files
        if path.name != "expect.json"
        for agency in json.loads(path.read_text())["agencies"]
    }
    assert scenario_files, f"the shared scenarios were not found at {SHARED / 'scenarios'}"
    northshire = Area.objects.get(name="Northshire")
    assert agency_codes <= set(Agency.objects.filter(area=northshire).values_list("code", flat=True))
    # and a few more than the scenarios use, including a neighbouring area
    assert Agency.objects.count() > len(agency_codes)
    assert Area.objects.exclude(pk=northshire.pk).exists()


def test_seed_has_a_demo_user_for_every_role(seeded):
    granted = set(RoleGrant.objects.values_list("role", flat=True))
    assert granted == set(Role.values)
    assert User.objects.filter(is_demo=True).count() == len(USERS)


def test_seed_twice_changes_nothing_and_mends_a_changed_password(seeded):
    counts = (Area.objects.count(), Agency.objects.count(), User.objects.count(), RoleGrant.objects.count())
    user = User.objects.get(username="hv.practitioner")
    user.set_password("something-else-entirely")
    user.save()
    call_command("seed_demo", "--no-long", stdout=io.StringIO())
    assert (Area.objects.count(), Agency.objects.count(), User.objects.count(), RoleGrant.objects.count()) == counts
    assert authenticate(username="hv.practitioner", password=DEMO_PASSWORD) is not None


def test_seed_prints_the_log_ins(db, capsys):
    call_command("seed_demo", "--no-long")
    out = capsys.readouterr().out
    assert DEMO_PASSWORD in out
    for spec in USERS:
        assert spec.username in out


def test_demo_accounts_cannot_sign_in_where_demo_is_disabled(seeded, settings):
    assert authenticate(username="social.worker", password=DEMO_PASSWORD) is not None
    settings.JIGSAW_DEMO_ENABLED = False
    assert authenticate(username="social.worker", password=DEMO_PASSWORD) is None
    with pytest.raises(CommandError, match="Demo data is refused"):
        call_command("seed_demo")


def test_demo_password_validator_refuses_the_demo_password():
    validator = NotDemoPasswordValidator()
    with pytest.raises(Exception, match="published demo password"):
        validator.validate(DEMO_PASSWORD.upper())
    validator.validate("a different and long passphrase")


def test_seed_imports_the_scenarios_and_a_long_chronology_with_involvements(db):
    from agencies.models import Involvement
    from chronology.models import ChildIdentifier, Event

    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    scenario_refs = {
        child["ref"]
        for path in (SHARED / "scenarios").glob("s*.json")
        for child in json.loads(path.read_text())["children"]
    }
    imported = set(ChildIdentifier.objects.filter(source="public-scenarios").values_list("ref", flat=True))
    assert imported == scenario_refs
    jayden = ChildIdentifier.objects.get(source="jigsaw-demo", ref="jayden").child
    assert Event.objects.filter(child=jayden).count() >= 2000
    assert Event.objects.filter(child=jayden).values("agency").distinct().count() == 12
    assert Involvement.objects.filter(child=jayden, practitioner__username="school.practitioner").exists()
    assert "Scenario families imported" in out.getvalue()
    counts = (Event.objects.count(), Involvement.objects.count())
    call_command("seed_demo", stdout=io.StringIO())
    assert (Event.objects.count(), Involvement.objects.count()) == counts
