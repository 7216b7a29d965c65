"""A practitioner finds their child by a misspelt name, and learns of another only by exact identifiers."""

from __future__ import annotations

import datetime

import pytest
from playwright.sync_api import expect

from agencies.models import AccessLog, AgencyKind, Role
from tests.factories import ChildFactory, involve, persona

pytestmark = pytest.mark.external


@pytest.fixture
def children(transactional_db):
    dee = persona("dee", "agency-a", AgencyKind.HEALTH_VISITING, Role.PRACTITIONER)
    mia = ChildFactory(given_name="Mia", family_name="Thornton", date_of_birth=datetime.date(2019, 3, 27))
    involve(mia, dee)
    zoe = ChildFactory(
        given_name="Zoë", family_name="Thornton", date_of_birth=datetime.date(2018, 7, 2), nhs_number="9991234527"
    )
    return dee, mia, zoe


def test_search_lists_readable_children_and_discloses_another_only_on_exact_identifiers(
    live_server, browser, sign_in_as, children, screenshot_dir
):
    dee, mia, zoe = children
    page = browser.new_page(viewport={"width": 1100, "height": 900}, java_script_enabled=False)
    sign_in_as(page, dee)

    page.goto(f"{live_server.url}/children/find")
    page.get_by_label("Name").fill("mia thorntan")
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("heading", name="1 child found")).to_be_visible()
    expect(page.get_by_role("heading", name="Children you can open")).to_be_visible()
    expect(page.get_by_role("heading", name="A child matching the identifiers exactly")).to_have_count(0)
    expect(page.get_by_role("link", name="Zoë Thornton")).to_have_count(0)
    row = page.get_by_role("row", name="Mia Thornton")
    expect(row).to_contain_text("27 March 2019")
    expect(row).to_contain_text("Own involvement")
    page.screenshot(path=screenshot_dir / "search-readable.png", full_page=True)
    assert not AccessLog.objects.exists()
    row.get_by_role("link", name="Mia Thornton").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mia Thornton")
    assert AccessLog.objects.filter(user=dee, child=mia).count() == 1

    page.goto(f"{live_server.url}/children/find")
    page.get_by_label("Name").fill("Zoe Thornton")
    page.get_by_label("Day").fill("2")
    page.get_by_label("Month").fill("7")
    page.get_by_label("Year").fill("2018")
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("heading", name="A child matching the identifiers exactly")).to_be_visible()
    expect(page.get_by_role("heading", name="Zoë Thornton")).to_be_visible()
    expect(page.get_by_role("button", name="Record information about Zoë")).to_be_visible()
    expect(page.get_by_text("Open this record in an emergency (break-glass)")).to_be_visible()
    page.screenshot(path=screenshot_dir / "search-exact.png", full_page=True)
    assert AccessLog.objects.filter(user=dee, child=zoe, basis="identifier_match").count() == 1

    page.goto(f"{live_server.url}/children/find")
    page.get_by_label("NHS number").fill("999 123 4528")
    page.get_by_label("Day").fill("31")
    page.get_by_label("Month").fill("2")
    page.get_by_label("Year").fill("2019")
    page.get_by_role("button", name="Find").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("The date of birth must be a real date")
    expect(summary).to_contain_text("Enter a valid 10-digit NHS number")
    expect(page.locator("#results")).to_have_count(0)
    page.screenshot(path=screenshot_dir / "search-errors.png", full_page=True)
    page.close()
