"""Personas shared by every suite, as the architecture asks: who is acting matters in every test.

- alice: a practitioner in agency A (health visiting)
- bob: a practitioner in agency B (a school), with no involvement in alice's children
- lead: the area's safeguarding lead
- auditor: reads the access log
- anonymous: signed out
"""

from __future__ import annotations

import pytest

from agencies.models import AgencyKind, Role
from tests.factories import TEST_PASSWORD, persona


@pytest.fixture
def alice(db):
    return persona("alice", "agency-a", AgencyKind.HEALTH_VISITING, Role.PRACTITIONER)


@pytest.fixture
def bob(db):
    return persona("bob", "agency-b", AgencyKind.SCHOOL, Role.PRACTITIONER)


@pytest.fixture
def lead(db):
    return persona("lead", "agency-csc", AgencyKind.CHILDRENS_SOCIAL_CARE, Role.AREA_SAFEGUARDING_LEAD)


@pytest.fixture
def auditor(db):
    return persona("auditor", "agency-csc", AgencyKind.CHILDRENS_SOCIAL_CARE, Role.AUDITOR)


@pytest.fixture
def anonymous(client):
    return client


@pytest.fixture
def password():
    return TEST_PASSWORD


@pytest.fixture
def client_for(client):
    """A test client signed in as the given user: `client_for(alice)`."""

    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in
