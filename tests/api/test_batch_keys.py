"""A batch import's foreign keys on PostgreSQL: checked once per import where the connection may write as a replica,
per row by the database otherwise, and in both ways every row the import names is held until it commits and a
missing one writes nothing."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from chronology import batch
from chronology.exchange.plans import _EventPlan
from chronology.models import Event, Person
from tests.api.test_batch_api import document, event, send, small_chunks, status_of  # noqa: F401 (fixtures)

pytestmark = pytest.mark.external

ROLE = "jigsaw_keys_by_row"  # may write every table, but not as a replica


@pytest.fixture(params=["by import", "by row"])
def keys_checked(request, db):
    """The two ways an import's keys are checked: as the suite's connection may (a superuser), and as an owner of
    the tables without the SET privilege on `session_replication_role`."""
    assert connection.vendor == "postgresql", "these tests need DATABASE_URL on PostgreSQL"
    with connection.cursor() as cursor:
        if request.param == "by row":
            cursor.execute(
                f"DO $$ BEGIN CREATE ROLE {ROLE} NOLOGIN; "
                "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
            )
            cursor.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {ROLE}")
            cursor.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {ROLE}")
            cursor.execute(f"SET ROLE {ROLE}")
        assert batch._replication_role(cursor) == ("origin", request.param == "by import")
        cursor.execute("SELECT current_user")
        (user,) = cursor.fetchone()
    yield request.param
    with connection.cursor() as cursor:  # the tests ran as the role chosen
        cursor.execute("SELECT current_user")
        assert cursor.fetchone() == (user,)
    if request.param == "by row":
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")


def test_a_document_across_many_chunks_is_written_whole_either_way(
    send,  # noqa: F811
    system_a,
    alice,
    kit,
    small_chunks,  # noqa: F811
    keys_checked,
):
    status_of(system_a, send(system_a, document(), acting=alice), alice)
    lines = [event(n, people=["mum"] if n % 2 else []) for n in range(10, 30)]
    lines[1] = event(11, amends="hv-25", amendment_reason="Wrong date", occurred_on="2024-03-02")
    lines[14] = event(24, amends="hv-2", amendment_reason="Wrong child", amendment_kind="filed_in_error")
    done = status_of(system_a, send(system_a, document(events=lines), acting=alice), alice)
    assert done["state"] == "done", done["problems"]
    written = {e.ref: e for e in Event.objects.filter(ref__in=[line["ref"] for line in lines]).select_related("amends")}
    assert len(written) == len(lines)
    assert written["hv-11"].amends.ref == "hv-25" and written["hv-24"].amends.ref == "hv-2"
    assert {e.ref for e in Event.objects.filter(people__ref="mum", ref__in=written)} == {
        line["ref"] for line in lines if line.get("people")
    }


def test_a_problem_found_after_rows_were_sent_writes_nothing_either_way(
    send,  # noqa: F811
    system_a,
    alice,
    kit,
    small_chunks,  # noqa: F811
    keys_checked,
):
    # By row, many chunks were written and checked before the problem; by import, one COPY was under way.
    lines = [event(n) for n in range(1, 30)]
    lines[22] = event(23, type="dna")
    refused = status_of(system_a, send(system_a, document(events=lines), acting=alice), alice)
    assert refused["problems"] == [{"place": "events[22].type", "message": "unknown type 'dna'"}]
    assert not Event.objects.exists() and not Person.objects.exists()
    assert status_of(system_a, send(system_a, document(), acting=alice), alice)["state"] == "done"
    assert Event.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_rows_an_import_names_are_held_until_it_commits(send, system_a, alice, kit):  # noqa: F811
    # Until the import commits, nobody may delete (or change the key of) the child, the agency, the recorder, the
    # person or the amended entry that it names: held as the database's own key checks hold them.
    with connection.cursor() as cursor:
        assert batch._replication_role(cursor) == ("origin", True)  # written as a replica, keys checked per import
    assert status_of(system_a, send(system_a, document(), acting=alice), alice)["state"] == "done"
    mum, entry = Person.objects.get(ref="mum"), Event.objects.get(ref="hv-1")
    lines = [event(3, people=["mum"]), event(4, amends="hv-1", amendment_reason="Wrong date")]
    named = [
        ("chronology_child", kit.pk),
        ("agencies_agency", alice.agency_id),
        ("agencies_user", alice.pk),
        ("chronology_person", mum.pk),
        ("chronology_event", entry.pk),
    ]
    with transaction.atomic():
        done = status_of(system_a, send(system_a, document(events=lines), acting=alice), alice)
        assert done["state"] == "done", done["problems"]
        with psycopg.connect(**_conninfo(), autocommit=True) as other:
            for table, pk in named:
                with pytest.raises(psycopg.errors.LockNotAvailable):
                    other.execute(f"SELECT id FROM {table} WHERE id = %s FOR UPDATE NOWAIT", [pk])  # noqa: S608
        transaction.set_rollback(True)
    with psycopg.connect(**_conninfo(), autocommit=True) as other:
        for table, pk in named:
            assert other.execute(f"SELECT id FROM {table} WHERE id = %s FOR UPDATE NOWAIT", [pk]).fetchall()  # noqa: S608


def test_an_event_naming_a_child_that_is_not_there_writes_nothing(db, kit, alice, keys_checked):
    row = _row(alice)
    with pytest.raises((IntegrityError, psycopg.errors.ForeignKeyViolation)), transaction.atomic():
        with batch._CopySink(1) as sink:
            sink.add(_EventPlan(0, row, SimpleNamespace(child=SimpleNamespace(id=kit.pk + 1000)), [], None))
        _as_at_commit()
    assert not Event.objects.exists()
    # The connection is fit for what follows.
    with transaction.atomic(), batch._CopySink(1) as sink:
        sink.add(_EventPlan(0, row, SimpleNamespace(child=kit), [], None))
    assert Event.objects.get().child == kit


def test_an_event_naming_a_person_that_is_not_there_writes_nothing(db, kit, alice, keys_checked):
    with pytest.raises((IntegrityError, psycopg.errors.ForeignKeyViolation)), transaction.atomic():
        with batch._CopySink(1) as sink:
            sink.add(_EventPlan(0, _row(alice), SimpleNamespace(child=kit), [SimpleNamespace(id=10**9)], None))
        _as_at_commit()
    assert not Event.objects.exists()


def test_a_replica_still_may_not_change_an_event(db, kit, alice):
    with transaction.atomic(), batch._CopySink(1) as sink:
        sink.add(_EventPlan(0, _row(alice), SimpleNamespace(child=kit), [], None))
    with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("UPDATE chronology_event SET summary = 'changed'")
    assert Event.objects.get().summary.startswith("Visit")


def test_a_trigger_a_replica_would_skip_means_keys_are_checked_by_row(db):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE FUNCTION pg_temp.noop() RETURNS trigger AS $$ BEGIN RETURN NEW; END $$ LANGUAGE plpgsql")
        cursor.execute(
            "CREATE TRIGGER noop AFTER INSERT ON chronology_event FOR EACH ROW EXECUTE FUNCTION pg_temp.noop()"
        )
        assert batch._replication_role(cursor) == ("origin", False)
        transaction.set_rollback(True)


def _as_at_commit() -> None:
    """The keys the database defers are checked at commit, which the test's own transaction never reaches."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _conninfo() -> dict:
    settings = connection.settings_dict
    info = {"dbname": settings["NAME"], "user": settings["USER"], "host": settings["HOST"], "port": settings["PORT"]}
    return {k: v for k, v in {**info, "password": settings["PASSWORD"]}.items() if v}


def _row(user) -> tuple:
    now = timezone.now()
    values = {
        "source_system": "agency-a-system",
        "ref": "hv-1",
        "occurred_on": datetime.date(2024, 3, 1),
        "date_precision": "day",
        "agency_id": user.agency_id,
        "type": "home_visit",
        "factors": b"\x01[]",
        "summary": "Visit 1: Kit seen at home with mother.",
        "action_taken": "",
        "child_seen": True,
        "child_seen_alone": None,
        "child_voice": "Showed me her new shoes.",
        "information_source": "practitioner",
        "verified": "unverified",
        "significant": False,
        "sharing": "all",
        "recorded_at": now,
        "recorded_by": user.username,
        "recorded_by_user_id": user.pk,
        "amendment_reason": "",
        "amendment_kind": "",
        "details": b"\x01{}",
        "extra": b"\x01{}",
        "given_fields": b"\x01[]",
        "stored_at": now,
    }
    return tuple(values[name] for name in batch._CONTENT)
