"""A practitioner raises a professional disagreement from the child's page, with the keyboard and the forms alone."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from agencies.models import AgencyKind, Role
from escalation.models import Disagreement
from tests.factories import involve, persona

pytestmark = [pytest.mark.external, pytest.mark.usefixtures("eager")]


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_a_practitioner_raises_a_disagreement_and_sees_stage_one(
    transactional_db, live_server, browser, sign_in_as, screenshot_dir, alice, kit, javascript
):
    carol = persona("carol", "agency-c", AgencyKind.CHILDRENS_SOCIAL_CARE, Role.PRACTITIONER)
    carol.first_name, carol.last_name, carol.job_title = "Carol", "Invented", "Social worker"
    carol.save()
    involve(kit, carol)
    suffix = "js" if javascript else "nojs"
    context = browser.new_context(java_script_enabled=javascript, viewport={"width": 1100, "height": 900})
    page = context.new_page()
    sign_in_as(page, alice)

    page.goto(f"{live_server.url}/children/{kit.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Kit Invented")
    link = page.get_by_role("link", name="Raise a professional disagreement")
    if link.count():
        link.first.click()
    else:  # the child's page does not offer the link yet
        page.goto(f"{live_server.url}/children/{kit.pk}/disagreements/new")
    expect(page.get_by_role("heading", level=1)).to_have_text("Raise a professional disagreement")
    expect(page.get_by_text("Stage 1: Practitioner to practitioner, within 5 working days")).to_be_visible()

    page.get_by_role("button", name="Raise the disagreement").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("Enter the decision, or lack of one, that you disagree with")
    expect(summary).to_contain_text("Enter why what is being done does not protect the child")
    page.screenshot(path=screenshot_dir / f"disagreement-errors-{suffix}.png", full_page=True)
    assert not Disagreement.objects.exists()

    # the error summary's links take the keyboard to the field
    summary.get_by_role("link", name="Enter the decision, or lack of one, that you disagree with").click()
    decision = page.get_by_label("Which decision, or lack of one, do you disagree with?")
    if javascript:  # GOV.UK Frontend moves the focus to the field itself
        expect(decision).to_be_focused()
    decision.fill("Carol closed the referral of 3 March with no further action on 5 March.")
    page.get_by_label("Why does it not protect the child?").fill(
        "Three visits with no access since February, the home smelt of cannabis, and nobody has seen Kit since March."
    )
    page.get_by_label("Whose decision is it? (optional)").select_option(
        label="Carol Invented, Social worker (Agency C)"
    )
    page.get_by_role("button", name="Raise the disagreement").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Kit Invented")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Professional disagreement raised")
    stage = page.locator("#stage-1")
    expect(stage).to_contain_text("Stage 1: Practitioner to practitioner")
    d = Disagreement.objects.get()
    due = d.stages.get().due_at
    expect(stage).to_contain_text(f"{timezone.localtime(due):%-d %B %Y, %H:%M}")
    expect(stage).to_contain_text("Carol Invented")
    page.screenshot(path=screenshot_dir / f"disagreement-stage-1-{suffix}.png", full_page=True)
    assert d.with_whom == carol and d.raised_by == alice
    context.close()
