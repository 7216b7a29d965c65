"""The exchange format: import (all or nothing, every problem by its place), export, and the round trip."""

from __future__ import annotations

import copy
import io
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from agencies.models import AccessChannel, AccessLog, Agency, AgencyKind, Area, AuditEntry
from chronology import signals
from chronology.exchange import SCHEMA_PATH, chronology_import, schema_problems
from chronology.models import Child, ChildIdentifier, Event, EventsVersion, Person
from chronology.refs import RefError, lookup_child_ref, resolve_actor
from tests.factories import AgencyFactory, ChildFactory
from tests.helpers import manage

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
SCENARIOS = SHARED / "scenarios"


def scenario_files() -> list[Path]:
    return sorted(p for p in SCENARIOS.glob("*.json") if p.name != "expect.json")


def load(name: str = "s01-baby-bruise.json") -> dict:
    path = SCENARIOS / name
    assert path.exists(), f"the shared scenarios were not found at {SCENARIOS}"
    return json.loads(path.read_text(encoding="utf-8"))


def counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in (Child, ChildIdentifier, Event, Person, Agency, Area, AuditEntry)}


def run(command: str, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def import_doc(document: dict, tmp_path: Path, *args: str) -> dict:
    path = tmp_path / f"doc-{id(document)}.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    out, _ = run("import_chronology", str(path), *args)
    return json.loads(out)


def export_doc(ref: str, *args: str) -> dict:
    out, _ = run("export_chronology", ref, *args)
    return json.loads(out)


def refusal(document: dict, tmp_path: Path, *args: str) -> list[str]:
    """The refusal's problem lines; asserts nothing at all was written."""
    before = counts()
    with pytest.raises(CommandError) as raised:
        import_doc(document, tmp_path, *args)
    assert counts() == before
    return str(raised.value).splitlines()[1:]


# --- the schema ---


def test_the_projects_schema_is_the_contracts_schema():
    shared = SHARED / "contracts" / "chronology-exchange.schema.json"
    if not shared.exists():
        pytest.skip(f"the shared contract is not at {shared}")
    assert SCHEMA_PATH.read_bytes() == shared.read_bytes()


# --- import ---


def test_import_prints_only_its_summary_and_writes_the_document(db, tmp_path):
    summary = import_doc(load(), tmp_path)
    assert summary == {
        "source": "public-scenarios",
        "areas": {"created": 1},
        "agencies": {"created": 12, "unchanged": 0},
        "children": {"created": 1, "linked": 0, "unchanged": 0},
        "people": {"created": 0, "linked": 0, "unchanged": 0},
        "events": {"created": 2, "unchanged": 0},
        "match_candidates": 0,
    }
    ruby = ChildIdentifier.objects.get(source="public-scenarios", ref="ruby")
    assert ruby.record == load()["children"][0]
    assert ruby.child.area.name == "Northshire" and ruby.child.not_independently_mobile_recorded is None
    event = Event.objects.get(ref="ruby-e2")
    assert event.source_system == "public-scenarios" and event.recorded_by_user is None
    assert "recorded_at" not in event.given_fields and "child_seen" in event.given_fields
    assert AuditEntry.objects.filter(action="import", child=ruby.child).count() == 1


def test_reimport_changes_nothing(db, tmp_path):
    document = load("s02-toxic-trio.json")
    import_doc(document, tmp_path)
    before = counts()
    versions = list(EventsVersion.objects.values_list("child_id", "version"))
    assert [version for _, version in versions] == [1]  # the first import raised its child's version once
    summary = import_doc(document, tmp_path)
    assert counts() == before
    assert list(EventsVersion.objects.values_list("child_id", "version")) == versions  # nothing was added
    assert summary["events"] == {"created": 0, "unchanged": 3}
    assert summary["children"] == {"created": 0, "linked": 0, "unchanged": 1}
    assert summary["people"] == {"created": 0, "linked": 0, "unchanged": 2}


def test_every_problem_is_reported_by_place_in_order(db, tmp_path):
    document = load("s09-busy-ordinary.json")
    document["events"][12]["type"] = "dna"
    document["events"][2]["agency"] = "nowhere"
    document["children"][0]["nhs_number"] = "9991234518"
    assert refusal(document, tmp_path) == [
        "children[0].nhs_number: '9991234518' is not a valid NHS number (check digit)",
        "events[2].agency: unknown agency 'nowhere': not in the document, not stored",
        "events[12].type: unknown type 'dna'",
    ]


def _bad_schema(d):
    d["format"] = "chronology-exchange/2"
    del d["events"][1]["summary"]


def _unknown_child(d):
    d["events"][0]["child"] = "rubie"


def _unknown_amends(d):
    d["events"][1].update(amends="ruby-e9", amendment_reason="wrong date")


def _future(d):
    d["events"][0]["occurred_on"] = (timezone.localdate() + timedelta(days=2)).isoformat()


def _unknown_person(d):
    d["events"][0]["people"] = ["p1"]


def _other_childs_event(d):
    d["children"].append({"ref": "twin", "date_of_birth": "2024-01-10", "area": "Northshire"})
    d["events"].append({**d["events"][0], "ref": "t1", "child": "twin", "amends": "ruby-e1", "amendment_reason": "x"})


def _bad_upn(d):
    d["children"][0]["upn"] = "N873201700124"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_bad_schema, ["events[1].summary: required field missing", "format: must be 'chronology-exchange/1'"]),
        (_unknown_child, ["events[0].child: unknown child 'rubie'"]),
        (_unknown_amends, ["events[1].amends: unknown event 'ruby-e9' of source 'public-scenarios'"]),
        (_future, ["events[0].occurred_on: The date must be today or in the past"]),
        (_unknown_person, ["events[0].people[0]: unknown person 'p1'"]),
        (
            _other_childs_event,
            ["events[2].amends: An amendment must be recorded on the same child as the entry it corrects"],
        ),
        (_bad_upn, ["children[0].upn: 'N873201700124' is not a valid unique pupil number (check letter)"]),
    ],
)
def test_refusals_write_nothing(db, tmp_path, change, expected):
    document = load()
    change(document)
    assert refusal(document, tmp_path) == expected


