"""A chronology page an agency's system reads again (api.reads): the same page, the same checks, the same log row
as the full view, and never a page that is out of date or a call the full view would refuse.

A call answered from the cache makes no query through Django's ORM (its two statements go to PostgreSQL directly);
a call the full view answers makes several. That is how these tests tell the two apart.
"""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agencies.apikeys import api_key_revoke
from agencies.models import AccessBasis, AccessLog, ApiKey, Involvement, InvolvementReason, Role, RoleGrant
from chronology import linkage
from tests.api.conftest import AgencySystem
from tests.api.test_chronology_api import events_url, make_event
from tests.factories import ChildFactory, amend, involve

pytestmark = pytest.mark.external

LOGGED = ("user_id", "child_id", "what", "channel", "basis", "reason", "involvement_id", "exceptional_access_id")
LOGGED += ("ip_address", "api_key_id")


@pytest.fixture(autouse=True)
def _postgresql():
    assert connection.vendor == "postgresql", "this test needs DATABASE_URL on PostgreSQL (make test sets it)"


@pytest.fixture
def chronology(kit, bob, alice):
    """Kit's chronology with another agency's entry, its restricted one (a placeholder for alice), and an entry of
    alice's agency that was corrected."""
    make_event(kit, bob.agency, occurred_on=datetime.date(2025, 1, 10))
    make_event(kit, bob.agency, occurred_on=datetime.date(2025, 2, 3), sharing="restricted")
    original = make_event(kit, alice.agency, occurred_on=datetime.date(2025, 3, 1))
    amend(alice, original, "correction", "Wrong week: checked with the visit diary.")
    return kit


def read(system, person, child, params=None):
    """One call; with how many queries went through the ORM (none when the page came from the cache). Every
    page answered is one row of the access log, whoever answers it."""
    logged = AccessLog.objects.count()
    with CaptureQueriesContext(connection) as queries:
        response = system.get(events_url(child), acting=person, params=params)
    assert AccessLog.objects.count() == logged + (response.status_code == 200)
    system.calls = getattr(system, "calls", 0) + 1
    return response, len(queries)


def full(system, person, child, params=None):
    """What the full view answers, the cache set aside."""
    with override_settings(JIGSAW_API_READ_CACHE=False):
        response, queries = read(system, person, child, params)
    assert queries > 0
    return response


def cached(system, person, child, params=None):
    """Read until the page comes from the cache. The full view answers the first two calls at least (the second
    stores the page; a key never used before has its first use recorded by the full view first), the cache the
    fourth at the latest."""
    for call in range(1, 5):
        response, queries = read(system, person, child, params)
        assert response.status_code == 200
        assert queries > 0 or call > 2, "a page is stored only the second time the full view answers it"
        if queries == 0:
            return response
    raise AssertionError("the fourth read should come from the cache")


def last_log_rows(n):
    return [{name: getattr(row, name) for name in LOGGED} for row in AccessLog.objects.order_by("-pk")[:n]]


def test_a_page_read_again_is_the_same_page_with_the_same_log_row(system_a, alice, chronology):
    expected = full(system_a, alice, chronology, {"page_size": 2, "page": 2})
    hit = cached(system_a, alice, chronology, {"page_size": 2, "page": 2})
    assert hit.content == expected.content
    assert {k: v for k, v in hit.headers.items() if k != "X-Request-ID"} == {
        k: v for k, v in expected.headers.items() if k != "X-Request-ID"
    }
    body = cached(system_a, alice, chronology).json()
    assert [(e["placeholder"], e["superseded"]) for e in body["results"]] == [
        (False, False),
        (True, False),
        (False, True),
        (False, False),
    ]
    from_cache, from_full_view = last_log_rows(2)[0], last_log_rows(2)[1]
    assert from_cache == from_full_view
    assert from_cache["basis"] == AccessBasis.INVOLVEMENT and from_cache["api_key_id"] == system_a.api_key.pk


def test_another_practitioner_of_the_agency_reads_the_stored_page_logged_as_themselves(system_a, alice, ann, kit):
    make_event(kit, alice.agency)
    theirs = involve(kit, ann)
    expected = cached(system_a, alice, kit)
    read(system_a, ann, kit)  # the key's last use is renewed by the full view once a minute, not by the cache
    response, queries = read(system_a, ann, kit)
    assert queries == 0 and response.content == expected.content
    row = AccessLog.objects.order_by("-pk").first()
    assert (row.user, row.involvement_id, row.reason) == (ann, theirs.pk, f"involvement {theirs.pk}: Allocated worker")


