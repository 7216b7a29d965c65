"""The access policy asked for many children at once (a batch import) answers as it does for each alone: the
involvements of several children, one merged into another, a line manager's and a break-glass opening, read
together, still reach the right child."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from agencies import policy
from agencies.models import ExceptionalAccess, ExceptionalAccessKind, Role
from chronology.models import Child
from tests.factories import ChildFactory, UserFactory, involve


@pytest.mark.parametrize("name", ["alice", "ann", "bob", "dsl", "lead", "edt", "auditor", "admin"])
def test_many_children_at_once_answer_as_each_alone(request, name, kit, far_child, alice):
    user = request.getfixturevalue(name)
    other = ChildFactory(given_name="Other")
    merged = ChildFactory(given_name="Merged")
    Child.objects.filter(pk=merged.pk).update(merged_into=other)
    involve(merged, alice)
    manager = UserFactory(username="mgr", agency=alice.agency, roles=[Role.LINE_MANAGER])
    alice.line_manager = manager
    alice.save()
    now = timezone.now()
    ExceptionalAccess.objects.create(
        user=user,
        child=far_child,
        kind=ExceptionalAccessKind.BREAK_GLASS,
        reason="Police called about Far at 2am; nobody in the area knows the family.",
        opened_at=now - datetime.timedelta(hours=1),
        expires_at=now + datetime.timedelta(hours=1),
    )
    children = list(Child.objects.all())
    for person in (user, manager, policy.system_identity()):
        many = policy.access_for_many(person, children)
        for child in children:
            assert many[child.pk] == policy.access_for(person, child), (person, child)
    # The merged record's involvement opens the surviving record for alice, and the opening opens far_child.
    assert policy.access_for_many(alice, [other])[other.pk].basis == "involvement"
    assert policy.access_for_many(manager, [kit, other])[other.pk].basis == "line_manager"
    assert policy.access_for_many(user, [far_child])[far_child.pk] is not None
