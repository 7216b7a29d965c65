"""The accessibility statement: public, linked from every page, and true to the checker the tests pin."""

from __future__ import annotations

import json

from django.urls import reverse

from tests.helpers import REPO


def test_the_statement_is_public_and_says_what_was_tested(client, db):
    response = client.get(reverse("accessibility"))
    assert response.status_code == 200
    page = response.content.decode()
    assert '<h1 class="govuk-heading-l">Accessibility statement for Jigsaw</h1>' in page
    assert "WCAG) version 2.2 at levels A and AA" in page
    pinned = json.loads((REPO / "package.json").read_text())["devDependencies"]["axe-core"]
    assert f"axe-core version {pinned}" in page
    for words in (
        "keyboard alone",
        "no JavaScript running",
        "never rely on colour alone",
        "Known issues",
        "Reporting a problem",
        "prepared on 23 November 2026",
    ):
        assert words in page


def test_every_page_links_to_the_statement_signed_out_too(client, db):
    page = client.get(reverse("sign-in")).content.decode()
    assert f'href="{reverse("accessibility")}">Accessibility statement</a>' in page
