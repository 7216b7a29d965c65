"""axe-core in Chromium on every page type, as every persona who reaches it: no failure of WCAG 2.2 A or AA.

The pages and who reaches them come from the access matrix (tests/unit/test_access_matrix.py): a page added
there is checked here too. The data are built once for the module and each persona's browser context is signed
in once; each page and persona is still its own test, so a failure names both. Pages are also checked in their
error state (a form sent empty) and, for the core path, with JavaScript switched off.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.helpers import REPO
from tests.unit.test_access_matrix import EXPECTED

# The data are committed once for the module (see `site`); each test only reads them, through the browser.
pytestmark = [pytest.mark.external, pytest.mark.django_db]

AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]

# Not HTML pages: health check, downloads, images and the REST API (its own tests cover it).
NOT_PAGES = {"healthz", "access-log-csv", "pack-page", "pack-copy", "api-docs", "api-schema"}
# A block of the meeting page served alone for the page to poll while a pack renders: checked in the meeting page,
# as it is served and swapped in (test_a_packs_progress_swapped_into_the_meeting_page_has_no_wcag_failures).
NOT_PAGES |= {"pack-progress"}
# Reached only part-way through signing in: checked below with a session at that step.
SIGN_IN_STEPS = {"sign-in", "two-factor", "two-factor-set-up"}
# Personas for whom the matrix's data differ from those built here.
OVERRIDES = {
    # The matrix's pack is the full chronology, which is never reviewed page by page; here there is a copy for
    # parents, which the area lead (who manages every core group in the area) reviews.
    "pack-review": ["lead"],
}


def reached_by(name: str) -> list[str]:
    if name in OVERRIDES:
        return OVERRIDES[name]
    return [persona for persona, status in EXPECTED[name].items() if status == 200]


PAGES = [
    (name, persona)
    for name in EXPECTED
    if not name.startswith("api-") and name not in NOT_PAGES | SIGN_IN_STEPS
    for persona in reached_by(name)
]
# Part-way through signing in: alice has given her password; the newcomer has no authenticator app yet.
SIGN_IN_PAGES = [("sign-in", "anonymous"), ("two-factor", "alice-signing-in"), ("two-factor-set-up", "newcomer")]
# Bob opens the record of a child nobody in his agency works with; the emergency duty team may read, not write.
ERROR_PAGES = [("not-found", "bob", "child-detail", 404), ("forbidden", "edt", "event-new", 403)]

# A form sent empty: (page, persona, the button that sends it).
EMPTY_FORMS = [
    ("sign-in", "anonymous", "Sign in"),
    ("two-factor", "alice-signing-in", "Continue"),
    ("child-new", "alice", None),
    ("event-new", "alice", "Record the event"),
    ("event-amend", "alice", None),
    ("household-add", "alice", None),
    ("address-add", "alice", None),
    ("involvement-end", "dsl", None),
    ("disagreement-new", "alice", None),
    ("closure-new", "alice", None),
    ("core-group-new", "alice", None),
    ("meeting-new", "lead", "Record the meeting"),
    ("alert-detail", "dsl", "Close with this decision"),
]
# The core path with JavaScript switched off.
NO_JAVASCRIPT = ["home", "child-find", "child-detail", "event-new"]

PERSONA_ARGS = {
    "alice": ("agency-a", "health_visiting", "practitioner"),
    "ann": ("agency-a", "health_visiting", "practitioner"),
    "bob": ("agency-b", "school", "practitioner"),
    "dsl": ("agency-a", "health_visiting", "designated_safeguarding_lead"),
    "lead": ("agency-csc", "childrens_social_care", "area_safeguarding_lead"),
    "edt": ("agency-csc", "childrens_social_care", "emergency_duty_team"),
    "auditor": ("agency-csc", "childrens_social_care", "auditor"),
    "admin": ("agency-csc", "childrens_social_care", "administrator"),
}


@dataclass
class Site:
    url: str
    browser: object
    users: dict
    values: dict
    sessions: dict = field(default_factory=dict)
    contexts: dict = field(default_factory=dict)

    def context(self, persona: str, *, javascript: bool = True):
        key = (persona, javascript)
        if key not in self.contexts:
            context = self.browser.new_context(bypass_csp=True, viewport={"width": 1100, "height": 900})
            if not javascript:
                # axe itself needs JavaScript, so "without JavaScript" is each page exactly as served with every
                # script taken out before the browser sees it: nothing of ours runs, as with JavaScript off.
                context.route("**/*", without_scripts)
            if persona != "anonymous":
                context.add_cookies([{"name": "sessionid", "value": self.sessions[persona], "url": self.url}])
            self.contexts[key] = context
        return self.contexts[key]

    def sign_in(self) -> None:
        self.sessions = {persona: self.session(persona) for persona in self.users}

    def session(self, persona: str) -> str:
        """A session signed in as the persona: with the second factor passed, except part-way through."""
        from django.conf import settings
        from django.test import Client
        from django_otp import DEVICE_ID_SESSION_KEY

        from tests.factories import give_second_factor

        client = Client()
        user = self.users[persona]
        client.force_login(user)
        if persona != "newcomer":  # the newcomer has yet to set up an authenticator app
            device = give_second_factor(user)
            if not persona.endswith("-signing-in"):
                session = client.session
                session[DEVICE_ID_SESSION_KEY] = device.persistent_id
                session.save()
        return client.cookies[settings.SESSION_COOKIE_NAME].value

    def url_of(self, name: str, as_: str = "") -> str:
        from tests.unit.test_access_matrix import discover

        converters = dict(discover())[name]
        values = {key: self.values[name_key(as_ or name, key)] for key in converters}
        return self.url + reverse(name, kwargs=values)


def name_key(name: str, key: str) -> str:
    """Which value fills a URL's argument: the core group form is for a child who has no core group yet."""
    if name in {"core-group-new", "not-found"}:
        return "other_child_id"
    if name == "pack-review":
        return "parents_pack_id"
    return key


SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL | re.IGNORECASE)


def without_scripts(route) -> None:
    if route.request.resource_type != "document":
        route.continue_()
        return
    response = route.fetch()
    route.fulfill(response=response, body=SCRIPT.sub("", response.text()))


def build(browser, url: str) -> Site:
    from django.utils import timezone

    from agencies.models import AgencyKind, Role
    from chronology.services import EventInput, event_record
    from coregroups.models import Pack
    from coregroups.packs.content import pack_content
    from coregroups.packs.render import render_pack
    from tests.factories import ChildFactory, involve, persona
    from tests.unit import test_access_matrix as matrix

    users = {
        name: persona(name, agency, AgencyKind(kind), Role(role)) for name, (agency, kind, role) in PERSONA_ARGS.items()
    }
    users["admin"].is_staff = users["admin"].is_superuser = True
    users["admin"].save()
    users["alice"].first_name, users["alice"].last_name = "Alice", "Invented"
    users["alice"].save()
    users["newcomer"] = persona("newcomer", "agency-b", AgencyKind.SCHOOL, Role.PRACTITIONER)
    users["alice-signing-in"] = users["alice"]

    # Kit is a baby with a bruise: indicated level 4, an open flag and a critical alert.
    kit = ChildFactory(
        given_name="Kit",
        family_name="Invented",
        nhs_number="9991234519",
        date_of_birth=timezone.localdate() - datetime.timedelta(days=70),
    )
    involve(kit, users["alice"])
    event_record(
        actor=users["alice"],
        child=kit,
        data=EventInput(
            occurred_on=timezone.localdate(),
            agency=users["alice"].agency,
            type="injury",
            summary="Bruise on the cheek seen at the baby clinic; mother says Kit rolled into the cot side.",
            details={"injury_kind": "bruise"},
        ),
    )
    rae = ChildFactory(given_name="Rae", family_name="Invented", nhs_number="9991234543")
    involve(rae, users["alice"])

    values = {
        "child_id": kit.pk,
        "other_child_id": rae.pk,
        "involvement_id": kit.involvements.get(practitioner=users["alice"]).pk,
        "event_id": event_record(
            actor=users["alice"],
            child=kit,
            data=EventInput(
                occurred_on=timezone.localdate(),
                agency=users["alice"].agency,
                type="home_visit",
                summary="Visit: Kit seen asleep in the cot; mother says Kit is feeding well.",
            ),
        ).pk,
    }
    every = ["alert_id", "notification_id", "disagreement_id", "referral_id", "closure_id", "import_id"]
    values.update(matrix.escalation_records(kit=kit, alice=users["alice"], names=every))
    values.update(matrix.core_group_records(kit=kit, alice=users["alice"], names=["group_id"]))
    values.update(matrix.import_records(alice=users["alice"], names=every))
    full = Pack.objects.get(pk=values["pack_id"])
    meeting = full.meeting
    pdf, pages = render_pack(pack_content(kit, meeting, "parents"))
    now = timezone.now()

    def version(variant: str, number: int, **state) -> int:
        return Pack.objects.create(
            meeting=meeting, variant=variant, version=number, requested_by=full.requested_by, requested_at=now, **state
        ).pk

    values["parents_pack_id"] = version(
        "parents", 1, state="ready", progress=100, rendered_at=now, pdf=pdf, sha256=full.sha256, pages=pages
    )
    # A second version of the full pack, still rendering: the meeting page polls its progress.
    values["rendering_pack_id"] = version("full", 2, state="rendering", progress=40)
    site = Site(url=url, browser=browser, users=users, values=values)
    site.sign_in()
    return site