@pytest.mark.parametrize(
    "change",
    ["new entry", "correction", "filed in error", "merged record", "agency renamed", "reader now a lead", "filter"],
)
def test_what_would_change_the_page_is_read_at_once(
    change, system_a, alice, bob, lead, chronology, django_capture_on_commit_callbacks
):
    params = {"agency": alice.agency.code} if change == "filter" else None
    cached(system_a, alice, chronology, params)
    own = chronology.events.filter(agency=alice.agency, amends__isnull=True).first()
    if change == "new entry":
        make_event(chronology, bob.agency, occurred_on=datetime.date(2025, 4, 1))
    elif change == "correction":
        amend(alice, own, "correction", "The visit was the week after: checked with the diary.")
    elif change == "filed in error":
        amend(alice, own, "filed_in_error", "Belongs to another child; recorded there.")
    elif change == "merged record":
        duplicate = ChildFactory(given_name="Kitt", family_name="Invented", date_of_birth=chronology.date_of_birth)
        make_event(duplicate, bob.agency, occurred_on=datetime.date(2024, 12, 1))
        linkage.child_merge(actor=lead, merged=duplicate, surviving=chronology, reason="Same child.")
    elif change == "agency renamed":
        with django_capture_on_commit_callbacks(execute=True):
            bob.agency.name = "Northshire Primary School"
            bob.agency.save()
    elif change == "reader now a lead":
        RoleGrant.objects.create(user=alice, role=Role.DESIGNATED_SAFEGUARDING_LEAD)
        amend(alice, own, "filed_in_error", "Belongs to another child; recorded there.")
        cached(system_a, alice, chronology)
        RoleGrant.objects.filter(user=alice, role=Role.DESIGNATED_SAFEGUARDING_LEAD).delete()
    elif change == "filter":
        params = {"agency": bob.agency.code}
    after, _ = read(system_a, alice, chronology, params)
    assert after.status_code == 200
    assert after.content == full(system_a, alice, chronology, params).content


def test_a_refused_call_is_refused_though_its_page_is_stored(system_a, alice, kit):
    make_event(kit, alice.agency)
    cached(system_a, alice, kit)
    logged = AccessLog.objects.count()
    alice.is_active = False
    alice.save()
    assert read(system_a, alice, kit)[0].status_code == 401
    alice.is_active = True
    alice.save()
    involvement = Involvement.objects.get(child=kit, practitioner=alice)
    Involvement.objects.filter(pk=involvement.pk).update(ended_at=timezone.now())
    assert read(system_a, alice, kit)[0].status_code == 404
    Involvement.objects.filter(pk=involvement.pk).update(ended_at=None)
    ApiKey.objects.filter(pk=system_a.api_key.pk).update(scopes=["write"])
    assert read(system_a, alice, kit)[0].status_code == 403
    ApiKey.objects.filter(pk=system_a.api_key.pk).update(scopes=["read"], expires_at=timezone.now())
    assert read(system_a, alice, kit)[0].status_code == 401
    ApiKey.objects.filter(pk=system_a.api_key.pk).update(expires_at=None)
    RoleGrant.objects.filter(user=alice).delete()
    assert read(system_a, alice, kit)[0].status_code == 404
    RoleGrant.objects.create(user=alice, role=Role.PRACTITIONER)
    api_key_revoke(api_key=system_a.api_key)
    assert read(system_a, alice, kit)[0].status_code == 401
    assert AccessLog.objects.count() == logged


def test_the_throttle_counts_cached_calls_and_refuses_the_one_too_many(system_a, alice, kit):
    with time_machine.travel(timezone.now(), tick=False):  # one throttle window throughout
        cached(system_a, alice, kit)
        ApiKey.objects.filter(pk=system_a.api_key.pk).update(rate=f"{system_a.calls + 1}/minute")
        response, queries = read(system_a, alice, kit)
        assert response.status_code == 200 and queries == 0
        refused = read(system_a, alice, kit)[0]
        assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1


def test_bookkeeping_due_goes_to_the_full_view_which_does_it(system_a, alice, kit):
    cached(system_a, alice, kit)
    long_ago = timezone.now() - datetime.timedelta(hours=2)
    ApiKey.objects.filter(pk=system_a.api_key.pk).update(last_used_at=long_ago)
    Involvement.objects.filter(child=kit, practitioner=alice).update(last_activity_at=long_ago)
    response, queries = read(system_a, alice, kit)
    assert response.status_code == 200 and queries > 0
    assert ApiKey.objects.get(pk=system_a.api_key.pk).last_used_at > long_ago
    assert Involvement.objects.get(child=kit, practitioner=alice).last_activity_at > long_ago
    assert read(system_a, alice, kit)[1] == 0


def test_an_unconfirmed_involvement_reads_only_its_agencys_entries_from_the_cache_too(system_a, ann, alice, bob, kit):
    make_event(kit, bob.agency)
    make_event(kit, alice.agency)
    claimed = involve(kit, ann, reason=InvolvementReason.RECORDED_INFORMATION)
    cached(system_a, alice, kit)
    assert [e["agency"]["code"] for e in cached(system_a, ann, kit).json()["results"]] == [alice.agency.code]
    Involvement.objects.filter(pk=claimed.pk).update(confirmed_at=timezone.now())
    response, _ = read(system_a, ann, kit)
    assert len(response.json()["results"]) == 2 and response.content == full(system_a, ann, kit).content


def test_other_bases_of_access_always_go_to_the_full_view(dsl, lead, kit, alice):
    make_event(kit, alice.agency)
    for person in (dsl, lead):
        system = AgencySystem(person.agency)
        for _ in range(3):
            response, queries = read(system, person, kit)
            assert response.status_code == 200 and queries > 0
