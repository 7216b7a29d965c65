"""Two calls with one Idempotency-Key at the same moment, on PostgreSQL: one event, the same answer twice."""

from __future__ import annotations

import threading

import pytest
from django.db import connections
from django.urls import reverse

from chronology.models import Event
from tests.api.conftest import AgencySystem

pytestmark = [pytest.mark.external, pytest.mark.django_db(transaction=True)]

VISIT = {
    "occurred_on": "2025-03-04",
    "type": "home_visit",
    "summary": "Home visit: Kit seen in the living room, playing with blocks; home warm, food in the cupboards.",
    "child_seen": True,
    "factors": [],
}


def test_concurrent_retries_with_one_key_write_once_and_answer_alike(alice, kit, eager):
    assert connections["default"].vendor == "postgresql", "this test needs DATABASE_URL on PostgreSQL"
    system = AgencySystem(alice.agency)
    url = reverse("api-chronology", args=[kit.pk])
    start = threading.Barrier(4)
    answers = []

    def call():
        try:
            start.wait()
            response = system.post(url, VISIT, acting=alice, headers={"Idempotency-Key": "visit-kit-2025-03-04"})
            answers.append((response.status_code, response.json().get("id")))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 4
    assert {status for status, _ in answers} == {201}
    assert len({pk for _, pk in answers}) == 1
    assert Event.objects.filter(child=kit, summary=VISIT["summary"]).count() == 1
