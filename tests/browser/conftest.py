"""Playwright driving Debian's Chromium (JIGSAW_CHROMIUM, /usr/bin/chromium by default)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.helpers import REPO

# Playwright's sync API runs an event loop in this thread; Django's guard against calling the ORM
# from async code would otherwise refuse the test's own database set-up.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOTS = REPO / "var" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("JIGSAW_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        pytest.fail(f"Chromium was not found at {executable}: install Debian's chromium (make test does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def screenshot_dir():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def sign_in_as(live_server):
    """Sign a page in through the real forms: password, then the authenticator code."""
    from playwright.sync_api import expect

    from tests.factories import TEST_PASSWORD, give_second_factor
    from tests.helpers import current_code

    def sign_in(page, user):
        device = give_second_factor(user)
        page.goto(live_server.url + "/sign-in")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(TEST_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Enter your security code")
        page.get_by_label("Security code").fill(current_code(device))
        page.get_by_role("button", name="Continue").click()
        expect(page).to_have_url(live_server.url + "/")

    return sign_in
