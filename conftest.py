"""Personas shared by every suite: who is acting matters in every test.

The child `kit` lives in Northshire; `alice` works with kit.

- alice: practitioner in agency A (health visiting) with an involvement with kit
- ann: practitioner in agency A without an involvement
- bob: practitioner in agency B (a school), no involvement
- dsl: designated safeguarding lead of agency A
- lead: safeguarding lead for Northshire
- edt: Northshire's emergency duty team
- auditor: Northshire's auditor
- admin: administrator (Django admin)
- anonymous: signed out
"""

from __future__ import annotations

import pytest
from django_otp import DEVICE_ID_SESSION_KEY

from agencies.models import AgencyKind, Area, Role
from tests.factories import TEST_PASSWORD, ChildFactory, give_second_factor, involve, persona

PERSONAS = ["alice", "ann", "bob", "dsl", "lead", "edt", "auditor", "admin", "anonymous"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache: cached drawings and entries never leak between tests."""
    from django.core.cache import cache

    from thresholds.facts import facts_cache_clear

    cache.clear()
    facts_cache_clear()
    yield
    cache.clear()
    facts_cache_clear()


@pytest.fixture
def eager():
    """Tasks run in this process, at once, even when REDIS_URL names a broker (the suite on Redis)."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def alice(db):
    return persona("alice", "agency-a", AgencyKind.HEALTH_VISITING, Role.PRACTITIONER)


@pytest.fixture
def ann(db):
    return persona("ann", "agency-a", AgencyKind.HEALTH_VISITING, Role.PRACTITIONER)


@pytest.fixture
def bob(db):
    return persona("bob", "agency-b", AgencyKind.SCHOOL, Role.PRACTITIONER)


@pytest.fixture
def dsl(db):
    return persona("dsl", "agency-a", AgencyKind.HEALTH_VISITING, Role.DESIGNATED_SAFEGUARDING_LEAD)


@pytest.fixture
def lead(db):
    return persona("lead", "agency-csc", AgencyKind.CHILDRENS_SOCIAL_CARE, Role.AREA_SAFEGUARDING_LEAD)


@pytest.fixture
def edt(db):
    return persona("edt", "agency-csc", AgencyKind.CHILDRENS_SOCIAL_CARE, Role.EMERGENCY_DUTY_TEAM)


@pytest.fixture
def auditor(db):
    return persona("auditor", "agency-csc", AgencyKind.CHILDRENS_SOCIAL_CARE, Role.AUDITOR)


@pytest.fixture
def admin(db):
    user = persona("admin", "agency-csc", AgencyKind.CHILDRENS_SOCIAL_CARE, Role.ADMINISTRATOR)
    user.is_staff = user.is_superuser = True
    user.save()
    return user


@pytest.fixture
def anonymous(client):
    return client


@pytest.fixture
def kit(db, alice):
    child = ChildFactory(given_name="Kit", family_name="Invented", nhs_number="9991234519")
    involve(child, alice)
    return child


@pytest.fixture
def far_child(db):
    """A child in another area, where no Northshire persona works."""
    southmoor, _ = Area.objects.get_or_create(code="southmoor", defaults={"name": "Southmoor"})
    return ChildFactory(given_name="Far", family_name="Away", area=southmoor)


@pytest.fixture
def password():
    return TEST_PASSWORD


@pytest.fixture
def client_for(client):
    """A test client signed in as the given user, second factor passed: `client_for(alice)`."""

    def sign_in(user):
        client.force_login(user)
        device = give_second_factor(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        return client

    return sign_in
