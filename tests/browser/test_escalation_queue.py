"""A safeguarding lead works the queue: opens an alert, acknowledges it, and closes it with a decision."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from agencies.models import AgencyKind, Role
from chronology.services import EventInput, event_record
from escalation.models import Alert, AlertState, Decision
from tests.factories import ChildFactory, involve, persona

pytestmark = [pytest.mark.external, pytest.mark.usefixtures("eager")]

RATIONALE = (
    "Strategy discussion with the health visitor and the GP: the mark was a birthmark, seen by the "
    "paediatrician the same day. Not a bruise; no referral."
)


@pytest.fixture
def bruised_baby(transactional_db):
    """A baby not yet mobile with a bruise recorded by the health visitor: a critical alert for the area lead."""
    hana = persona("hana", "agency-a", AgencyKind.HEALTH_VISITING, Role.PRACTITIONER)
    lena = persona("lena", "agency-csc", AgencyKind.CHILDRENS_SOCIAL_CARE, Role.AREA_SAFEGUARDING_LEAD)
    lena.first_name, lena.last_name, lena.job_title = "Lena", "Invented", "Safeguarding lead"
    lena.save()
    baby = ChildFactory(
        given_name="Noor", family_name="Invented", date_of_birth=timezone.localdate() - datetime.timedelta(days=70)
    )
    involve(baby, hana)
    event_record(
        actor=hana,
        child=baby,
        data=EventInput(
            occurred_on=timezone.localdate(),
            agency=hana.agency,
            type="injury",
            summary="Bruise on the cheek seen at the baby clinic; mother says the baby rolled into the cot side.",
            details={"injury_kind": "bruise"},
        ),
    )
    return lena, baby


def test_a_lead_works_an_alert_from_the_queue_to_a_decision(
    live_server, browser, sign_in_as, bruised_baby, screenshot_dir
):
    lead, baby = bruised_baby
    alert = Alert.objects.get(child=baby)
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    sign_in_as(page, lead)
    expect(page.get_by_role("link", name="Notifications (1 unread)")).to_be_visible()

    # The child's page shows the open alert in the escalation panel.
    page.goto(f"{live_server.url}/children/{baby.pk}/")
    panel = page.locator("section", has=page.get_by_role("heading", name="Alerts and professional disagreements"))
    expect(panel.get_by_role("link", name=alert.title)).to_be_visible()
    panel.screenshot(path=screenshot_dir / "child-escalation-panel.png")

    page.get_by_role("link", name="Alerts", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Alerts and escalations")
    row = page.locator("tbody tr", has_text="Noor Invented")
    expect(row).to_contain_text("Critical")
    expect(row).to_contain_text("Unassigned")
    page.screenshot(path=screenshot_dir / "alert-queue.png", full_page=True)

    row.get_by_role("link", name="Noor Invented").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(alert.title)
    expect(page.get_by_text("Reasons and the entries behind them")).to_be_visible()
    page.screenshot(path=screenshot_dir / "alert-detail.png", full_page=True)
    page.locator("#close").screenshot(path=screenshot_dir / "alert-detail-close-form.png")

    page.get_by_role("button", name="Acknowledge this alert").click()
    expect(page.get_by_role("alert").filter(has_text="Alert acknowledged")).to_be_visible()

    # Closing without a rationale is refused, and the error summary links to the field.
    page.get_by_role("radio", name="Decided not to refer").check()
    page.get_by_role("button", name="Close with this decision").click()
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    page.get_by_role("link", name="Write the rationale for the decision in full").click()
    expect(page.get_by_label("Rationale")).to_be_focused()
    page.screenshot(path=screenshot_dir / "alert-close-error.png", full_page=True)
    alert.refresh_from_db()
    assert alert.state == AlertState.ACKNOWLEDGED

    page.get_by_role("radio", name="Decided not to refer").check()
    page.get_by_label("Rationale").fill(RATIONALE)
    page.get_by_role("button", name="Close with this decision").click()
    expect(page.get_by_role("alert").filter(has_text="Decided not to refer")).to_be_visible()
    expect(page.locator(".govuk-summary-list")).to_contain_text(RATIONALE)
    page.screenshot(path=screenshot_dir / "alert-closed.png", full_page=True)
    alert.refresh_from_db()
    assert alert.state == AlertState.CLOSED and alert.decision == Decision.DECIDED_NOT_TO_REFER
    assert alert.closed_by == lead and alert.rationale == RATIONALE

    page.get_by_role("link", name="Back to alerts and escalations").click()
    expect(page.locator("tbody tr", has_text="Noor Invented")).to_have_count(0)
    expect(page.get_by_text("There are no open alerts for you to work.")).to_be_visible()
    page.screenshot(path=screenshot_dir / "alert-queue-empty.png", full_page=True)

    page.get_by_role("link", name="Notifications (1 unread)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    page.screenshot(path=screenshot_dir / "notifications.png", full_page=True)
    page.get_by_role("link", name=f"Critical alert: {alert.title}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(alert.title)
    expect(page.get_by_role("link", name="Notifications (0 unread)")).to_be_visible()

    page.goto(f"{live_server.url}/children/{baby.pk}/")
    expect(panel).to_contain_text("No open alert.")
    page.close()
