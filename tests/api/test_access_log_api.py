"""The access log through the API: for auditors and the area's safeguarding leads, filtered and paged; refused
(403) to everyone else; reading it is not a read of a child's record."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from agencies import policy
from agencies.models import AccessBasis, AccessChannel, AccessLog
from agencies.services import Origin, access_log_record
from escalation.calendar import LONDON
from tests.api.conftest import AgencySystem
from tests.factories import ChildFactory, involve

ACCESS_LOG = reverse("api-access-log")
ROW_KEYS = {"at", "user", "child", "what", "channel", "basis", "reason", "api_key", "request_id"}


# Three days within alice's involvement with kit (it began 30 days ago).
FIRST = timezone.localdate() - datetime.timedelta(days=10)


def day(n: int) -> str:
    return (FIRST + datetime.timedelta(days=n - 1)).isoformat()


def at(n: int, clock: str) -> datetime.datetime:
    """Day n (1, 2, 3) at a London wall-clock time."""
    return datetime.datetime.fromisoformat(f"{day(n)} {clock}").replace(tzinfo=LONDON)


def read(user, child, what: str, *, when: datetime.datetime, channel=AccessChannel.PAGE) -> AccessLog:
    with time_machine.travel(when, tick=False):
        return access_log_record(
            user=user,
            child=child,
            access=policy.access_for(user, child),
            what=what,
            origin=Origin(channel=channel, request_id=f"req-{what}"),
        )


@pytest.fixture
def reads(system_a, alice, dsl, kit, far_child):
    """Reads of kit on three days, one through agency A's system; one of a child in another area."""
    with time_machine.travel(at(2, "09:30"), tick=False):
        assert system_a.get(reverse("api-child-detail", args=[kit.pk]), acting=alice).status_code == 200
    read(alice, kit, "chronology", when=at(1, "23:30"))  # late evening in London: still day 1
    read(dsl, kit, "chronology", when=at(3, "10:00"))
    other = ChildFactory(given_name="Lee")
    involve(other, alice)
    read(alice, other, "chronology", when=at(3, "11:00"))
    with time_machine.travel(at(3, "12:00"), tick=False):
        access_log_record(
            user=policy.system_user(),
            child=far_child,
            access=None,
            basis=AccessBasis.SYSTEM,
            what="assessment",
            origin=Origin(channel=AccessChannel.TASK),
        )
    return other


@pytest.fixture
def auditor_system(auditor):
    return AgencySystem(auditor.agency)


def rows(system, person, **params) -> list[dict]:
    response = system.get(ACCESS_LOG, acting=person, params=params)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_an_auditor_reads_every_read_in_their_area_newest_first(auditor_system, auditor, system_a, kit, reads):
    response = auditor_system.get(ACCESS_LOG, acting=auditor)
    assert response.status_code == 200, response.content
    body = response.json()
    # The child of another area is not the auditor's to see.
    assert body["count"] == 4 and (body["next"], body["previous"]) == (None, None)
    assert all(set(row) == ROW_KEYS for row in body["results"])
    assert [(r["user"], r["child"], r["what"]) for r in body["results"]] == [
        ("alice", reads.pk, "chronology"),
        ("dsl", kit.pk, "chronology"),
        ("alice", kit.pk, "child record (API)"),
        ("alice", kit.pk, "chronology"),
    ]
    by_key = body["results"][2]
    assert (by_key["channel"], by_key["basis"], by_key["api_key"]) == ("api", "involvement", system_a.api_key.prefix)
    assert by_key["reason"].startswith("involvement ") and by_key["at"].startswith(day(2))
    assert body["results"][1]["api_key"] is None and body["results"][1]["request_id"] == "req-chronology"


def test_reading_the_access_log_is_not_itself_logged(auditor_system, auditor, reads):
    before = AccessLog.objects.count()
    auditor_system.get(ACCESS_LOG, acting=auditor)
    auditor_system.get(ACCESS_LOG, acting=auditor, params={"child": reads.pk})
    assert AccessLog.objects.count() == before
    assert not AccessLog.objects.filter(user=auditor).exists()


def test_the_log_filters_by_child_user_days_and_channel(auditor_system, auditor, kit, reads):
    assert {r["child"] for r in rows(auditor_system, auditor, child=kit.pk)} == {kit.pk}
    assert len(rows(auditor_system, auditor, child=kit.pk)) == 3
    assert [r["user"] for r in rows(auditor_system, auditor, user="dsl")] == ["dsl"]
    assert rows(auditor_system, auditor, user="nobody") == []
    # Days are London's: the read at 23:30 on day 1 belongs to day 1.
    assert [r["what"] for r in rows(auditor_system, auditor, date_from=day(2), date_to=day(2))] == [
        "child record (API)"
    ]
    assert len(rows(auditor_system, auditor, date_to=day(1))) == 1
    assert len(rows(auditor_system, auditor, date_from=day(3))) == 2
    assert [r["what"] for r in rows(auditor_system, auditor, channel="api")] == ["child record (API)"]
    assert rows(auditor_system, auditor, channel="pdf") == []
    assert len(rows(auditor_system, auditor, child=kit.pk, user="alice", channel="page")) == 1


def test_the_log_is_paged(auditor_system, auditor, reads):
    first = auditor_system.get(ACCESS_LOG, acting=auditor, params={"page_size": 3}).json()
    assert (first["count"], len(first["results"]), first["next"], first["previous"]) == (4, 3, 2, None)
    second = auditor_system.get(ACCESS_LOG, acting=auditor, params={"page_size": 3, "page": first["next"]}).json()
    assert (len(second["results"]), second["next"], second["previous"]) == (1, None, 1)
    past = auditor_system.get(ACCESS_LOG, acting=auditor, params={"page_size": 3, "page": 3})
    assert past.status_code == 404 and past.json() == {"detail": "There are 2 pages of 3."}


@pytest.mark.parametrize(
    "params",
    [
        {"child": "kit"},
        {"date_from": "1 March"},
        {"date_to": "2026-13-01"},
        {"channel": "telepathy"},
        {"page_size": "0"},
        {"page": "100000000000000000000"},
    ],
)
def test_a_filter_that_cannot_be_read_is_refused_naming_it(auditor_system, auditor, reads, params):
    response = auditor_system.get(ACCESS_LOG, acting=auditor, params=params)
    assert response.status_code == 400
    assert set(params) <= set(response.json())


def test_a_range_that_ends_before_it_starts_holds_nothing(auditor_system, auditor, reads):
    assert rows(auditor_system, auditor, date_from=day(3), date_to=day(1)) == []


def test_the_area_safeguarding_lead_reads_it_too(lead, reads):
    system = AgencySystem(lead.agency)
    assert system.get(ACCESS_LOG, acting=lead).json()["count"] == 4


def test_everyone_else_is_refused_whatever_they_ask(system_a, system_b, alice, ann, dsl, bob, edt, reads):
    csc = AgencySystem(edt.agency)
    for system, person in ((system_a, alice), (system_a, ann), (system_a, dsl), (system_b, bob), (csc, edt)):
        for params in ({}, {"child": reads.pk}, {"channel": "telepathy"}):
            response = system.get(ACCESS_LOG, acting=person, params=params)
            assert response.status_code == 403, (person.username, params)
            assert "results" not in response.json()
