"""Every URL the project serves, for every persona: exactly what the access policy allows.

The URLs are discovered from the URL configuration. A URL that is not classified below fails the
test, so a page added later without a decision about who may reach it cannot land.
"""

from __future__ import annotations

import pytest
from django.contrib import admin as admin_site
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from conftest import PERSONAS
from tests.helpers import readable

SIGNED_IN = ["alice", "ann", "bob", "dsl", "lead", "edt", "auditor", "admin"]


def discover(resolver=None, namespace: str = "") -> list[tuple[str, list[str]]]:
    """(name, keyword arguments) of every named URL pattern outside Django admin."""
    found = []
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin":
                continue
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found += discover(entry, ns)
        elif isinstance(entry, URLPattern):
            assert entry.name, f"every URL needs a name: {entry.pattern}"
            found.append((namespace + entry.name, list(entry.pattern.converters)))
    return found


def everyone(signed_in: int, anonymous: int = 302) -> dict[str, int]:
    return {**dict.fromkeys(SIGNED_IN, signed_in), "anonymous": anonymous}


def only(allowed: dict[str, int], others: int = 404) -> dict[str, int]:
    return {**everyone(others), **allowed}


def api_only(allowed: dict[str, int], others: int = 404) -> dict[str, int]:
    return {**only(allowed, others), "anonymous": 401}


# What each persona gets on GET. The child is kit (alice works with kit); the involvement is alice's.
EXPECTED: dict[str, dict[str, int]] = {
    "healthz": everyone(200, anonymous=200),
    "accessibility": everyone(200, anonymous=200),
    "sign-in": everyone(302, anonymous=200),
    "sign-out": everyone(405),
    "two-factor": everyone(302),
    "two-factor-set-up": everyone(302),
    "home": everyone(200),
    "child-find": everyone(200),
    "children-list": everyone(200),
    "child-new": everyone(200),
    "child-details": only({"alice": 200, "dsl": 200, "lead": 200, "edt": 403}),
    "household-add": only({"alice": 200, "dsl": 200, "lead": 200, "edt": 403}),
    "address-add": only({"alice": 200, "dsl": 200, "lead": 200, "edt": 403}),
    "child-claim": everyone(405),
    "child-break-glass": everyone(405),
    "child-detail": only({"alice": 200, "dsl": 200, "lead": 200, "edt": 200}),
    "child-audit-open": only({"auditor": 200}),
    "involvement-add": only({"dsl": 200, "lead": 200, "alice": 403, "edt": 403}),
    "involvement-end": only({"dsl": 200, "lead": 200, "alice": 403, "edt": 403}),
    "event-new": only({"alice": 200, "dsl": 200, "lead": 200, "edt": 403}),
    "event-amend": only({"alice": 200, "dsl": 200, "lead": 200, "edt": 403}),
    "involvement-confirm": everyone(405),
    "involvement-renew": everyone(405),
    "involvements-to-confirm": only({"dsl": 200}),
    "match-review": only({"dsl": 200, "lead": 200}),
    "child-merges": only({"lead": 200}),
    "access-reviews": only({"lead": 200, "auditor": 200}),
    "level-history": only({"alice": 200, "dsl": 200, "lead": 200, "edt": 200}),
    "thresholds-report": only({"lead": 200, "admin": 200}),
    "access-log": only({"auditor": 200, "lead": 200}),
    "access-log-csv": only({"auditor": 200, "lead": 200}),
    # The queue and the notifications list show each user only what is theirs.
    "alert-queue": everyone(200),
    "alert-detail": only({"dsl": 200, "lead": 200}),
    "notifications": everyone(200),
    "notification-open": only({"alice": 302}),
    "disagreement-new": only({"alice": 200, "dsl": 200, "lead": 200, "edt": 403}),
    "disagreement-detail": only({"alice": 200, "lead": 200}),
    # These records come with a referral to agency B, which gave its team (bob) an involvement with kit.
    "referral-detail": only({"alice": 200, "bob": 200, "dsl": 200, "lead": 200, "edt": 200}),
    "closure-new": only({"alice": 200, "dsl": 200, "lead": 200, "edt": 403}),
    "closure-detail": only({"alice": 200, "bob": 200, "dsl": 200, "lead": 200, "edt": 200}),
    "supervision": only({"dsl": 200}, others=403),
    # Kit's core group, chaired by someone else, alice a member; a ready full pack, a copy issued to the chair.
    "core-group-new": only({"alice": 200, "dsl": 200, "lead": 200, "edt": 403}),
    "core-group": only({"alice": 200, "dsl": 200, "lead": 200, "edt": 200}),
    "core-group-member-add": everyone(405),
    "core-group-action-add": everyone(405),
    "meeting-new": only({"lead": 200, "alice": 403, "dsl": 403, "edt": 403}),
    "meeting": only({"alice": 200, "dsl": 200, "lead": 200, "edt": 200}),
    "pack-request": everyone(405),
    "pack-progress": only({"alice": 200, "lead": 200, "dsl": 403, "edt": 403}),
    "pack-issue": everyone(405),
    "pack-review": only({"lead": 404, "alice": 403, "dsl": 403, "edt": 403}),
    "pack-page": only({"lead": 200, "alice": 403, "dsl": 403, "edt": 403}),
    "pack-page-reviewed": everyone(405),
    "pack-sign-off": everyone(405),
    "pack-copy": only({"alice": 403, "dsl": 403, "lead": 403, "edt": 403}),
    # The REST API, called by the browser with its session (agency systems' keys: tests/api). Signed out: 401.
    "api-schema": everyone(200, anonymous=200),
    "api-docs": everyone(200, anonymous=200),
    "api-child-detail": api_only({"alice": 200, "dsl": 200, "lead": 200, "edt": 200}),
    "api-children": {**everyone(400), "anonymous": 401},  # a search naming nothing is refused, naming the fields
    "api-chronology": api_only({"alice": 200, "dsl": 200, "lead": 200, "edt": 200}),
    "api-event-detail": api_only({"alice": 200, "dsl": 200, "lead": 200, "edt": 200}),
    "api-event-amend": {**everyone(405), "anonymous": 401},
    "api-import-create": {**everyone(405), "anonymous": 401},
    "api-import-detail": api_only({"alice": 200, "ann": 200, "dsl": 200}),  # the importing agency's people
    "api-assessment": api_only({"alice": 200, "dsl": 200, "lead": 200, "edt": 200}),
    "api-timeline": api_only({"alice": 200, "dsl": 200, "lead": 200, "edt": 200}),
    "api-alerts": {**everyone(200), "anonymous": 401},  # each sees only the alerts they work
    "api-alert-acknowledge": {**everyone(405), "anonymous": 401},
    "api-access-log": api_only({"auditor": 200, "lead": 200}, others=403),
}


