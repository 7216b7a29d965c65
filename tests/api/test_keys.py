"""API keys: made and revoked by administrators, stored as SHA-256, scoped, expiring; every call names its person."""

from __future__ import annotations

import datetime
import hashlib

from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from agencies.apikeys import api_key_revoke
from agencies.models import AccessLog, ApiKey
from tests.api.conftest import AgencySystem


def url(kit):
    return reverse("api-child-detail", args=[kit.pk])


def test_a_key_reads_for_a_named_person_and_the_read_is_logged_with_the_key(system_a, alice, kit):
    response = system_a.get(url(kit), acting=alice)
    assert response.status_code == 200, response.content
    assert response.json()["given_name"] == "Kit" and response.json()["nhs_number"] == "9991234519"
    entry = AccessLog.objects.get(child=kit)
    assert (entry.user, entry.channel, entry.api_key_id) == (alice, "api", system_a.api_key.pk)
    system_a.api_key.refresh_from_db()
    assert system_a.api_key.last_used_at is not None


def test_only_the_hash_is_stored(system_a):
    stored = ApiKey.objects.get(pk=system_a.api_key.pk)
    assert stored.hashed == hashlib.sha256(system_a.key.encode()).hexdigest()
    assert system_a.key not in str(ApiKey.objects.filter(pk=stored.pk).values().get())


def test_calls_without_a_valid_key_or_person_are_refused_and_logged_nowhere(system_a, alice, bob, kit, client):
    assert system_a.client.get(url(kit)).status_code == 401  # no key at all
    assert client.get(url(kit)).status_code == 401  # not signed in either
    wrong = system_a.client.get(url(kit), HTTP_AUTHORIZATION="Bearer jsk_00000000_nope", HTTP_X_ACTING_USER="alice")
    assert wrong.status_code == 401 and "not known" in wrong.json()["detail"]
    nobody = system_a.get(url(kit), acting=None)
    assert nobody.status_code == 401 and "X-Acting-User" in nobody.json()["detail"]
    # A key acts only for people of its own agency.
    outsider = system_a.get(url(kit), acting=bob)
    assert outsider.status_code == 401 and "acts only for its own agency" in outsider.json()["detail"]
    # A control character is in no username, and the database could not even look one up.
    for odd in ("alice\x00", "\x00", "ali\x07ce"):
        refused = system_a.get(url(kit), acting=odd)
        assert refused.status_code == 401 and "control character" in refused.json()["detail"], odd
    assert not AccessLog.objects.exists()


def test_a_revoked_or_expired_key_is_refused_at_once(system_a, alice, kit):
    assert system_a.get(url(kit), acting=alice).status_code == 200
    api_key_revoke(api_key=system_a.api_key)
    refused = system_a.get(url(kit), acting=alice)
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    later = AgencySystem(alice.agency)
    ApiKey.objects.filter(pk=later.api_key.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert "expired" in later.get(url(kit), acting=alice).json()["detail"]


def test_a_child_the_person_may_not_read_is_not_found(system_b, bob, kit):
    assert system_b.get(url(kit), acting=bob).status_code == 404
    assert not AccessLog.objects.filter(child=kit).exists()


def test_the_command_prints_a_key_once_that_works(alice, kit, capsys):
    call_command("api_key_create", alice.agency.code, "--scope", "read", "--scope", "write")
    out, err = capsys.readouterr()
    key = out.strip()
    assert key.startswith("jsk_") and "shown once" in err
    api_key = ApiKey.objects.get(hashed=hashlib.sha256(key.encode()).hexdigest())
    assert api_key.scopes == ["read", "write"] and api_key.agency == alice.agency
    client = APIClient()
    assert client.get(url(kit), HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_X_ACTING_USER="alice").status_code == 200


def test_the_throttle_is_per_key(alice, kit, settings):
    limited = AgencySystem(alice.agency)
    ApiKey.objects.filter(pk=limited.api_key.pk).update(rate="2/minute")
    other = AgencySystem(alice.agency)
    assert [limited.get(url(kit), acting=alice).status_code for _ in range(3)] == [200, 200, 429]
    assert other.get(url(kit), acting=alice).status_code == 200


def test_stored_idempotent_responses_are_forgotten_after_the_kept_days(db):
    from api.base import idempotency_forget
    from api.models import IdempotentRequest

    now = timezone.now()
    old = IdempotentRequest.objects.create(
        caller="key:1", key="a", fingerprint="0" * 64, status=201, body={}, created_at=now - datetime.timedelta(days=8)
    )
    kept = IdempotentRequest.objects.create(
        caller="key:1", key="b", fingerprint="0" * 64, status=201, body={}, created_at=now - datetime.timedelta(days=6)
    )
    assert idempotency_forget(now=now) == 1
    assert list(IdempotentRequest.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not IdempotentRequest.objects.filter(pk=old.pk).exists()
    from api.tasks import forget_idempotency_keys
    from config.celery import app

    assert app.conf.beat_schedule["api-idempotency-forget"]["task"] == forget_idempotency_keys.name