@pytest.fixture(scope="module")
def site(browser, django_db_setup, django_db_blocker):
    """The data and signed-in browser contexts every test here shares, on a live server of the module's own."""
    from django.core.management import call_command
    from pytest_django.live_server_helper import LiveServer

    from config.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    with django_db_blocker.unblock():
        server = LiveServer("localhost")
        server._live_server_modified_settings.enable()
        try:
            site = build(browser, server.url)
            yield site
        finally:
            for context in site.contexts.values() if "site" in locals() else ():
                context.close()
            server._live_server_modified_settings.disable()
            server.stop()
            call_command("flush", interactive=False, verbosity=0)
            app.conf.task_always_eager = eager


def axe(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})"
        ".then(r => r.violations)",
        WCAG_22_AA,
    )


def assert_no_violations(page, where: str) -> None:
    violations = axe(page)
    lines = [
        f"{v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(str(n["target"]) for n in v["nodes"])
        for v in violations
    ]
    assert not violations, f"{where} {page.url}: {len(violations)} WCAG 2.2 A/AA failures\n" + "\n".join(lines)


def open_page(site: Site, name: str, persona: str, *, javascript: bool = True, status: int = 200, as_: str = ""):
    page = site.context(persona, javascript=javascript).new_page()
    response = page.goto(site.url_of(name, as_))
    assert response.status == status, f"{persona} GET {name}: {response.status}"
    return page


@pytest.mark.parametrize(("name", "persona"), PAGES, ids=[f"{n}-as-{p}" for n, p in PAGES])
def test_page_has_no_wcag_failures(site, name, persona):
    page = open_page(site, name, persona)
    try:
        assert_no_violations(page, f"{name} as {persona}")
    finally:
        page.close()


def test_a_packs_progress_swapped_into_the_meeting_page_has_no_wcag_failures(site):
    page = open_page(site, "meeting", "alice")
    pack_id = site.values["rendering_pack_id"]
    block = f"#pack-{pack_id}"
    try:
        expect(page.locator(block)).to_contain_text("Rendering: 40% done")
        page.locator(block).evaluate("element => { element.dataset.servedWith = 'the page'; }")
        with page.expect_response(lambda r: r.url.endswith(reverse("pack-progress", args=[pack_id]))) as polled:
            pass
        assert polled.value.status == 200
        swapped = page.locator(f"{block}:not([data-served-with])")
        expect(swapped).to_be_attached()
        expect(swapped.get_by_label("Rendering: 40% done")).to_be_visible()
        assert_no_violations(page, "meeting as alice, a pack's progress swapped in")
    finally:
        page.close()


@pytest.mark.parametrize(("name", "persona"), SIGN_IN_PAGES, ids=[f"{n}-as-{p}" for n, p in SIGN_IN_PAGES])
def test_signing_in_has_no_wcag_failures(site, name, persona):
    page = site.context(persona).new_page()
    page.goto(site.url + reverse(name))
    expect(page.get_by_label("Username" if name == "sign-in" else "Security code")).to_be_visible()
    try:
        assert_no_violations(page, f"{name} as {persona}")
    finally:
        page.close()


@pytest.mark.parametrize(("kind", "persona", "name", "status"), ERROR_PAGES, ids=[e[0] for e in ERROR_PAGES])
def test_error_pages_have_no_wcag_failures(site, kind, persona, name, status):
    page = open_page(site, name, persona, status=status, as_=kind)
    try:
        assert_no_violations(page, f"{kind} ({name} as {persona})")
    finally:
        page.close()


@pytest.mark.parametrize(
    ("name", "persona", "button"), EMPTY_FORMS, ids=[f"{n}-as-{p}-sent-empty" for n, p, _ in EMPTY_FORMS]
)
def test_a_form_sent_empty_has_no_wcag_failures(site, name, persona, button):
    if name in SIGN_IN_STEPS:
        page = site.context(persona).new_page()
        page.goto(site.url + reverse(name))
    else:
        page = open_page(site, name, persona)
    try:
        main = page.get_by_role("main")
        send = main.get_by_role("button", name=button) if button else main.locator("form button[type=submit]")
        send.first.click()
        expect(page.locator(".govuk-error-summary")).to_be_visible()
        expect(page).to_have_title(re.compile(r"^Error: "))
        assert_no_violations(page, f"{name} as {persona}, sent empty")
    finally:
        page.close()


@pytest.mark.parametrize("name", NO_JAVASCRIPT)
def test_the_core_path_without_javascript_has_no_wcag_failures(site, name):
    page = open_page(site, name, "alice", javascript=False)
    try:
        assert "js-enabled" not in page.evaluate("document.body.className")
        assert_no_violations(page, f"{name} as alice without JavaScript")
        if name == "event-new":
            page.get_by_role("button", name="Record the event").click()
            expect(page.locator(".govuk-error-summary")).to_be_visible()
            assert_no_violations(page, f"{name} as alice without JavaScript, sent empty")
    finally:
        page.close()
