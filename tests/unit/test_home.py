"""The home page by role, the lists its numbers link to, and "new since you last looked"."""

from __future__ import annotations

import datetime
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from agencies.models import AccessLog, ChronologyVisit, InvolvementReason
from agencies.policy import system_user
from chronology import services
from chronology.models import Event
from tests.factories import AgencyFactory, ChildFactory, amend, involve

# Ten days ago: the people's involvements (started 30 days ago) are active throughout.
T0 = (timezone.now() - datetime.timedelta(days=10)).replace(microsecond=0)


def at(hours: float):
    return time_machine.travel(T0 + datetime.timedelta(hours=hours), tick=False)


def event(child, agency, summary, *, actor=None):
    data = services.EventInput(
        occurred_on=datetime.date(2025, 1, 10),
        agency=agency,
        type="health_contact",
        summary=summary,
    )
    return services.event_record(actor=actor or system_user(), child=child, data=data)


def new_tags(page: str) -> int:
    return page.count("New since you last looked</strong>")


@pytest.fixture
def school(db):
    return AgencyFactory(code="school-x", name="Northshire Primary")


def test_what_other_agencies_added_since_the_last_look_shows_on_home_and_is_marked_on_the_chronology(
    client_for, alice, kit, school
):
    with at(0):
        client = client_for(alice)  # signed in again at each moment: hours apart, the session would have ended
        event(kit, school, "Attendance fell to 80 per cent this term; Kit seemed tired in class.")
        home = client.get(reverse("home")).content.decode()
        assert "Not opened yet" in home
        first = client.get(reverse("child-detail", args=[kit.pk])).content.decode()
        assert "first time you have opened this chronology" in first
        assert new_tags(first) == 0
    with at(1):
        event(kit, school, "Kit arrived without a coat in the snow and said she was hungry.")
        event(kit, alice.agency, "Home visit by me: flat cold, Kit seen and weighed.", actor=alice)
    with at(2):
        client = client_for(alice)
        home = client.get(reverse("home")).content.decode()
        # Only another agency's entry counts on the home page, and its number links to the chronology.
        assert re.search(
            rf'href="/children/{kit.pk}/\?new=on&amp;since=[^"#]+#chronology"><strong>1 new</strong>', home
        )
        assert "1 new entry from other agencies" in home
        page = client.get(reverse("child-detail", args=[kit.pk])).content.decode()
        assert "1 entry was added by others since your last visit" in page
        assert new_tags(page) == 1
        marked = page.split("New since you last looked</strong>")[0].rsplit('id="entry-', 1)[1]
        assert "without a coat" in page and marked.startswith(str(Event.objects.get(summary__contains="coat").pk))
        only_new = client.get(reverse("child-detail", args=[kit.pk]) + "?new=on").content.decode()
        assert "without a coat" in only_new and "Attendance fell" not in only_new and "Home visit by me" not in only_new
        # The home page now has nothing new: the person has looked.
        assert "Nothing new from other agencies since you last looked" in client.get(reverse("home")).content.decode()
    with at(2.3):  # the same visit: paging and filtering keep the marks
        assert new_tags(client.get(reverse("child-detail", args=[kit.pk])).content.decode()) == 1
    with at(4):  # a later visit: nothing was added since the last one
        client = client_for(alice)
        page = client.get(reverse("child-detail", args=[kit.pk])).content.decode()
        assert new_tags(page) == 0 and "Nothing was added by others since your last visit" in page
    visit = ChronologyVisit.objects.get(user=alice, child=kit)
    assert visit.last_viewed_at == T0 + datetime.timedelta(hours=4)


def test_what_another_agency_adds_during_the_first_visit_is_counted_and_marked(client_for, alice, kit, school):
    """The first visit is no exception: what the home page counts as new, the chronology marks."""
    with at(0):
        client = client_for(alice)
        first = client.get(reverse("child-detail", args=[kit.pk])).content.decode()
        assert "first time you have opened this chronology" in first
    with at(0.2):
        event(kit, school, "Kit came to school with a bruise on her arm; she said she fell off the sofa.")
    with at(0.3):  # the same visit, 18 minutes after the first look
        client = client_for(alice)
        assert "1 new entry from other agencies" in client.get(reverse("home")).content.decode()
        page = client.get(reverse("child-detail", args=[kit.pk])).content.decode()
        assert "first time you have opened" not in page
        assert "1 entry was added by others since you first opened it" in page and new_tags(page) == 1
        only_new = client.get(reverse("child-detail", args=[kit.pk]) + "?new=on").content.decode()
        assert "bruise on her arm" in only_new and new_tags(only_new) == 1
    with at(0.4):  # paging and filtering in the same visit keep the mark
        assert new_tags(client_for(alice).get(reverse("child-detail", args=[kit.pk])).content.decode()) == 1
    with at(2):  # the next visit: nothing was added since the first one ended
        page = client_for(alice).get(reverse("child-detail", args=[kit.pk])).content.decode()
        assert new_tags(page) == 0 and "Nothing was added by others since your last visit" in page