def test_every_url_is_classified():
    names = {name for name, _ in discover()}
    assert names == set(EXPECTED), (
        f"unclassified: {sorted(names - set(EXPECTED))}; stale: {sorted(set(EXPECTED) - names)}"
    )


def kit_event(kit, alice):
    from datetime import date

    from chronology.services import EventInput, event_record

    data = EventInput(occurred_on=date(2025, 2, 1), agency=alice.agency, type="home_visit", summary="Visit: Kit seen.")
    return event_record(actor=alice, child=kit, data=data)


def escalation_records(*, kit, alice, names) -> dict[str, int]:
    """An alert, a notification of alice's, a disagreement, a referral and a closure request on kit."""
    from django.utils import timezone

    from agencies.models import AgencyKind
    from chronology.services import EventInput, event_record
    from escalation.models import Notification
    from escalation.services import alerts, disagreements, loops
    from tests.factories import AgencyFactory

    wanted = set(names) & {"alert_id", "notification_id", "disagreement_id", "referral_id", "closure_id"}
    if not wanted:
        return {}
    values = {}
    alert = alerts.alert_raise(child=kit, cause="flag:toxic_trio", severity="high", title="Toxic trio", text="x")
    values["alert_id"] = alert.pk
    values["notification_id"] = Notification.objects.create(
        key="matrix", user=alice, created_at=alert.created_at, severity="high", title="t", link="/", alert=alert
    ).pk
    values["disagreement_id"] = disagreements.disagreement_raise(
        actor=alice,
        child=kit,
        decision_disputed="The decision of 1 November to close the referral.",
        concern="Kit has not been seen alone by anyone in three months of concerns.",
    ).pk
    agency_b = AgencyFactory(code="agency-b", name="Agency B", kind=AgencyKind.SCHOOL)
    referral = event_record(
        actor=alice,
        child=kit,
        data=EventInput(
            occurred_on=timezone.localdate(),
            agency=alice.agency,
            type="referral",
            summary="Referral to school about Kit's weight.",
            details={"to_agency": agency_b.code},
        ),
    )
    values["referral_id"] = referral.referral_loop.pk
    values["closure_id"] = loops.closure_request(
        actor=alice, child=kit, occurred_on=timezone.localdate(), summary="Family engaging well; closing with consent."
    ).pk
    return values


_TINY_PDF: list[bytes] = []


def import_records(*, alice, names) -> dict:
    """A batch import agency A sent through the API."""
    if "import_id" not in names:
        return {}
    from django.utils import timezone

    from chronology.models import BatchImport

    return {
        "import_id": BatchImport.objects.create(agency=alice.agency, requested_by=alice, created_at=timezone.now()).pk
    }


