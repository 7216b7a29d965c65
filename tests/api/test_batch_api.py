"""Batch import through the REST API: an agency's system sends an exchange document, written as that agency, all or
nothing, in the background; its status and per-record results are for the sender and its agency only."""

from __future__ import annotations

import copy
import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from agencies.models import AuditEntry
from chronology import batch
from chronology.models import BatchImport, ChildIdentifier, Event, EventsVersion, Person, SourceAgency
from tests.api.conftest import AgencySystem
from tests.factories import involve
from thresholds.models import ReassessmentDue

CREATE = reverse("api-import-create")


def detail(job_id) -> str:
    return reverse("api-import-detail", args=[job_id])


def kit_line() -> dict:
    return {
        "ref": "c-kit",
        "given_name": "Kit",
        "family_name": "Invented",
        "date_of_birth": "2021-05-04",
        "nhs_number": "9991234519",
    }


def event(n: int, **changes) -> dict:
    line = {
        "ref": f"hv-{n}",
        "child": "c-kit",
        "occurred_on": "2024-03-01",
        "agency": "agency-a",
        "type": "home_visit",
        "summary": f"Visit {n}: Kit seen at home with mother; the flat was cold and there was little food in.",
        "child_seen": True,
        "child_voice": "Showed me her new shoes.",
    }
    return {**line, **changes}


def document(events=None, **changes) -> dict:
    return {
        "format": "chronology-exchange/1",
        "source": "agency-a-system",
        "agencies": [{"code": "agency-a", "name": "Agency A", "kind": "health_visiting"}],
        "children": [kit_line()],
        "people": [{"ref": "mum", "role": "mother", "given_name": "Mia", "children": ["c-kit"]}],
        "events": events if events is not None else [event(1), event(2, people=["mum"], factors=["16A"])],
        **changes,
    }


@pytest.fixture
def send(django_capture_on_commit_callbacks, eager):
    """Send a document and let the import run, as it does once the request's transaction commits."""

    def sending(system, body, *, acting, headers=None, raw=None):
        with django_capture_on_commit_callbacks(execute=True):
            return system.post(CREATE, body, acting=acting, headers=headers, raw=raw)

    return sending


def status_of(system, response, acting):
    assert response.status_code == 202, response.content
    found = system.get(response["Location"], acting=acting)
    assert found.status_code == 200, found.content
    return found.json()


def test_a_document_is_imported_as_the_keys_agency_and_the_acting_person(send, system_a, alice, kit):
    before = timezone.now()
    response = send(system_a, document(), acting=alice)
    assert response.status_code == 202, response.content
    queued = response.json()
    assert queued["state"] == "queued" and queued["progress"] == {"events_total": 2, "events_checked": 0}
    assert response["Location"] == detail(queued["id"])

    done = status_of(system_a, response, alice)
    assert done["state"] == "done" and done["problems"] == [] and done["finished_at"]
    assert done["progress"] == {"events_total": 2, "events_checked": 2}
    assert done["counts"]["events"] == {"created": 2, "unchanged": 0}
    assert done["counts"]["children"] == {"created": 0, "linked": 1, "unchanged": 0}
    results = done["results"]
    assert results["children"] == [{"ref": "c-kit", "outcome": "linked", "id": kit.pk}]
    mum = Person.objects.get(source="agency-a-system", ref="mum")
    assert results["people"] == [{"ref": "mum", "outcome": "created", "id": mum.pk}]
    events = {e.ref: e for e in Event.objects.filter(source_system="agency-a-system")}
    assert results["events"] == [
        {"ref": "hv-1", "outcome": "created", "id": events["hv-1"].pk},
        {"ref": "hv-2", "outcome": "created", "id": events["hv-2"].pk},
    ]
    for stored in events.values():
        assert stored.child == kit and stored.agency == alice.agency
        assert stored.recorded_by_user == alice and alice.get_full_name() in stored.recorded_by
        assert before <= stored.recorded_at <= timezone.now()
    assert list(events["hv-2"].people.all()) == [mum] and events["hv-2"].factors == ["16A"]
    assert ChildIdentifier.objects.get(source="agency-a-system", ref="c-kit").child == kit
    # One audit entry and one re-assessment due for the child, not one per event.
    audit = AuditEntry.objects.get(action="import", child=kit)
    assert audit.user == alice and audit.detail["events_created"] == 2 and audit.detail["batch_import"] == done["id"]
    assert ReassessmentDue.objects.filter(child=kit).count() == 1
    assert BatchImport.objects.get(pk=done["id"]).document == ""
    # Pages of kit's chronology kept for agencies' systems (api.reads) are now old.
    assert EventsVersion.objects.get(child=kit).version == 1


