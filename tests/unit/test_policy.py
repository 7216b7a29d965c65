"""The access policy, persona by persona: who may read and write a child's record, and why."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.utils import timezone

from agencies import policy, services
from agencies.models import AccessBasis, ExceptionalAccessKind, InvolvementReason
from chronology.models import Child
from tests.factories import ChildFactory, involve

# persona -> (basis for reading kit, may write), None when kit does not exist for them
EXPECTED_FOR_KIT = {
    "alice": (AccessBasis.INVOLVEMENT, True),
    "ann": None,
    "bob": None,
    "dsl": (AccessBasis.DESIGNATED_SAFEGUARDING_LEAD, True),
    "lead": (AccessBasis.AREA_SAFEGUARDING_LEAD, True),
    "edt": (AccessBasis.EMERGENCY_DUTY_TEAM, False),
    "auditor": None,
    "admin": None,
}


@pytest.mark.parametrize("name", list(EXPECTED_FOR_KIT))
def test_each_persona_reads_kit_exactly_as_the_policy_says(request, kit, name):
    user = request.getfixturevalue(name)
    access = policy.access_for(user, kit)
    expected = EXPECTED_FOR_KIT[name]
    if expected is None:
        assert access is None
    else:
        assert (access.basis, access.can_write) == expected
    # the list form of the policy agrees with the one-child form
    assert Child.objects.filter(policy.readable_children_q(user)).filter(pk=kit.pk).exists() == (expected is not None)


@pytest.mark.parametrize("name", ["alice", "dsl", "lead", "edt"])
def test_nobody_in_northshire_reads_a_child_in_another_area(request, kit, far_child, name):
    user = request.getfixturevalue(name)
    assert policy.access_for(user, far_child) is None
    assert not Child.objects.filter(policy.readable_children_q(user)).filter(pk=far_child.pk).exists()


def test_a_team_involvement_is_shared_by_the_whole_agency(alice, ann, bob):
    child = ChildFactory()
    involve(child, agency=ann.agency, reason=InvolvementReason.UNIVERSAL_SERVICE)
    assert policy.access_for(ann, child).basis == AccessBasis.TEAM_INVOLVEMENT
    assert policy.access_for(alice, child).basis == AccessBasis.TEAM_INVOLVEMENT
    assert policy.access_for(bob, child) is None


def test_an_ended_involvement_gives_no_access(kit, alice, dsl):
    involvement = kit.involvements.get(practitioner=alice)
    services.involvement_end(actor=dsl, involvement=involvement, reason="Family moved to another practice.")
    assert policy.access_for(alice, kit) is None
    assert policy.access_for(dsl, kit) is None  # agency A no longer works with kit


def test_a_future_involvement_gives_no_access_yet(alice):
    child = ChildFactory()
    involve(child, alice, days_ago=-3)
    assert policy.access_for(alice, child) is None


def test_an_involvement_lapses_after_twelve_months_without_activity_unless_renewed(kit, alice, settings):
    involvement = kit.involvements.get(practitioner=alice)
    later = timezone.now() + datetime.timedelta(days=settings.JIGSAW_INVOLVEMENT_LAPSE_DAYS + 1)
    with time_machine.travel(later, tick=False):
        assert policy.access_for(alice, kit) is None
        assert services.involvements_lapse() == 1
    involvement.refresh_from_db()
    assert involvement.ended_at is not None and involvement.end_reason.startswith("Lapsed")
    assert involvement.ended_by.username == policy.SYSTEM_USERNAME


def test_renewing_keeps_an_involvement_alive(kit, alice, settings):
    involvement = kit.involvements.get(practitioner=alice)
    near = timezone.now() + datetime.timedelta(days=settings.JIGSAW_INVOLVEMENT_LAPSE_DAYS - 5)
    with time_machine.travel(near, tick=False):
        services.involvement_renew(actor=alice, involvement=involvement)
    far = near + datetime.timedelta(days=30)
    with time_machine.travel(far, tick=False):
        assert policy.access_for(alice, kit).basis == AccessBasis.INVOLVEMENT


def test_break_glass_reads_for_24_hours_and_never_writes(kit, bob):
    opening = services.exceptional_access_open(
        actor=bob,
        child=kit,
        kind=ExceptionalAccessKind.BREAK_GLASS,
        reason="Child brought to school with a head injury.",
    )
    access = policy.access_for(bob, kit)
    assert access.basis == AccessBasis.BREAK_GLASS and not access.can_write
    assert access.exceptional_access == opening
    assert opening.expires_at - opening.opened_at == datetime.timedelta(hours=24)
    with time_machine.travel(opening.expires_at + datetime.timedelta(seconds=1), tick=False):
        assert policy.access_for(bob, kit) is None


def test_break_glass_needs_a_written_reason(kit, bob):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.exceptional_access_open(actor=bob, child=kit, kind=ExceptionalAccessKind.BREAK_GLASS, reason="urgent")
    assert policy.access_for(bob, kit) is None


def test_auditors_open_a_record_only_with_a_reason_and_only_auditors_may(kit, auditor, bob):
    from django.core.exceptions import PermissionDenied

    assert policy.access_for(auditor, kit) is None
    services.exceptional_access_open(
        actor=auditor,
        child=kit,
        kind=ExceptionalAccessKind.AUDIT,
        reason="Quarterly audit of break-glass use, ref A-12.",
    )
    access = policy.access_for(auditor, kit)
    assert access.basis == AccessBasis.AUDIT and not access.can_write
    with pytest.raises(PermissionDenied):
        services.exceptional_access_open(
            actor=bob, child=kit, kind=ExceptionalAccessKind.AUDIT, reason="I would like to audit this record please."
        )


def test_inactive_users_read_nothing(kit, alice):
    alice.is_active = False
    alice.save()
    assert policy.access_for(alice, kit) is None
    assert not Child.objects.filter(policy.readable_children_q(alice)).exists()


def test_the_system_account_reads_and_writes_and_cannot_sign_in(kit):
    system = policy.system_user()
    assert policy.access_for(system, kit).basis == AccessBasis.SYSTEM
    assert not system.is_active


def test_lists_and_single_reads_agree_for_every_persona_and_child(request, kit, far_child, bob, dsl):
    """The two forms of the policy are one rule: check every persona against a mixed set of children."""
    team_child = ChildFactory()
    involve(team_child, agency=bob.agency, reason=InvolvementReason.UNIVERSAL_SERVICE)
    ended_child = ChildFactory()
    ended = involve(ended_child, request.getfixturevalue("alice"))
    services.involvement_end(actor=dsl, involvement=ended, reason="Closed.")
    children = [kit, far_child, team_child, ended_child]
    for name in EXPECTED_FOR_KIT:
        user = request.getfixturevalue(name)
        listed = set(Child.objects.filter(policy.readable_children_q(user)).values_list("pk", flat=True))
        single = {c.pk for c in children if policy.access_for(user, c) is not None}
        assert listed == single, name


def test_the_nightly_lapse_task_is_scheduled_and_runs(kit, alice, settings):
    from agencies.tasks import involvements_lapse
    from config.celery import app

    assert app.conf.beat_schedule["involvements-lapse"]["task"] == involvements_lapse.name
    later = timezone.now() + datetime.timedelta(days=settings.JIGSAW_INVOLVEMENT_LAPSE_DAYS + 1)
    with time_machine.travel(later, tick=False):
        assert involvements_lapse.apply().get() == 1