def test_a_stored_agency_of_another_kind_is_refused(db, tmp_path):
    AgencyFactory(code="ns-gp", kind=AgencyKind.HOSPITAL)
    assert refusal(load(), tmp_path) == ["agencies[1].kind: agency 'ns-gp' is stored as 'hospital', not 'gp'"]


def test_a_changed_event_is_refused_on_reimport(db, tmp_path):
    import_doc(load(), tmp_path)
    document = load()
    document["events"][1]["summary"] = "Something else."
    del document["events"][0]["child_voice"]
    assert refusal(document, tmp_path) == [
        "events[0].child_voice: differs from the stored event 'public-scenarios:ruby-e1': events are never "
        "changed; send an amendment",
        "events[1].summary: differs from the stored event 'public-scenarios:ruby-e2': events are never "
        "changed; send an amendment",
    ]


def test_an_actor_without_access_is_refused(db, tmp_path, bob, kit):
    document = load()
    assert refusal(document, tmp_path, "--actor", "bob") == [
        "children[0]: 'bob' may not create a child record here: only the system account or a safeguarding "
        "lead for the child's area can"
    ]
    document["children"][0]["nhs_number"] = kit.nhs_number  # now it links to kit, whom bob does not work with
    assert refusal(document, tmp_path, "--actor", "bob") == [
        "children[0]: 'bob' may not record information for this child"
    ]


def test_the_area_lead_creates_children_and_alice_adds_to_kit(db, tmp_path, lead, alice, kit):
    assert import_doc(load(), tmp_path, "--actor", "lead")["children"]["created"] == 1
    kit.date_of_birth = date(2017, 2, 14)  # the same child as the health visiting system's
    kit.save()
    document = load("s06-ordinary.json")
    document["source"] = "health-visiting"
    document["children"][0]["nhs_number"] = "999 123 4519"
    assert import_doc(document, tmp_path, "--actor", "alice")["children"]["linked"] == 1


def test_an_nhs_number_links_another_sources_child(db, tmp_path, kit):
    document = load("s02-toxic-trio.json")
    document["source"] = "gp-system"
    document["children"][0]["nhs_number"] = "999 123 4519"
    before = Child.objects.count()
    summary = import_doc(document, tmp_path)
    assert summary["children"]["linked"] == 1
    assert Child.objects.count() == before
    identifier = ChildIdentifier.objects.get(source="gp-system")
    assert identifier.child == kit and identifier.record["nhs_number"] == "999 123 4519"
    assert set(Event.objects.values_list("child", flat=True)) == {kit.pk}
    assert kit.people.count() == 2