def test_sending_the_same_document_again_writes_nothing_new(send, system_a, alice, kit):
    # Every kind of value as written and read back: text that needs escaping, a date to the month, no answer,
    # details with nested values; the second import finds each event the same as the line that made it.
    lines = [
        event(1),
        event(2, people=["mum"], factors=["16A"]),
        event(
            3,
            type="injury",
            summary='Łukasz said "no"\tthen\nleft; a \\ mark; Ελένη present',
            date_precision="month",
            child_seen=None,
            child_voice="",
            significant=True,
            sharing="restricted",
            details={"injury_kind": "bruise", "injury_site": "shin — left", "explanation_consistent": None},
        ),
    ]
    first = status_of(system_a, send(system_a, document(events=lines), acting=alice), alice)
    assert first["state"] == "done", first["problems"]
    again = status_of(system_a, send(system_a, document(events=lines), acting=alice), alice)
    assert again["state"] == "done", again["problems"]
    assert again["counts"]["events"] == {"created": 0, "unchanged": 3}
    stored = Event.objects.get(ref="hv-3")
    assert stored.summary == lines[2]["summary"] and stored.details == lines[2]["details"]
    assert stored.child_seen is None and stored.significant is True and stored.occurred_on == datetime.date(2024, 3, 1)
    assert [r["outcome"] for r in again["results"]["events"]] == ["unchanged"] * 3
    assert Event.objects.filter(source_system="agency-a-system").count() == 3


@pytest.mark.parametrize(
    ("change", "place", "words"),
    [
        (lambda d: d["events"][1].update(agency="agency-b"), "events[1].agency", "recorded for 'agency-a' only"),
        (
            lambda d: d["agencies"].append({"code": "agency-b", "name": "Agency B", "kind": "school"}),
            "agencies[1].code",
            "may list no other agency",
        ),
        (
            lambda d: d["agencies"].append({"code": "brand-new", "name": "New", "kind": "police", "area": "North"}),
            "agencies[1].code",
            "creating agencies is refused",
        ),
        (lambda d: d["events"][0].update(recorded_by="PC 1234 A. Officer"), "events[0].recorded_by", "set by the"),
        (lambda d: d["events"][1].update(recorded_at="2024-03-01T10:00:00Z"), "events[1].recorded_at", "set by the"),
    ],
)
def test_what_a_key_may_not_write_is_refused_before_anything_is_queued(
    send, system_a, alice, kit, bob, change, place, words
):
    body = document()
    change(body)
    response = send(system_a, body, acting=alice)
    assert response.status_code == 400, response.content
    assert words in " ".join(response.json()[place])
    assert not BatchImport.objects.exists()
    assert not Event.objects.exists() and not ChildIdentifier.objects.exists()


def test_a_key_may_not_send_as_another_agencys_system(send, system_a, system_b, alice, bob, kit):
    school = document(
        source="school-mis",
        agencies=[{"code": "agency-b", "name": "Agency B", "kind": "school"}],
        events=[event(1, agency="agency-b")],
    )
    involve(kit, bob)
    assert status_of(system_b, send(system_b, school, acting=bob), bob)["state"] == "done"
    before = Event.objects.count(), BatchImport.objects.count()
    response = send(system_a, document(source="school-mis"), acting=alice)
    assert response.status_code == 400, response.content
    assert "another agency's records came from" in " ".join(response.json()["source"])
    assert (Event.objects.count(), BatchImport.objects.count()) == before
    # Its own system's name is fine.
    assert status_of(system_a, send(system_a, document(), acting=alice), alice)["state"] == "done"
    # What the check reads: each source with the agencies whose events it sent, as the events have them.
    assert set(SourceAgency.objects.values_list("source", "agency__code")) == {
        ("school-mis", "agency-b"),
        ("agency-a-system", "agency-a"),
    }
    # The platform's own records are every agency's: no key sends as them.
    response = send(system_a, document(source="jigsaw"), acting=alice)
    assert response.status_code == 400 and "another agency's records came from" in " ".join(response.json()["source"])


def test_malformed_json_and_a_body_that_is_no_document_are_refused(send, system_a, alice, kit):
    broken = send(system_a, None, acting=alice, raw=b'{"format": "chronology-exchange/1", "events": [')
    assert broken.status_code == 400 and "JSON parse error" in broken.json()["detail"]
    listed = send(system_a, [document()], acting=alice)
    assert listed.status_code == 400 and "JSON object" in listed.json()["detail"]
    assert not BatchImport.objects.exists()


def test_a_document_holding_the_nul_character_is_refused_before_anything_is_queued(send, system_a, alice, kit):
    body = document(events=[event(1), event(2, summary="Seen at home.\x00")])
    response = send(system_a, body, acting=alice)
    assert response.status_code == 400, response.content
    assert "events[1].summary holds the character \\u0000 (NUL)" in response.json()["detail"]
    assert not BatchImport.objects.exists() and not Event.objects.exists()


