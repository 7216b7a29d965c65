"""Reads of child data. Every one takes the acting user and goes through the access policy.

A child the actor may not read does not exist for them: `Child.DoesNotExist`, the same as for an
id that was never used. Each read of a record writes its access-log row in the caller's
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.db.models import QuerySet

from agencies import policy
from agencies.models import AccessBasis, Involvement
from agencies.services import Origin, access_log_record
from chronology.models import Child


def children_readable(*, actor) -> QuerySet[Child]:
    """Every child `actor` may read now (for lists); reading a record still goes through child_get."""
    return Child.objects.filter(policy.readable_children_q(actor)).distinct()


def child_get(*, actor, child_id: int, what: str, origin: Origin) -> tuple[Child, policy.Access]:
    """One child's record for `actor`, logged; `Child.DoesNotExist` when absent or not allowed."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("child_get must run inside the transaction that builds the response")
    child = Child.objects.select_related("area").filter(pk=child_id).first()
    access = policy.access_for(actor, child)
    if child is None or access is None:
        raise Child.DoesNotExist
    access_log_record(user=actor, child=child, access=access, what=what, origin=origin)
    return child, access


def child_involvements(*, actor, child: Child) -> QuerySet[Involvement]:
    if policy.access_for(actor, child) is None:
        raise Child.DoesNotExist
    return (
        Involvement.objects.filter(child=child)
        .select_related("agency", "practitioner", "created_by", "confirmed_by", "ended_by")
        .order_by("ended_at", "-started_on")
    )


@dataclass(frozen=True)
class Identifiers:
    nhs_number: str = ""
    upn: str = ""
    given_name: str = ""
    family_name: str = ""
    date_of_birth: date | None = None

    @property
    def by_name(self) -> bool:
        return bool(self.given_name and self.family_name and self.date_of_birth)

    def describe(self) -> str:
        if self.nhs_number:
            return "NHS number"
        if self.upn:
            return "unique pupil number"
        return "name and date of birth"


@dataclass(frozen=True)
class Match:
    child: Child
    access: policy.Access | None


def children_matching(*, actor, identifiers: Identifiers, origin: Origin) -> list[Match]:
    """Children matching exact identifiers: an NHS number, a UPN, or an exact name and date of birth.

    This is the only read that reveals a child the actor may not read, and then only the summary
    (name, date of birth, area), so they can record what they know or break glass. Each disclosure
    is logged.
    """
    if identifiers.nhs_number:
        found = Child.objects.filter(nhs_number=identifiers.nhs_number)
    elif identifiers.upn:
        found = Child.objects.filter(upn=identifiers.upn.upper())
    elif identifiers.by_name:
        found = Child.objects.filter(
            given_name__iexact=identifiers.given_name.strip(),
            family_name__iexact=identifiers.family_name.strip(),
            date_of_birth=identifiers.date_of_birth,
        )
    else:
        return []
    matches = []
    with transaction.atomic():
        for child in found.select_related("area")[:10]:
            access = policy.access_for(actor, child)
            if access is None:
                access_log_record(
                    user=actor,
                    child=child,
                    access=None,
                    basis=AccessBasis.IDENTIFIER_MATCH,
                    what=f"summary after an exact match on {identifiers.describe()}",
                    origin=origin,
                )
            matches.append(Match(child=child, access=access))
    return matches


def child_matching_one(*, actor, identifiers: Identifiers, child_id: int, origin: Origin) -> Child:
    """The child with `child_id`, only if it matches the exact identifiers given (re-checked, logged)."""
    for match in children_matching(actor=actor, identifiers=identifiers, origin=origin):
        if match.child.pk == child_id:
            return match.child
    raise Child.DoesNotExist