def test_the_home_pages_n_new_opens_exactly_those_n_entries(client_for, alice, ann, kit, school):
    """Whatever the visit has already marked, the home page's number and the list it opens agree."""
    involve(kit, ann)
    with at(0):
        client_for(alice).get(reverse("child-detail", args=[kit.pk]))
    with at(0.05):
        event(kit, school, "Kit was late three days running; mum said the alarm broke.")
    with at(0.1):  # alice looks: the home page has nothing new now
        client = client_for(alice)
        client.get(reverse("child-detail", args=[kit.pk]))
        assert "Nothing new from other agencies" in client.get(reverse("home")).content.decode()
    with at(0.15):
        event(kit, school, "Kit fell asleep in class and said she was up all night with the baby crying.")
        event(kit, alice.agency, "Ann's home visit: Kit not in; mum says at nan's.", actor=ann)  # her own agency
    with at(0.2):
        client = client_for(alice)
        home = client.get(reverse("home")).content.decode()
        assert "1 new entry from other agencies" in home
        link = re.search(rf'href="(/children/{kit.pk}/\?new=on&amp;since=[^"]+)"><strong>1 new</strong>', home)
        page = client.get(link.group(1).replace("&amp;", "&")).content.decode()
        listed = page.split('<ol class="jigsaw-chronology')[1]
        assert "asleep in class" in listed and "alarm broke" not in listed and "at nan" not in listed
        assert "Showing only the 1 entry other agencies added since you last looked" in page
        # A hand-made `since` from the future, or none at all, falls back to the visit's own marks.
        future = client.get(reverse("child-detail", args=[kit.pk]) + "?new=on&since=2999-01-01T00:00:00%2B00:00")
        assert future.status_code == 200 and "as your home page counted" not in future.content.decode()


def test_an_entry_withdrawn_is_never_news_to_anyone(client_for, alice, dsl, kit, school):
    involve(kit, dsl)
    with at(0):
        for person in (alice, dsl):
            client_for(person).get(reverse("child-detail", args=[kit.pk]))
    with at(1):
        wrong = event(kit, school, "Kit absent all week without explanation.")
        amend(system_user(), wrong, "filed_in_error", "Belongs to another child; recorded there.")
        event(kit, school, "Kit's attendance is back to normal this week.")
    with at(3):
        home = client_for(alice).get(reverse("home")).content.decode()
        assert "1 new entry from other agencies" in home
        # A safeguarding lead still reads the withdrawn entry, marked, but it is not counted or marked as new.
        client = client_for(dsl)
        page = client.get(reverse("child-detail", args=[kit.pk])).content.decode()
        assert "absent all week" in page and "1 entry was added by others since your last visit" in page
        assert new_tags(page) == 1
        only_new = client.get(reverse("child-detail", args=[kit.pk]) + "?new=on").content.decode()
        assert "absent all week" not in only_new and "back to normal" in only_new


def test_every_child_counts_however_many_and_a_merged_records_involvement_counts_for_the_survivor(
    client_for, alice, lead, school
):
    from chronology import linkage

    children = [ChildFactory(given_name=f"Kid{n:02d}", family_name="Aardvark") for n in range(55)]
    for child in children[:-1]:
        involve(child, alice)
    merged = ChildFactory(given_name="Kidd", family_name="Zebra")
    involve(merged, alice)
    linkage.child_merge(actor=lead, merged=merged, surviving=children[-1], reason="Same child.")
    with at(0):
        client = client_for(alice)
        for child in (children[53], children[-1]):
            client.get(reverse("child-detail", args=[child.pk]))
    with at(1):
        event(children[53], school, "Kid53 fell asleep in class twice this week.")
        event(merged, school, "Kidd was collected late again by an adult the school did not know.")
    with at(3):
        home = client_for(alice).get(reverse("home")).content.decode()
        assert "2 new entries from other agencies" in home
        assert "Showing 50 of 55" in home
        assert reverse("child-detail", args=[children[-1].pk]) + "?new=on" in home


def test_a_practitioner_awaiting_confirmation_is_not_told_what_other_agencies_added(client_for, alice, school):
    child = ChildFactory(given_name="Sol", family_name="Invented")
    involve(child, alice, reason=InvolvementReason.RECORDED_INFORMATION)
    with at(0):
        client_for(alice).get(reverse("child-detail", args=[child.pk]))
    with at(2):
        event(child, school, "Sol disclosed that there is shouting at home at night.")
    with at(3):
        client = client_for(alice)
        home = client.get(reverse("home")).content.decode()
        assert "until your designated safeguarding lead confirms" in home
        assert "1 new" not in home
        page = client.get(reverse("child-detail", args=[child.pk])).content.decode()
        assert new_tags(page) == 0 and "shouting" not in page


