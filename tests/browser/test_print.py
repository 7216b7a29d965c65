"""A practitioner prints a child's chronology: the paper carries the record and its marking, not the website."""

from __future__ import annotations

import datetime
import subprocess

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from agencies.models import AgencyKind, Role
from chronology.services import EventInput, event_record
from tests.factories import ChildFactory, involve, persona

pytestmark = [pytest.mark.external, pytest.mark.usefixtures("eager")]

EVENTS = [
    ("home_visit", 200, "Home visit: the flat was cold and there was little food in the cupboards.", ["16A"], False),
    ("was_not_brought", 150, "Not brought to the 2-year review at the clinic; mother did not answer.", ["16A"], False),
    ("was_not_brought", 120, "Not brought to the hearing test: the second missed appointment.", ["16A"], True),
    ("home_visit", 90, "Mother said her partner shouts at her when he has been drinking.", ["3B", "1B"], True),
    ("health_contact", 60, "Phone call with mother: she has moved in with her sister for now.", [], False),
    ("home_visit", 30, "Sami seen at his aunt's: clean, fed and playing; mother calmer.", [], False),
]

# The site around the record, and controls that do nothing on paper (Renew and Amend are the practitioner's own).
SCREEN_ONLY = (
    "Sign out",
    "Notifications",
    "Alpha",
    "Filter the chronology",
    "Apply filters",
    "Record an event",
    "Renew",
    "Amend",
)


@pytest.fixture
def sami(transactional_db):
    """A health visitor allocated to a child with a handful of her own agency's events."""
    hana = persona("hana", "agency-a", AgencyKind.HEALTH_VISITING, Role.PRACTITIONER)
    child = ChildFactory(given_name="Sami", family_name="Invented", date_of_birth=datetime.date(2023, 3, 3))
    involve(child, hana)
    today = timezone.localdate()
    for kind, days_ago, summary, factors, significant in EVENTS:
        event_record(
            actor=hana,
            child=child,
            data=EventInput(
                occurred_on=today - datetime.timedelta(days=days_ago),
                agency=hana.agency,
                type=kind,
                summary=summary,
                factors=factors,
                significant=significant,
                child_seen=True,
                action_taken="Discussed with the named nurse for safeguarding.",
            ),
        )
    return hana, child


def test_the_chronology_prints_without_the_website_around_it(live_server, browser, sign_in_as, sami, screenshot_dir):
    hana, child = sami
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    sign_in_as(page, hana)
    page.goto(f"{live_server.url}/children/{child.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sami Invented")
    expect(page.locator(".jigsaw-print-marking")).to_be_hidden()

    page.emulate_media(media="print")
    expect(page.get_by_role("navigation", name="Menu")).to_be_hidden()
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
    expect(page.locator(".govuk-footer")).to_be_hidden()
    expect(page.get_by_text("Filter the chronology")).to_be_hidden()
    expect(page.get_by_role("button", name="Apply filters")).to_be_hidden()
    expect(page.get_by_role("link", name="Record an event")).to_be_hidden()
    expect(page.locator(".jigsaw-print-marking")).to_be_visible()
    expect(page.locator(".jigsaw-print-marking")).to_have_text("OFFICIAL-SENSITIVE")
    entries = page.locator(".jigsaw-entry")
    expect(entries).to_have_count(len(EVENTS))
    for _kind, _days_ago, summary, _factors, _significant in EVENTS:
        expect(entries.filter(has_text=summary)).to_be_visible()

    for old in screenshot_dir.glob("chronology-print-*.png"):
        old.unlink()
    pdf = screenshot_dir / "chronology-print.pdf"
    page.pdf(path=pdf, format="A4", print_background=True)
    text = subprocess.run(["pdftotext", "-layout", pdf, "-"], capture_output=True, text=True, check=True).stdout
    pages = text.split("\f")
    printed = [p for p in pages if p.strip()]
    assert len(printed) >= 2, "the six entries should run onto a second sheet"
    for sheet in printed:
        assert "OFFICIAL-SENSITIVE" in sheet, "every printed sheet carries the protective marking"
    assert "Sami Invented" in text
    for _kind, _days_ago, summary, _factors, _significant in EVENTS:
        assert " ".join(summary.split()[:6]) in " ".join(text.split())
    for label in SCREEN_ONLY:
        assert label not in text, f"{label!r} is on the printed page"
    assert f"/children/{child.pk}/" not in text, "link addresses clutter the printed page"
    subprocess.run(["pdftoppm", "-png", "-r", "60", pdf, screenshot_dir / "chronology-print"], check=True)
    page.close()
