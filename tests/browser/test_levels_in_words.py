"""Indicated levels and flags never rely on colour alone: every mark of a level names it in words."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from agencies.models import AgencyKind, Role
from tests.factories import ChildFactory, involve, persona
from thresholds.models import Assessment
from thresholds.panels import FLAG_WORDS

pytestmark = pytest.mark.external

NAMES = {1: "Universal", 2: "Early help", 3: "Targeted / child in need", 4: "Child protection"}
FLAGS = {4: ["non_mobile_bruising", "toxic_trio"], 3: ["repeat_domestic_abuse"]}


@pytest.fixture
def children_at_each_level(transactional_db):
    """Four children Ivy works with, one at each indicated level; the higher two with open flags."""
    ivy = persona("ivy", "agency-a", AgencyKind.HEALTH_VISITING, Role.PRACTITIONER)
    children = {}
    for level, name in NAMES.items():
        child = ChildFactory(given_name=f"Level{level}", family_name="Invented")
        involve(child, ivy)
        Assessment.objects.create(
            child=child,
            assessed_at=timezone.now() - datetime.timedelta(hours=1),
            as_of=timezone.localdate(),
            policy="default/1",
            level=level,
            level_name=name,
            score=[0, 5, 15, 30, 60][level],
            flags=FLAGS.get(level, []),
        )
        children[level] = child
    return ivy, children


def marks_say_their_level(page) -> int:
    """Each level mark's words name the level its colour stands for; returns how many marks there are."""
    marks = page.locator(".jigsaw-level")
    for i in range(marks.count()):
        mark = marks.nth(i)
        level = int(re.search(r"jigsaw-level--(\d)", mark.get_attribute("class")).group(1))
        assert re.fullmatch(rf"(Indicated level|Level) {level}: {re.escape(NAMES[level])}", mark.inner_text())
    return marks.count()


def test_every_level_mark_names_its_level_and_every_flag_is_in_words(
    live_server, browser, sign_in_as, children_at_each_level, screenshot_dir
):
    ivy, children = children_at_each_level
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    sign_in_as(page, ivy)

    for level, child in children.items():
        page.goto(f"{live_server.url}/children/?level={level}")
        expect(page.get_by_role("link", name=child.full_name)).to_be_visible()
        assert marks_say_their_level(page) == 1

        page.goto(f"{live_server.url}/children/{child.pk}/")
        panel = page.locator("section.jigsaw-indicated")
        expect(panel.locator(".jigsaw-level")).to_have_text(f"Indicated level {level}: {NAMES[level]}")
        assert marks_say_their_level(page) == 1
        flags = panel.locator(".govuk-summary-list__row", has_text="Flags").locator("dd")
        if FLAGS.get(level):
            expect(flags.locator("li")).to_have_text([FLAG_WORDS[code] for code in FLAGS[level]])
        else:
            expect(flags).to_have_text("None")
        if level == 4:
            panel.screenshot(path=screenshot_dir / "indicated-level-4-panel.png")

    page.goto(f"{live_server.url}/")
    assert marks_say_their_level(page) >= 2  # the children at level 3 and 4, on the home page
    page.close()