def test_signals_are_sent_once(db, tmp_path, django_capture_on_commit_callbacks):
    written, recorded = [], []

    def on_written(**kwargs):
        written.append(kwargs["child_ids"])

    def on_recorded(**kwargs):
        recorded.append(kwargs["child_ids"])

    signals.events_written.connect(on_written)
    signals.events_recorded.connect(on_recorded)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            import_doc(load(), tmp_path)
    finally:
        signals.events_written.disconnect(on_written)
        signals.events_recorded.disconnect(on_recorded)
    child = ChildIdentifier.objects.get(ref="ruby").child
    assert written == [[child.pk]] == recorded


def test_unknown_keys_absent_fields_amendments_and_null_are_kept(db, tmp_path):
    document = load()
    document["children"][0]["ethnicity_code"] = "WBRI"
    gp = next(a for a in document["agencies"] if a["code"] == "ns-gp")
    gp["ods_code"] = "X1"
    document["people"] = [{"ref": "m", "role": "mother", "children": ["ruby"], "pet": "dog"}]
    first, second = document["events"]
    first.update(people=["m"], recorded_at=None, case_number="A-1", details={"mood": "calm"})
    del first["child_voice"]
    # The amendment comes first in the document; its target is written before it.
    document["events"] = [
        {
            "ref": "fix",
            "child": "ruby",
            "occurred_on": "2024-04-03",
            "agency": "ns-gp",
            "type": "injury",
            "summary": "Bruise was on the left cheek.",
            "amends": "ruby-e2",
            "amendment_reason": "site wrong",
            "recorded_at": "2024-04-03T10:00:00+01:00",
        },
        first,
        second,
    ]
    import_doc(document, tmp_path)
    fix = Event.objects.get(ref="fix")
    assert fix.amends.ref == "ruby-e2" and fix.amendment_kind == "correction"
    exported = export_doc("public-scenarios:ruby")
    assert exported["children"][0]["ethnicity_code"] == "WBRI"
    assert Child.objects.get().extra == {"ethnicity_code": "WBRI"}
    assert next(a for a in exported["agencies"] if a["code"] == "ns-gp")["ods_code"] == "X1"
    assert exported["people"][0]["pet"] == "dog" and exported["people"][0]["children"] == ["ruby"]
    events = {e["ref"]: e for e in exported["events"]}
    assert events["fix"]["recorded_at"] == "2024-04-03T09:00:00Z" and "amendment_kind" not in events["fix"]
    assert events["ruby-e1"]["recorded_at"] is None and events["ruby-e1"]["case_number"] == "A-1"
    assert "child_voice" not in events["ruby-e1"] and events["ruby-e1"]["details"] == {"mood": "calm"}
    assert "recorded_at" in events["ruby-e2"]  # added: the import time
    before = counts()
    assert import_doc(exported, tmp_path)["events"] == {"created": 0, "unchanged": 3}
    assert counts() == before


def test_2000_events_import_in_a_bounded_number_of_queries(db, django_assert_max_num_queries):
    document = load("s09-busy-ordinary.json")
    template = document["events"][0]
    document["events"] = [{**template, "ref": f"e{n}"} for n in range(2000)]
    with django_assert_max_num_queries(60):
        summary = chronology_import(actor=resolve_actor(None), document=document)
    assert summary.counts["events"]["created"] == 2000
    with django_assert_max_num_queries(60):
        summary = chronology_import(actor=resolve_actor(None), document=document)
    assert summary.as_dict()["events"] == {"created": 0, "unchanged": 2000}


# --- the round trip ---


@pytest.mark.parametrize("path", scenario_files(), ids=lambda p: p.stem)
def test_round_trip(db, tmp_path, path):
    assert scenario_files(), f"the shared scenarios were not found at {SCENARIOS}"
    document = json.loads(path.read_text(encoding="utf-8"))
    import_doc(document, tmp_path)
    for given in document["children"]:
        exported = export_doc(f"{document['source']}:{given['ref']}")
        assert schema_problems(exported) == [], f"{path.name}: the export does not meet the schema"
        child = exported["children"][0]
        for key, value in given.items():
            assert child[key] == value, f"{path.name}: child {given['ref']}.{key}"
        events = {e["ref"]: e for e in exported["events"]}
        for event in (e for e in document["events"] if e["child"] == given["ref"]):
            for key, value in event.items():
                assert events[event["ref"]][key] == value, f"{path.name}: event {event['ref']}.{key}"
        before = counts()
        import_doc(exported, tmp_path)
        assert counts() == before, f"{path.name}: importing the export changed something"


