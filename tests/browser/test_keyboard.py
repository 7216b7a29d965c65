"""Keyboard only, no mouse: a practitioner signs in and logs an event; a designated safeguarding lead acknowledges
an alert from the queue. Every control used shows where the focus is."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from agencies.models import AgencyKind, Role
from chronology.models import Event
from escalation.models import Alert, AlertState
from escalation.services import alerts
from tests.factories import TEST_PASSWORD, ChildFactory, give_second_factor, involve, persona
from tests.helpers import current_code

pytestmark = [pytest.mark.external, pytest.mark.usefixtures("eager")]

# GOV.UK Frontend's focus state: the focus colour as an outline, a box shadow or a background; for radios and
# checkboxes (whose input is hidden behind the drawn control) a shadow around the drawn circle or box.
FOCUS_IS_VISIBLE = """() => {
  const e = document.activeElement;
  const yellow = 'rgb(255, 221, 0)';
  const shows = s => (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2 && s.outlineColor === yellow)
    || s.backgroundColor === yellow || s.boxShadow.includes(yellow);
  if (shows(getComputedStyle(e))) return true;
  if (e.matches('.govuk-radios__input, .govuk-checkboxes__input')) {
    const label = document.querySelector(`label[for="${e.id}"]`);
    return Boolean(label) && shows(getComputedStyle(label, '::before'));
  }
  return false;
}"""


def focused(locator) -> bool:
    return locator.evaluate("e => e === document.activeElement")


def tab_to(page, locator, *, most: int = 120) -> None:
    """Press Tab until `locator` has the focus (as a keyboard user does), then check the focus can be seen."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if focused(locator):
            assert page.evaluate(FOCUS_IS_VISIBLE), f"the focus is not visible on {locator}"
            return
    raise AssertionError(f"Tab never reached {locator}")


def test_a_practitioner_signs_in_and_logs_an_event_with_the_keyboard_alone(live_server, browser, transactional_db):
    eve = persona("eve", "agency-a", AgencyKind.HEALTH_VISITING, Role.PRACTITIONER)
    child = ChildFactory(given_name="Noor", family_name="Invented", date_of_birth=datetime.date(2022, 2, 2))
    involve(child, eve)
    device = give_second_factor(eve)
    page = browser.new_page(viewport={"width": 1100, "height": 900})

    page.goto(live_server.url + "/sign-in")
    tab_to(page, page.get_by_label("Username"))
    page.keyboard.type(eve.username)
    tab_to(page, page.get_by_label("Password"))
    page.keyboard.type(TEST_PASSWORD)
    tab_to(page, page.get_by_role("button", name="Sign in"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your security code")
    tab_to(page, page.get_by_label("Security code"))
    page.keyboard.type(current_code(device))
    page.keyboard.press("Enter")
    expect(page).to_have_url(live_server.url + "/")

    tab_to(page, page.get_by_role("main").get_by_role("link", name="Noor Invented").first)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Noor Invented")
    tab_to(page, page.get_by_role("link", name="Record an event"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Record an event")

    kind = page.get_by_label("What kind of event is this?")
    tab_to(page, kind)
    page.keyboard.type("Home visit")
    expect(kind).to_have_value("home_visit")
    tab_to(page, page.get_by_label("Day", exact=True).first)
    page.keyboard.type("4")
    tab_to(page, page.get_by_label("Month", exact=True).first)
    page.keyboard.type("11")
    tab_to(page, page.get_by_label("Year", exact=True).first)
    page.keyboard.type("2025")
    tab_to(page, page.get_by_label("What happened"))
    page.keyboard.type("Home visit: Noor seen playing with her sister; the kitchen was clean and stocked.")
    seen = page.get_by_role("group", name="Was the child seen?")
    tab_to(page, seen.get_by_role("radio").first)
    page.keyboard.press("Space")
    expect(seen.get_by_role("radio", name="Yes")).to_be_checked()
    tab_to(page, page.get_by_label("The child's voice"))
    page.keyboard.type("Noor showed me her drawing of the family and said she likes bath time.")
    tab_to(page, page.get_by_role("button", name="Record the event"))
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Noor Invented")
    entry = page.locator(".jigsaw-entry").first
    expect(entry).to_contain_text("Home visit")
    expect(entry).to_contain_text("the kitchen was clean and stocked")
    event = Event.objects.get()
    assert (event.type, event.occurred_on, event.child_seen) == ("home_visit", datetime.date(2025, 11, 4), True)
    page.close()


def test_a_designated_safeguarding_lead_acknowledges_an_alert_with_the_keyboard_alone(
    live_server, browser, sign_in_as, transactional_db
):
    hana = persona("hana", "agency-a", AgencyKind.HEALTH_VISITING, Role.PRACTITIONER)
    dora = persona("dora", "agency-a", AgencyKind.HEALTH_VISITING, Role.DESIGNATED_SAFEGUARDING_LEAD)
    child = ChildFactory(
        given_name="Noor", family_name="Invented", date_of_birth=timezone.localdate().replace(year=2021)
    )
    involve(child, hana)
    alert = alerts.alert_raise(
        child=child,
        cause="flag:toxic_trio",
        severity="high",
        title="Toxic trio evidenced",
        text="Domestic abuse, parental mental ill health and substance misuse are all recorded.",
    )
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    sign_in_as(page, dora)

    tab_to(page, page.get_by_role("navigation", name="Menu").get_by_role("link", name="Alerts"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Alerts and escalations")
    tab_to(page, page.locator("tbody tr", has_text="Noor Invented").get_by_role("link", name="Noor Invented"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(alert.title)
    tab_to(page, page.get_by_role("button", name="Acknowledge this alert"))
    page.keyboard.press("Space")
    expect(page.get_by_role("alert").filter(has_text="Alert acknowledged")).to_be_visible()
    alert.refresh_from_db()
    assert alert.state == AlertState.ACKNOWLEDGED and alert.acknowledged_by == dora
    assert Alert.objects.count() == 1
    page.close()
