"""Hostile callers, against the published schema: every operation it names, whatever the endpoints are.

- Schemathesis generates calls from the OpenAPI document: no answer is a 5xx, and every answer (status, content
  type, body) matches what the document says.
- Without a key, or with a key whose scope does not allow the call, every operation is refused.
- Agency B's key (acting for bob, who has no involvement with kit) can neither read nor write agency A's
  children, events, alerts or imports: every operation on them answers 404, and nothing is written or logged.
"""

from __future__ import annotations

import os
import re

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from agencies.models import AccessLog, AuditEntry
from chronology.models import Event
from tests.api.conftest import AgencySystem

# Calls generated per operation, fresh each run. JIGSAW_FUZZ_EXAMPLES=500 searches harder, locally.
EXAMPLES = int(os.environ.get("JIGSAW_FUZZ_EXAMPLES", "30"))


def published_schema() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def operations() -> list[tuple[str, str]]:
    return [
        (path, method)
        for path, ops in published_schema()["paths"].items()
        for method in ops
        if method in {"get", "post", "put", "patch", "delete"}
    ]


@pytest.fixture
def records(kit, alice, eager):
    """One of each record agency A holds on kit, by the name the schema gives its path parameter."""
    from django.utils import timezone

    from chronology.services import EventInput, event_record
    from escalation.services import alerts

    event = event_record(
        actor=alice,
        child=kit,
        data=EventInput(
            occurred_on=timezone.localdate(),
            agency=alice.agency,
            type="home_visit",
            summary="Home visit: Kit seen, home warm, food in the cupboards.",
            child_seen=True,
        ),
    )
    alert = alerts.alert_raise(child=kit, cause="flag:toxic_trio", severity="high", title="Toxic trio", text="x")
    values = {"child_id": kit.pk, "event_id": event.pk, "alert_id": alert.pk}
    system = AgencySystem(alice.agency)
    response = system.post(
        "/api/v1/imports",
        {"format": "chronology-exchange/1", "source": "matrix", "agencies": [], "children": [], "events": []},
        acting=alice,
    )
    if response.status_code == 202:
        values["import_id"] = response.json()["id"]
    return values


def concrete(path: str, values: dict) -> str:
    def fill(match):
        name = match.group(1)
        if name not in values and name.removesuffix("_id") + "_id" not in values:
            raise AssertionError(f"no record of agency A for path parameter {name!r}: add one to `records`")
        return str(values.get(name, values.get(name.removesuffix("_id") + "_id")))

    return re.sub(r"\{(\w+)\}", fill, path)


def test_every_operation_refuses_callers_without_a_key_or_scope(records, alice):
    read_only = AgencySystem(alice.agency, scopes=("read",))
    for path, method in operations():
        url = concrete(path, records)
        anonymous = read_only.client.generic(method.upper(), url, "{}", content_type="application/json")
        assert anonymous.status_code == 401, f"{method.upper()} {url} without a key: {anonymous.status_code}"
        if method != "get":
            refused = read_only.post(url, {}, acting=alice)
            assert refused.status_code == 403, f"{method.upper()} {url} with a read-only key: {refused.status_code}"
            assert "scope" in refused.json()["detail"]


def test_agency_b_neither_reads_nor_writes_agency_a_records(records, system_b, bob):
    before = (Event.objects.count(), AuditEntry.objects.count())
    logged = AccessLog.objects.count()
    checked = 0
    for path, method in operations():
        if "{" not in path:
            continue
        url = concrete(path, records)
        if method == "get":
            response = system_b.get(url, acting=bob)
        else:
            body = {"summary": "Agency B tries to write on a child it does not know.", "occurred_on": "2026-11-01"}
            response = system_b.post(url, body, acting=bob)
        assert response.status_code == 404, f"agency B {method.upper()} {url}: {response.status_code}"
        checked += 1
    assert checked >= 1
    assert (Event.objects.count(), AuditEntry.objects.count()) == before
    assert AccessLog.objects.count() == logged


def test_agency_b_lists_none_of_agency_a_records(records, system_b, bob, kit):
    """Lists (search, alerts, ...) answer agency B with nothing of agency A's, but the one disclosure the policy
    allows: an exact NHS number reveals the child's summary, marked unreadable, and logs it."""
    for path, method in operations():
        if "{" in path or method != "get":
            continue
        response = system_b.get(path, acting=bob, params={"nhs_number": kit.nhs_number})
        if response.status_code != 200:
            continue
        results = response.json().get("results", [])
        for row in results:
            if path.rstrip("/").endswith("/children"):
                assert row["id"] == kit.pk and row["readable"] is False, f"{path}: {row}"
            else:
                assert row.get("id") not in (records.get("alert_id"), records.get("event_id")), f"{path} lists {row}"
                assert row.get("child") != kit.pk and row.get("child_id") != kit.pk, f"{path} lists {row}"


@pytest.fixture
def wsgi_keeps_the_test_connection():
    """The WSGI handler closes database connections at each request's start and end (as a server must); inside a
    test's transaction that would end the test's connection, so, as Django's test client does, it is kept."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_no_call_breaks_the_server_and_every_answer_matches_the_schema(records, alice, wsgi_keeps_the_test_connection):
    """Schemathesis, operation by operation, through the WSGI application on this test's database."""
    from agencies.apikeys import api_key_create

    _, key = api_key_create(agency=alice.agency, name="schemathesis", scopes=["read", "write"])
    headers = {"Authorization": f"Bearer {key}", "X-Acting-User": alice.username}
    api = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    checked = []
    for result in api.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def calls(case):
            # Half of the calls name agency A's real records, so the handlers behind the 404s are exercised too.
            for name in list(case.path_parameters or {}):
                if name in records and hash(str(case.path_parameters[name])) % 2 == 0:
                    case.path_parameters[name] = records[name]
            # A schema-valid call may still break a business rule (a search naming nothing): a 400 naming the field
            # is right there, so only "valid data must be accepted" is left out; every other check runs.
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        calls()
        checked.append(f"{operation.method.upper()} {operation.path}")
    assert len(checked) == len(operations()), checked