def test_a_body_over_the_limit_is_refused(send, system_a, alice, kit, settings):
    settings.JIGSAW_API_MAX_BATCH_BODY = 1000
    response = send(system_a, document(events=[event(n) for n in range(20)]), acting=alice)
    assert response.status_code == 413 and "1,000 bytes" in response.json()["detail"]
    assert not BatchImport.objects.exists()


def test_schema_problems_refuse_the_import_with_their_places_and_write_nothing(send, system_a, alice, kit):
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    body = document(events=[event(1), event(2, type="dna"), event(3, occurred_on=tomorrow), event(4, summary="")])
    refused = status_of(system_a, send(system_a, body, acting=alice), alice)
    assert refused["state"] == "refused" and refused["results"] is None and refused["counts"] is None
    assert {(p["place"], p["message"]) for p in refused["problems"]} == {
        ("events[1].type", "unknown type 'dna'"),
        ("events[2].occurred_on", "The date must be today or in the past"),
        ("events[3].summary", "must not be empty"),
    }
    assert not Event.objects.exists() and not ChildIdentifier.objects.exists() and not Person.objects.exists()


def test_one_bad_record_writes_nothing_at_all(send, system_a, alice, kit):
    lines = [event(n) for n in range(1, 30)]
    lines[17] = event(18, child="c-unknown")
    body = document(events=lines)
    refused = status_of(system_a, send(system_a, body, acting=alice), alice)
    assert refused["state"] == "refused"
    assert refused["problems"] == [{"place": "events[17].child", "message": "unknown child 'c-unknown'"}]
    assert not Event.objects.exists() and not ChildIdentifier.objects.exists() and not Person.objects.exists()
    assert not AuditEntry.objects.filter(action="import").exists()
    assert not ReassessmentDue.objects.exists()


def test_a_child_the_acting_person_may_not_record_for_refuses_the_import(send, system_b, bob, kit):
    body = document()
    body["agencies"] = [{"code": "agency-b", "name": "Agency B", "kind": "school"}]
    for line in body["events"]:
        line["agency"] = "agency-b"
    refused = status_of(system_b, send(system_b, body, acting=bob), bob)
    assert refused["state"] == "refused"
    problem = {"place": "children[0]", "message": "'bob' may not record information for this child"}
    assert problem in refused["problems"]
    assert not Event.objects.exists()


def test_a_new_child_needs_a_safeguarding_lead_for_its_area(send, system_a, alice, kit):
    body = document()
    body["children"].append({"ref": "c-new", "date_of_birth": "2020-02-02", "given_name": "New"})
    body["events"].append(event(3, child="c-new"))
    refused = status_of(system_a, send(system_a, body, acting=alice), alice)
    assert refused["state"] == "refused"
    assert refused["problems"][0]["place"] == "children[1]"
    assert "may not create a child record" in refused["problems"][0]["message"]
    assert not Event.objects.exists()


