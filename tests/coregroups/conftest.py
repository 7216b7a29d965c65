from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from agencies.models import Role
from chronology.services import EventInput, event_record
from coregroups import services
from coregroups.models import MemberKind, Presence, Safer
from tests.factories import UserFactory, involve


@pytest.fixture(autouse=True)
def _tasks_in_process(eager):
    """Packs render here when requested, as in the embedded default; the pack worker is proven elsewhere."""


@pytest.fixture
def chair(kit, alice):
    """A social worker who chairs kit's core group (the usual chair)."""
    user = UserFactory(username="chair", agency__code="agency-csc", roles=[Role.PRACTITIONER, Role.CORE_GROUP_CHAIR])
    user.job_title = "Social worker"
    user.save()
    involve(kit, user)
    return user


@pytest.fixture
def group(kit, alice, chair):
    group = services.core_group_start(
        actor=chair,
        child=kit,
        plan="cp",
        category="neglect",
        started_on=timezone.localdate() - datetime.timedelta(days=60),
        chair=chair,
    )
    services.member_add(actor=chair, group=group, kind=MemberKind.PROFESSIONAL, user=alice)
    services.member_add(actor=chair, group=group, kind=MemberKind.PARENT, name="Jo Invented", relationship="Mother")
    return group


def entry(kit, user, days_ago, summary, **extra):
    return event_record(
        actor=user,
        child=kit,
        data=EventInput(
            occurred_on=timezone.localdate() - datetime.timedelta(days=days_ago),
            agency=user.agency,
            type=extra.pop("type", "home_visit"),
            summary=summary,
            child_seen=extra.pop("child_seen", True),
            **extra,
        ),
    )


def meeting_input(group, *, days_ago=1, presence=None, **changes):
    from coregroups.services import MeetingInput

    members = list(group.members.all())
    data = MeetingInput(
        held_on=timezone.localdate() - datetime.timedelta(days=days_ago),
        child_view="Kit said they like school dinners and want their mum to be less sad.",
        safer=Safer.PARTLY,
        safer_evidence="Kit attended school every day this month; the home was warm at the last visit.",
        decisions="Continue the plan; health visitor to visit weekly.",
        attendance={m.pk: (presence or {}).get(m.name, Presence.PRESENT) for m in members},
        family_views={m.pk: "I am trying my best." for m in members if m.kind == MemberKind.PARENT},
        progress={a.pk: ("in_progress", "Visits happening weekly.", "") for a in group.actions.all()},
    )
    for key, value in changes.items():
        setattr(data, key, value)
    return data
