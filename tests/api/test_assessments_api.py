"""A child's indicated level through the API: the latest snapshot, one as of a date, the timeline, as strictly
as the browser (404 for who may not read, restricted entries shown only as the chronology shows them)."""

from __future__ import annotations

import datetime
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from agencies.models import AccessLog
from agencies.policy import system_user
from chronology.services import EventInput, event_record
from tests.api.conftest import AgencySystem
from thresholds.services import child_reassess, latest_assessment

BORN = datetime.date(2025, 1, 1)
BRUISED = datetime.date(2025, 3, 12)  # ten weeks old: not independently mobile

CONTRACT_KEYS = {
    "child",
    "as_of",
    "policy",
    "level",
    "level_name",
    "indicated",
    "score",
    "toxic_trio",
    "flags",
    "reasons",
}


def assessment_url(child) -> str:
    return reverse("api-assessment", args=[child.pk])


def timeline_url(child) -> str:
    return reverse("api-timeline", args=[child.pk])


def bruise(child, agency, *, on=BRUISED, sharing="all", summary="Bruise on the cheek of a ten-week-old baby."):
    return event_record(
        actor=system_user(),
        child=child,
        data=EventInput(
            occurred_on=on,
            agency=agency,
            type="injury",
            summary=summary,
            details={"injury_kind": "bruise"},
            sharing=sharing,
        ),
    )


@pytest.fixture
def baby(kit, alice, eager):
    """kit as a baby of ten weeks with a bruise recorded by alice's agency, re-assessed as the platform does."""
    kit.date_of_birth = BORN
    kit.save()
    event = bruise(kit, alice.agency)
    child_reassess(child_id=kit.pk)
    return event


def assess_json(child, *args, actor: str = "alice") -> object:
    """What `assess --json` prints for the child."""
    out = StringIO()
    call_command("assess", f"id:{child.pk}", "--json", "--actor", actor, *args, stdout=out)
    return json.loads(out.getvalue())


def test_the_current_assessment_is_the_latest_snapshot_in_the_shape_of_assess_json(system_a, alice, kit, baby):
    response = system_a.get(assessment_url(kit), acting=alice)
    assert response.status_code == 200, response.content
    body = response.json()
    snapshot = latest_assessment(kit)
    assert set(body) >= CONTRACT_KEYS and body["indicated"] is True
    assert body["child"] == str(kit.pk)
    assert (body["level"], body["level_name"], body["flags"]) == (snapshot.level, snapshot.level_name, snapshot.flags)
    assert body["assessed_at"] is not None and body["as_of"] == snapshot.as_of.isoformat()
    assert body["score"] == pytest.approx(sum(reason["points"] for reason in body["reasons"]))
    # The same document the command prints for today, entry for entry.
    printed = assess_json(kit)
    assert {k: body[k] for k in CONTRACT_KEYS - {"reasons"}} == {k: printed[k] for k in CONTRACT_KEYS - {"reasons"}}
    assert [(r["rule"], r["events"], r["points"]) for r in body["reasons"]] == [
        (r["rule"], r["events"], r["points"]) for r in printed["reasons"]
    ]
    entry = AccessLog.objects.get(child=kit, channel="api")
    assert (entry.user, entry.api_key_id, entry.what) == (alice, system_a.api_key.pk, "indicated level (API)")


def test_a_child_never_assessed_is_assessed_for_the_answer_and_nothing_is_stored(system_a, alice, kit):
    response = system_a.get(assessment_url(kit), acting=alice)
    assert response.status_code == 200, response.content
    assert response.json()["assessed_at"] is None and response.json()["level"] == 1
    assert latest_assessment(kit) is None


def test_as_of_a_date_the_level_is_what_was_recorded_by_then(system_a, alice, kit, baby):
    before = system_a.get(assessment_url(kit), acting=alice, params={"as_of": "2025-03-11"}).json()
    assert (before["level"], before["flags"], before["reasons"], before["score"]) == (1, [], [], 0.0)
    assert before["as_of"] == "2025-03-11" and before["assessed_at"] is None

    on_the_day = system_a.get(assessment_url(kit), acting=alice, params={"as_of": "2025-03-12"}).json()
    assert on_the_day["level"] == 4 and "non_mobile_bruising" in on_the_day["flags"]
    (reason,) = [r for r in on_the_day["reasons"] if r["rule"] == "non_mobile_bruising"]
    assert reason["events"] == [baby.ref]
    assert reason["entries"] == [
        {"id": baby.pk, "occurred_on": "2025-03-12", "type": "injury", "agency": alice.agency.code, "ref": baby.ref}
    ]
    assert on_the_day == {
        **assess_json(kit, "--as-of", "2025-03-12"),
        "assessed_at": None,
        "reasons": on_the_day["reasons"],
    }
    assert list(
        AccessLog.objects.filter(child=kit, channel="api").order_by("at", "pk").values_list("what", flat=True)
    ) == [
        "indicated level as of 2025-03-11 (API)",
        "indicated level as of 2025-03-12 (API)",
    ]
    # A day to come: what is recorded now, as it would stand then, as the command gives it.
    later = system_a.get(assessment_url(kit), acting=alice, params={"as_of": "2099-01-01"}).json()
    assert later == {**assess_json(kit, "--as-of", "2099-01-01"), "assessed_at": None, "reasons": later["reasons"]}