def test_the_professional_disagreements_a_person_is_part_of_are_on_their_home_page(client_for, alice, ann, bob, kit):
    from escalation.services.disagreements import disagreement_raise

    involve(kit, ann)
    disagreement = disagreement_raise(
        actor=alice,
        child=kit,
        decision_disputed="Ann's decision on 2 November to take no further action.",
        concern="Kit has been seen hungry at school three times this month and nobody has visited.",
        with_whom=ann,
    )
    link = f'href="/disagreements/{disagreement.pk}/">{kit.full_name}: stage 1'
    for person in (alice, ann):  # the one who raised it, and the one it is with
        home = client_for(person).get(reverse("home")).content.decode()
        assert "Professional disagreements you are part of" in home and link in home, person
    assert "Professional disagreements you are part of" not in client_for(bob).get(reverse("home")).content.decode()


def test_line_managers_and_designated_leads_find_the_supervision_list_from_home(client_for, dsl, alice):
    from agencies.models import Role
    from tests.factories import UserFactory

    manager = UserFactory(username="manager", agency=alice.agency, roles=[Role.LINE_MANAGER])
    for person in (manager, dsl):
        home = client_for(person).get(reverse("home")).content.decode()
        assert f'href="{reverse("supervision")}">Children to bring to supervision</a>' in home
        assert client_for(person).get(reverse("supervision")).status_code == 200
    assert "Children to bring to supervision" not in client_for(alice).get(reverse("home")).content.decode()


def test_listing_children_on_the_home_page_writes_nothing_to_the_access_log(client_for, alice, kit):
    client_for(alice).get(reverse("home"))
    assert not AccessLog.objects.exists()


def test_a_designated_lead_sees_the_queue_confirmations_and_high_level_children_each_number_a_link(
    client_for, dsl, alice
):
    child = ChildFactory(given_name="Rae", family_name="Invented")
    involve(child, alice, reason=InvolvementReason.RECORDED_INFORMATION)
    home = client_for(dsl).get(reverse("home")).content.decode()
    assert "Your agency's escalation queue" in home
    assert re.search(
        r'href="/involvements/to-confirm">1<span class="govuk-visually-hidden"> involvement to confirm', home
    )
    assert 'href="/alerts/?overdue=on"' in home
    assert "Children you can open at indicated level 3 or above" in home


def test_an_area_lead_sees_children_per_level_and_reviews_due(client_for, lead, kit, far_child):
    home = client_for(lead).get(reverse("home")).content.decode()
    assert "Children you can open, by indicated level" in home
    assert re.search(r'href="/children/\?level=none">1<span', home)  # kit, not yet assessed; far_child elsewhere
    assert 'href="/children/matches"' in home and 'href="/access/reviews"' in home
    listing = client_for(lead).get(reverse("children-list") + "?level=none").content.decode()
    assert kit.full_name in listing and far_child.full_name not in listing


def test_an_auditor_sees_the_reviews_due(client_for, auditor):
    home = client_for(auditor).get(reverse("home")).content.decode()
    assert "Reviews due" in home and 'href="/access/reviews">0 break-glass openings</a>' in home


def test_the_children_list_holds_only_children_the_person_may_read(client_for, bob, kit):
    listing = client_for(bob).get(reverse("children-list") + "?level=none").content.decode()
    assert kit.full_name not in listing and "No child you can open is on this list" in listing
    assert client_for(bob).get(reverse("children-list") + "?level=7").status_code == 404


def test_a_chair_sees_upcoming_meetings(client_for, alice, kit):
    from coregroups.models import CoreGroup, Meeting

    today = timezone.localdate()
    group = CoreGroup.objects.create(
        child=kit, plan="cp", started_on=today, chair=alice, created_by=alice, created_at=timezone.now()
    )
    Meeting.objects.create(
        group=group,
        held_on=today - datetime.timedelta(days=7),
        chaired_by=alice,
        child_view="Kit drew her family.",
        safer="yes",
        safer_evidence="Seen weekly.",
        decisions="Continue the plan.",
        next_meeting_on=today + datetime.timedelta(days=21),
        recorded_by=alice,
        recorded_at=timezone.now(),
    )
    home = client_for(alice).get(reverse("home")).content.decode()
    assert "Core groups you chair" in home
    assert f'href="/core-groups/{group.pk}/">{kit.full_name}</a>' in home


def test_choosing_the_newest_first_is_not_a_filter(client_for, alice, kit, school):
    event(kit, school, "Kit attended every day this week and joined the reading club.")
    page = client_for(alice).get(reverse("child-detail", args=[kit.pk]) + "?order=newest").content.decode()
    assert "1 entry, newest first" in page and "match the filters" not in page
    assert '<details class="govuk-details">' in page  # the filter panel stays closed