def test_an_amendment_in_the_same_document_and_of_a_stored_entry(send, system_a, alice, kit):
    status_of(system_a, send(system_a, document(), acting=alice), alice)
    body = document(
        events=[
            event(3),
            event(4, amends="hv-3", amendment_reason="Wrong date", occurred_on="2024-03-02"),
            event(5, amends="hv-1", amendment_reason="Filed on the wrong child", amendment_kind="filed_in_error"),
        ]
    )
    done = status_of(system_a, send(system_a, body, acting=alice), alice)
    assert done["state"] == "done", done["problems"]
    amended = {e.ref: e for e in Event.objects.filter(ref__in=["hv-4", "hv-5"]).select_related("amends")}
    assert amended["hv-4"].amends.ref == "hv-3" and amended["hv-4"].amendment_kind == "correction"
    assert amended["hv-5"].amends.ref == "hv-1" and amended["hv-5"].amendment_kind == "filed_in_error"


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of four lines, looked at after every line: a short document takes every path a long one does."""
    monkeypatch.setattr(batch._CopySink, "CHUNK", 4)
    monkeypatch.setattr(batch._CopySink, "LOOK_EVERY", 1)


def test_a_document_written_in_many_chunks_keeps_every_line_its_people_and_amendments(
    send, system_a, alice, kit, small_chunks
):
    status_of(system_a, send(system_a, document(), acting=alice), alice)
    lines = [event(n, people=["mum"] if n % 3 == 0 else []) for n in range(10, 40)]
    # A line amending a later line (in a later chunk), and one amending a stored entry (a query mid-writing).
    lines[2] = event(12, amends="hv-35", amendment_reason="Wrong date", occurred_on="2024-03-02")
    lines[21] = event(31, amends="hv-1", amendment_reason="Filed on the wrong child", amendment_kind="filed_in_error")
    done = status_of(system_a, send(system_a, document(events=lines), acting=alice), alice)
    assert done["state"] == "done", done["problems"]
    written = {e.ref: e for e in Event.objects.filter(ref__in=[line["ref"] for line in lines]).select_related("amends")}
    assert {r["ref"]: r["id"] for r in done["results"]["events"]} == {ref: e.pk for ref, e in written.items()}
    assert written["hv-12"].amends.ref == "hv-35" and written["hv-31"].amends.ref == "hv-1"
    assert {e.ref for e in Event.objects.filter(people__ref="mum", ref__in=written)} == {
        line["ref"] for line in lines if line.get("people")
    }
    assert all(
        e.recorded_by_user == alice and e.child.pk == done["results"]["children"][0]["id"] for e in written.values()
    )


def test_a_problem_found_after_chunks_were_written_writes_nothing(send, system_a, alice, kit, small_chunks):
    lines = [event(n) for n in range(1, 30)]
    lines[22] = event(23, type="dna")
    refused = status_of(system_a, send(system_a, document(events=lines), acting=alice), alice)
    assert refused["state"] == "refused"
    assert refused["problems"] == [{"place": "events[22].type", "message": "unknown type 'dna'"}]
    assert not Event.objects.exists() and not Person.objects.exists()
    # The connection is left fit for the next import.
    assert status_of(system_a, send(system_a, document(), acting=alice), alice)["state"] == "done"
    assert Event.objects.count() == 2


def test_only_the_sender_and_its_agency_see_the_import(send, system_a, system_b, alice, ann, bob, kit):
    response = send(system_a, document(), acting=alice)
    assert response.status_code == 202
    url = response["Location"]
    assert system_b.get(url, acting=bob).status_code == 404
    assert system_a.get(url, acting=ann).status_code == 200  # a colleague in the same agency
    assert system_b.get(detail("00000000-0000-0000-0000-000000000000"), acting=bob).status_code == 404


def test_a_read_only_key_cannot_import(send, system_a_read_only, alice, kit):
    response = send(system_a_read_only, document(), acting=alice)
    assert response.status_code == 403 and "write" in response.json()["detail"]
    assert not BatchImport.objects.exists()


def test_a_retry_with_the_same_idempotency_key_returns_the_same_import_and_imports_once(send, system_a, alice, kit):
    body = document()
    first = send(system_a, body, acting=alice, headers={"Idempotency-Key": "batch-1"})
    retry = send(system_a, copy.deepcopy(body), acting=alice, headers={"Idempotency-Key": "batch-1"})
    assert first.status_code == retry.status_code == 202
    assert retry.json()["id"] == first.json()["id"] and retry["Location"] == first["Location"]
    assert retry["Idempotent-Replayed"] == "true"
    assert BatchImport.objects.count() == 1
    assert Event.objects.filter(source_system="agency-a-system").count() == 2
    other = send(system_a, document(events=[event(9)]), acting=alice, headers={"Idempotency-Key": "batch-1"})
    assert other.status_code == 400 and "Idempotency-Key" in other.json()


def test_the_browser_imports_as_the_persons_agency_and_colleagues_see_it(
    client_for, django_capture_on_commit_callbacks, eager, alice, ann, bob, kit
):
    browser = client_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(CREATE, document(), content_type="application/json")
    assert response.status_code == 202, response.content
    assert browser.get(response["Location"]).json()["state"] == "done"
    assert Event.objects.get(ref="hv-1").recorded_by_user == alice
    assert client_for(ann).get(response["Location"]).status_code == 200
    assert client_for(bob).get(response["Location"]).status_code == 404


def test_another_agencys_entries_are_neither_amended_nor_described(send, system_a, alice, lead, kit):
    theirs = AgencySystem(lead.agency)
    body = document(events=[event(1, agency=lead.agency.code, summary="Strategy discussion held about Kit.")])
    body["agencies"] = [{"code": lead.agency.code, "name": "CSC", "kind": "childrens_social_care"}]
    body["people"] = []
    assert status_of(theirs, send(theirs, body, acting=lead), lead)["state"] == "done"

    ours = document(
        events=[event(1), event(2, amends="hv-1", amendment_reason="Wrong child", amendment_kind="filed_in_error")]
    )
    # Their system sent under this name first: ours may not send as it, so it neither amends their entry nor
    # learns anything of it.
    refused = send(system_a, ours, acting=alice)
    assert refused.status_code == 400, refused.content
    assert set(refused.json()) == {"source"} and "Strategy" not in refused.content.decode()
    assert Event.objects.count() == 1 and not Event.objects.filter(amends__isnull=False).exists()
