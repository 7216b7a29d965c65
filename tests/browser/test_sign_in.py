from __future__ import annotations

import base64
import re

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from agencies.models import AgencyKind, Role
from tests.factories import TEST_PASSWORD, persona
from tests.helpers import current_code

pytestmark = pytest.mark.external


@pytest.fixture
def carol(transactional_db):
    return persona("carol", "agency-a", AgencyKind.HEALTH_VISITING, Role.PRACTITIONER)


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_sign_in_in_a_real_browser(live_server, browser, carol, screenshot_dir, javascript):
    context = browser.new_context(java_script_enabled=javascript, viewport={"width": 1100, "height": 800})
    page = context.new_page()
    problems = []
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    page.goto(live_server.url + "/")
    expect(page).to_have_url(live_server.url + "/sign-in?next=/")
    expect(page).to_have_title("Sign in – Jigsaw")
    # the GOV.UK stylesheet is served and applied: the header is black, the button green
    header_colour = page.eval_on_selector(".govuk-generic-header", "e => getComputedStyle(e).backgroundColor")
    assert header_colour == "rgb(11, 12, 12)"
    if javascript:
        assert "govuk-frontend-supported" in page.eval_on_selector("body", "e => e.className")
    page.screenshot(path=screenshot_dir / f"sign-in-{'js' if javascript else 'nojs'}.png", full_page=True)

    page.get_by_label("Password").fill("not it")
    page.get_by_label("Username").fill("carol")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_title("Error: Sign in – Jigsaw")
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()

    page.get_by_label("Username").fill("carol")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # first sign-in: set up the authenticator app from the key the page shows
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up your authenticator app")
    page.screenshot(path=screenshot_dir / f"two-factor-set-up-{'js' if javascript else 'nojs'}.png", full_page=True)
    device = TOTPDevice.objects.get(user=carol)
    assert page.locator(".jigsaw-secret").inner_text().replace(" ", "") == base64.b32encode(device.bin_key).decode()
    page.get_by_label("Security code").fill(current_code(device))
    page.get_by_role("button", name="Finish setting up").click()
    expect(page).to_have_url(live_server.url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {carol.get_full_name()}")
    page.screenshot(path=screenshot_dir / f"home-{'js' if javascript else 'nojs'}.png", full_page=True)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(re.escape(live_server.url + "/sign-in")))
    assert problems == []
    context.close()


def test_skip_link_is_the_first_thing_the_keyboard_reaches(live_server, browser, transactional_db):
    page = browser.new_page()
    page.goto(live_server.url + "/sign-in")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to main content"
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("#main-content$"))
    page.close()
