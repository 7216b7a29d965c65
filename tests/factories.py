"""Every test's data is made here: invented people in invented agencies."""

from __future__ import annotations

import datetime

import factory
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from agencies.models import Agency, AgencyKind, Area, Involvement, InvolvementReason, Role, RoleGrant, User

TEST_PASSWORD = "correct horse battery staple"


class AreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Area
        django_get_or_create = ("code",)

    code = "northshire"
    name = "Northshire"


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"agency-{n}")
    name = factory.Sequence(lambda n: f"Invented agency {n}")
    kind = AgencyKind.OTHER
    area = factory.SubFactory(AreaFactory)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"Person{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.invalid")
    agency = factory.SubFactory(AgencyFactory)
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create:
            self.save()
            for role in extracted or ():
                RoleGrant.objects.get_or_create(user=self, role=role)


def persona(username: str, agency_code: str, kind: AgencyKind, *roles: Role) -> User:
    agency = AgencyFactory(code=agency_code, name=agency_code.replace("-", " ").title(), kind=kind)
    return UserFactory(username=username, agency=agency, roles=roles)


class ChildFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "chronology.Child"

    given_name = factory.Sequence(lambda n: f"Kit{n}")
    family_name = "Invented"
    date_of_birth = datetime.date(2021, 5, 4)
    area = factory.SubFactory(AreaFactory)


def involve(child, user=None, *, agency=None, reason=InvolvementReason.ALLOCATED, days_ago=30, **extra):
    """An active involvement of `user` (or of `agency`'s team when no user) with `child`."""
    now = timezone.now()
    return Involvement.objects.create(
        child=child,
        agency=agency or user.agency,
        practitioner=user,
        reason=reason,
        started_on=(now - datetime.timedelta(days=days_ago)).date(),
        created_by=user or UserFactory(),
        last_activity_at=now,
        **extra,
    )


def give_second_factor(user) -> TOTPDevice:
    device, _ = TOTPDevice.objects.get_or_create(user=user, name="test", defaults={"confirmed": True})
    return device


def amend(actor, original, kind: str, reason: str):
    """An amendment of `original` (a correction or "filed_in_error"), recorded by `actor` for their agency (the
    original's agency when the actor has none, as the system account)."""
    from chronology import services

    return services.event_record(
        actor=actor,
        child=original.child,
        data=services.EventInput(
            occurred_on=original.occurred_on,
            agency=actor.agency or original.agency,
            type=original.type,
            summary=original.summary,
            amends=original,
            amendment_kind=kind,
            amendment_reason=reason,
        ),
    )