def core_group_records(*, kit, alice, names) -> dict[str, int]:
    """Kit's core group chaired by `chair` with alice a member, a meeting, a ready pack, a copy for the chair."""
    import hashlib

    from django.utils import timezone

    from agencies.models import Role
    from coregroups import services
    from coregroups.models import MemberKind, Pack, PackCopy
    from coregroups.packs.render import stamp_copy
    from tests.coregroups.conftest import meeting_input
    from tests.factories import UserFactory, involve

    if not set(names) & {"group_id", "meeting_id", "pack_id", "copy_id", "page"}:
        return {}
    chair = UserFactory(username="chair", agency__code="agency-csc", roles=[Role.PRACTITIONER, Role.CORE_GROUP_CHAIR])
    involve(kit, chair)
    group = services.core_group_start(actor=chair, child=kit, plan="cp", started_on=timezone.localdate(), chair=chair)
    services.member_add(actor=chair, group=group, kind=MemberKind.PROFESSIONAL, user=alice)
    meeting = services.meeting_record(actor=chair, group=group, data=meeting_input(group, days_ago=0))
    if not _TINY_PDF:  # one real render for the whole matrix: access is what is tested here
        from coregroups.packs.content import pack_content
        from coregroups.packs.render import render_pack

        _TINY_PDF.append(render_pack(pack_content(kit, meeting, "full"))[0])
    pdf = _TINY_PDF[0]
    now = timezone.now()
    pack = Pack.objects.create(
        meeting=meeting,
        variant="full",
        version=1,
        state="ready",
        progress=100,
        requested_by=chair,
        requested_at=now,
        rendered_at=now,
        pdf=pdf,
        sha256=hashlib.sha256(pdf).hexdigest(),
        pages=1,
    )
    copy = stamp_copy(pdf, "Printed by chair, copy 1")
    issued = PackCopy.objects.create(
        pack=pack,
        number=1,
        issued_to=chair,
        issued_at=now,
        pdf=copy,
        sha256=hashlib.sha256(copy).hexdigest(),
        master_sha256=pack.sha256,
    )
    return {"group_id": group.pk, "meeting_id": meeting.pk, "pack_id": pack.pk, "copy_id": issued.pk, "page": 1}


def url_with_records(name: str, converters: list[str], *, kit, alice) -> str:
    """The URL `name`, its parameters filled with kit's records as alice's agency holds them (built here)."""
    values = {
        "child_id": kit.pk,
        "involvement_id": kit.involvements.get(practitioner=alice).pk,
        "event_id": kit_event(kit, alice).pk,
    }
    values.update(escalation_records(kit=kit, alice=alice, names=converters))
    values.update(core_group_records(kit=kit, alice=alice, names=converters))
    values.update(import_records(alice=alice, names=converters))
    return reverse(name, kwargs={key: values[key] for key in converters})


@pytest.fixture
def as_persona(request, client_for, kit, settings):
    settings.REDIS_URL = ""  # /healthz answers for the embedded default here; its own tests cover Redis

    def sign_in(name):
        if name == "anonymous":
            return request.getfixturevalue("anonymous")
        return client_for(request.getfixturevalue(name))

    return sign_in


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(("name", "converters"), discover(), ids=[n for n, _ in discover()])
def test_each_persona_gets_exactly_what_the_policy_allows(as_persona, kit, alice, persona, name, converters):
    client = as_persona(persona)
    url = url_with_records(name, converters, kit=kit, alice=alice)
    response = client.get(url)
    assert response.status_code == EXPECTED[name][persona], f"{persona} GET {url}"
    if persona == "anonymous" and response.status_code == 302:
        assert response["Location"].startswith(reverse("sign-in"))


def test_administration_holds_no_child_data(client_for, admin, kit):
    registered = {model._meta.label for model in admin_site.site._registry}
    assert not registered & {"chronology.Child", "agencies.AccessLog", "agencies.ExceptionalAccess"}
    client = client_for(admin)
    involvements = client.get(reverse("admin:agencies_involvement_changelist")).content.decode()
    one = client.get(reverse("admin:agencies_involvement_change", args=[kit.involvements.get().pk])).content.decode()
    assert f"record {kit.pk}" in involvements
    for page in (involvements, one):
        assert "Kit" not in readable(page) and kit.nhs_number not in page
    assert (
        client.post(reverse("admin:agencies_involvement_delete", args=[kit.involvements.get().pk])).status_code == 403
    )


@pytest.mark.parametrize("persona", PERSONAS)
def test_administration_is_for_administrators(as_persona, persona):
    client = as_persona(persona)
    urls = [reverse("admin:index")] + [
        reverse(f"admin:{m._meta.app_label}_{m._meta.model_name}_changelist") for m in admin_site.site._registry
    ]
    for url in urls:
        response = client.get(url)
        if persona == "admin":
            assert response.status_code == 200, url
        else:
            assert response.status_code == 302, url
            assert "/admin/login/" in response["Location"] or response["Location"].startswith(reverse("sign-in"))
