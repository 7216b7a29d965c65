"""A practitioner logs an event through the form, with the keyboard, and finds it on the chronology."""

from __future__ import annotations

import datetime

import pytest
from playwright.sync_api import expect

from agencies.models import AgencyKind, Role
from chronology.models import Event
from tests.factories import ChildFactory, involve, persona

pytestmark = pytest.mark.external


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_log_an_event_and_find_it_on_the_chronology(
    live_server, browser, sign_in_as, transactional_db, screenshot_dir, javascript
):
    eve = persona("eve", "agency-a", AgencyKind.HEALTH_VISITING, Role.PRACTITIONER)
    child = ChildFactory(given_name="Noor", family_name="Invented", date_of_birth=datetime.date(2022, 2, 2))
    involve(child, eve)
    context = browser.new_context(java_script_enabled=javascript, viewport={"width": 1100, "height": 900})
    page = context.new_page()
    sign_in_as(page, eve)
    page.goto(f"{live_server.url}/children/{child.pk}/")
    page.get_by_role("link", name="Record an event").click()

    page.get_by_label("What kind of event is this?").select_option("did_not_attend")
    page.get_by_label("Day", exact=True).first.fill("4")
    page.get_by_label("Month", exact=True).first.fill("11")
    page.get_by_label("Year", exact=True).first.fill("2025")
    page.get_by_label("What happened").fill(
        "Noor's 3-year review at the clinic: nobody came and mother did not answer."
    )
    page.get_by_role("radio", name="No").first.check()
    page.get_by_role("button", name="Record the event").click()
    # the nudge: a three-year-old cannot take herself to an appointment
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Was not brought")
    page.screenshot(path=screenshot_dir / f"event-nudge-{'js' if javascript else 'nojs'}.png", full_page=True)
    assert not Event.objects.exists()

    page.get_by_label("What kind of event is this?").select_option("was_not_brought")
    page.get_by_label("Neglect (16A)").check()
    page.get_by_label("This is significant for the child").check()
    page.get_by_role("button", name="Record the event").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Noor Invented")
    entry = page.locator(".jigsaw-entry").first
    expect(entry).to_contain_text("Was not brought")
    expect(entry).to_contain_text("nobody came and mother did not answer")
    expect(entry).to_contain_text("Neglect")
    page.screenshot(path=screenshot_dir / f"chronology-{'js' if javascript else 'nojs'}.png", full_page=True)
    assert Event.objects.get().type == "was_not_brought"
    context.close()