def test_the_timeline_shows_when_the_level_changed_up_to_until(system_a, alice, kit, baby):
    response = system_a.get(timeline_url(kit), acting=alice, params={"until": "2025-03-31"})
    assert response.status_code == 200, response.content
    rows = response.json()
    assert rows[0]["date"] == "2025-03-12" and rows[0]["level"] == 4 and "non_mobile_bruising" in rows[0]["flags"]
    assert rows == assess_json(kit, "--timeline", "--until", "2025-03-31")
    assert system_a.get(timeline_url(kit), acting=alice, params={"until": "2025-03-11"}).json() == []
    # Without until: up to today, as the command gives it.
    assert system_a.get(timeline_url(kit), acting=alice).json() == assess_json(kit, "--timeline")
    assert AccessLog.objects.filter(child=kit, what="indicated level timeline (API)").count() == 3


@pytest.mark.parametrize(
    ("name", "param", "value"),
    [
        ("api-assessment", "as_of", "12/03/2025"),
        ("api-assessment", "as_of", "2025-02-30"),
        ("api-assessment", "as_of", "2025-03"),
        ("api-timeline", "until", "yesterday"),
        ("api-timeline", "until", "2025-03-12T00:00"),
    ],
)
def test_a_date_that_cannot_be_read_is_refused_naming_it_and_nothing_is_logged(
    system_a, alice, kit, name, param, value
):
    response = system_a.get(reverse(name, args=[kit.pk]), acting=alice, params={param: value})
    assert response.status_code == 400
    assert param in response.json()
    assert not AccessLog.objects.exists()


def test_a_child_the_person_may_not_read_is_not_found_and_nothing_is_logged(system_a, system_b, ann, bob, kit, baby):
    for system, person in ((system_b, bob), (system_a, ann)):
        for url in (assessment_url(kit), timeline_url(kit)):
            for params in ({}, {"as_of": "2025-03-12"}):
                response = system.get(url, acting=person, params=params)
                assert response.status_code == 404, (person.username, url)
                assert "Kit" not in response.content.decode()
    assert system_a.get(reverse("api-assessment", args=[kit.pk + 1000]), acting=ann).status_code == 404
    assert not AccessLog.objects.exists()


def test_a_read_only_key_reads_the_assessment(system_a_read_only, alice, kit, baby):
    assert system_a_read_only.get(assessment_url(kit), acting=alice).status_code == 200
    assert system_a_read_only.get(timeline_url(kit), acting=alice).status_code == 200


def test_another_agencys_restricted_entry_is_shown_only_as_the_chronology_shows_it(
    system_a, alice, bob, lead, kit, baby
):
    secret = "Mother disclosed to the school nurse that the father grips the baby hard."
    restricted = bruise(kit, bob.agency, on=datetime.date(2025, 3, 20), sharing="restricted", summary=secret)
    params = {"as_of": "2025-03-31"}

    body = system_a.get(assessment_url(kit), acting=alice, params=params).json()
    (reason,) = [r for r in body["reasons"] if r["rule"] == "non_mobile_bruising"]
    # alice learns that the entry exists, its date, type and agency: what her chronology shows of it.
    assert [e["id"] for e in reason["entries"]] == [baby.pk, restricted.pk]
    assert reason["entries"][1] == {
        "id": restricted.pk,
        "occurred_on": "2025-03-20",
        "type": "injury",
        "agency": bob.agency.code,
        "ref": "",
    }
    assert reason["events"] == [baby.ref]
    content = json.dumps(body)
    assert restricted.ref not in content and secret not in content and "grips" not in content

    # The area's safeguarding lead reads restricted entries in full, and so is given its ref.
    lead_system = AgencySystem(lead.agency)
    body = lead_system.get(assessment_url(kit), acting=lead, params=params).json()
    (reason,) = [r for r in body["reasons"] if r["rule"] == "non_mobile_bruising"]
    assert reason["events"] == [baby.ref, restricted.ref]
    printed = assess_json(kit, "--as-of", "2025-03-31", actor="lead")
    assert reason["events"] == next(r["events"] for r in printed["reasons"] if r["rule"] == "non_mobile_bruising")
    assert [e["ref"] for e in reason["entries"]] == [baby.ref, restricted.ref]
    assert secret not in json.dumps(body)


def test_the_schema_says_a_level_is_an_indication_never_a_decision(client):
    schema = client.get(reverse("api-schema"), HTTP_ACCEPT="application/json").json()
    for path in ("/api/v1/children/{child_id}/assessment", "/api/v1/children/{child_id}/timeline"):
        assert "never decides" in schema["paths"][path]["get"]["description"]
