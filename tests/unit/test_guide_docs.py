"""The guide in docs/guide/ and its screenshots stay in step: every picture it shows exists and says what it shows,
every picture made for it is shown, and every link between its pages leads somewhere."""

from __future__ import annotations

import re

from tests.helpers import REPO

GUIDE = REPO / "docs" / "guide"
IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")
LINK = re.compile(r"(?<!!)\[[^\]]+\]\(([^)\s#]+)(?:#[^)]*)?\)")
ROLE_PAGES = {
    "practitioner.md",
    "designated-safeguarding-lead.md",
    "core-group-chair.md",
    "area-safeguarding-lead.md",
    "auditor.md",
    "agency-systems.md",
}


def pages():
    return sorted(GUIDE.glob("*.md"))


def test_the_guide_has_an_index_linking_every_role_page():
    assert {p.name for p in pages()} == ROLE_PAGES | {"README.md"}
    linked = set(LINK.findall((GUIDE / "README.md").read_text()))
    assert linked >= ROLE_PAGES


def test_every_image_the_guide_shows_exists_and_has_alt_text():
    shown = []
    for page in pages():
        for alt, target in IMAGE.findall(page.read_text()):
            assert len(alt.split()) >= 4, f"{page.name}: describe {target} in its alt text"
            assert (page.parent / target).resolve().is_file(), f"{page.name} shows {target}, which does not exist"
            shown.append(target)
    assert shown, "the guide shows no screenshots"


def test_every_screenshot_made_for_the_guide_is_shown():
    shown = {(page.parent / target).resolve() for page in pages() for _, target in IMAGE.findall(page.read_text())}
    made = {png.resolve() for png in (GUIDE / "images").glob("*.png")}
    assert made, "no screenshots: run tests/browser/test_guide.py"
    assert made - shown == set(), f"not shown anywhere in the guide: {sorted(p.name for p in made - shown)}"


def test_every_link_between_pages_leads_to_a_file():
    for page in pages():
        for target in LINK.findall(page.read_text()):
            if re.match(r"[a-z]+:", target):
                continue  # an address outside the repository
            assert (page.parent / target).resolve().exists(), f"{page.name} links to {target}, which does not exist"
