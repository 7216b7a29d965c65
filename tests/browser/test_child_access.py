"""A practitioner reaches a child they work with, is refused one they do not, and breaks glass."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from agencies.models import AccessBasis, AccessLog, AgencyKind, Role
from tests.factories import ChildFactory, involve, persona

pytestmark = pytest.mark.external


@pytest.fixture
def family(transactional_db):
    dee = persona("dee", "agency-a", AgencyKind.HEALTH_VISITING, Role.PRACTITIONER)
    mine = ChildFactory(given_name="Poppy", family_name="Invented", nhs_number="9991234500")
    involve(mine, dee)
    other = ChildFactory(given_name="Rowan", family_name="Invented", nhs_number="9991234527")
    return dee, mine, other


def test_practitioner_reaches_their_child_not_another_and_breaks_glass(
    live_server, browser, sign_in_as, family, screenshot_dir
):
    dee, mine, other = family
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    sign_in_as(page, dee)

    page.goto(f"{live_server.url}/children/{mine.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Poppy Invented")
    page.screenshot(path=screenshot_dir / "child-record.png", full_page=True)

    response = page.goto(f"{live_server.url}/children/{other.pk}/")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.get_by_text("Rowan")).to_have_count(0)

    page.get_by_role("link", name="Find a child").click()
    page.get_by_label("NHS number").fill("999 123 4527")
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("heading", name="1 child found")).to_be_visible()
    page.get_by_text("Open this record in an emergency (break-glass)").click()
    page.get_by_label("Why do you need to open this record now?").fill(
        "Rowan's mother called the ward in crisis at night; we need the involved agencies now."
    )
    page.screenshot(path=screenshot_dir / "break-glass.png", full_page=True)
    page.get_by_role("button", name="Open the record (break-glass)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rowan Invented")
    expect(page.get_by_text("You opened this record with break-glass")).to_be_visible()
    page.screenshot(path=screenshot_dir / "break-glass-record.png", full_page=True)
    assert AccessLog.objects.filter(user=dee, child=other, basis=AccessBasis.BREAK_GLASS).count() == 1
    page.close()