def test_the_round_trip_found_the_scenarios():
    assert scenario_files(), f"the shared scenarios were not found at {SCENARIOS}"


# --- export ---


def test_export_refuses_a_persona_without_access_as_not_found(db, bob, kit):
    with pytest.raises(CommandError, match="no child 'id:"):
        export_doc(f"id:{kit.pk}", "--actor", "bob")
    assert not AccessLog.objects.exists()


def test_export_logs_the_read_and_prints_only_the_document(db, alice, kit):
    out, err = run("export_chronology", f"id:{kit.pk}", "--actor", "alice")
    assert "chronology_exported" in err or err == ""
    document = json.loads(out)
    assert document["source"] == "jigsaw" and document["children"][0]["id"] == kit.pk
    assert document["children"][0]["nhs_number"] == "9991234519"
    entry = AccessLog.objects.get()
    assert (entry.user, entry.child, entry.channel) == (alice, kit, AccessChannel.EXPORT)


def test_a_record_without_identifiers_exports_as_jigsaw_and_reimports_unchanged(db, tmp_path, alice, kit):
    from chronology.services import EventInput, event_record

    event_record(
        actor=alice,
        child=kit,
        data=EventInput(
            occurred_on=timezone.localdate(), agency=alice.agency, type="home_visit", summary="Seen at home, well."
        ),
    )
    document = export_doc(f"id:{kit.pk}")
    assert schema_problems(document) == []
    assert document["source"] == "jigsaw" and document["events"][0]["source"] == "practitioner"
    before = counts()
    assert import_doc(document, tmp_path)["events"] == {"created": 0, "unchanged": 1}
    assert counts() == before


def test_export_includes_events_of_merged_records(db, tmp_path):
    import_doc(load(), tmp_path)
    other = copy.deepcopy(load("s06-ordinary.json"))
    import_doc(other, tmp_path)
    ruby = ChildIdentifier.objects.get(ref="ruby").child
    oliver = ChildIdentifier.objects.get(ref="oliver").child
    Child.objects.filter(pk=oliver.pk).update(merged_into=ruby)
    refs = {e["ref"] for e in export_doc("ruby")["events"]}
    assert {"ruby-e1", "ruby-e2"} < refs and len(refs) == 5


def test_child_refs(db, tmp_path):
    import_doc(load(), tmp_path)
    ruby = ChildIdentifier.objects.get(ref="ruby").child
    assert lookup_child_ref("public-scenarios:ruby").child == ruby
    assert lookup_child_ref("ruby").source == "public-scenarios"
    assert lookup_child_ref(f"id:{ruby.pk}").child == ruby
    ChildIdentifier.objects.create(child=ChildFactory(), source="other", ref="ruby")
    with pytest.raises(RefError, match="more than one source"):
        lookup_child_ref("ruby")
    with pytest.raises(RefError, match="no user 'nobody'"):
        resolve_actor("nobody")


# --- exit codes, in a fresh interpreter ---


def test_exit_codes_and_streams(tmp_path):
    usage = manage("import_chronology")
    assert usage.returncode == 2 and usage.stdout == ""
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    refused = manage("import_chronology", str(broken))
    assert refused.returncode == 1 and refused.stdout == ""
    assert "not valid JSON" in refused.stderr


def test_each_source_is_kept_with_the_agencies_whose_events_it_sent(db, tmp_path):
    # The pairs an agency's key is checked against ("is this source another agency's system?"), one row each
    # however many events, and the same pairs as the events themselves.
    from chronology.models import SourceAgency

    import_doc(load(), tmp_path)
    import_doc(load(), tmp_path)  # nothing new: nothing repeated
    stored = set(Event.objects.order_by().values_list("source_system", "agency_id").distinct())
    assert len(stored) >= 2
    assert set(SourceAgency.objects.values_list("source", "agency_id")) == stored
    assert SourceAgency.objects.count() == len(stored)
