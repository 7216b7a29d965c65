"""The home page: what needs each person, by their roles; and the list of children behind its counts."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from chronology import home as reads

# The lists a count on the home page links to: ?level=1..4, 3-plus (level 3 or above) or none (not yet assessed).
LEVEL_LISTS = {
    "1": (1, False, "Children at indicated level 1"),
    "2": (2, False, "Children at indicated level 2"),
    "3": (3, False, "Children at indicated level 3"),
    "4": (4, False, "Children at indicated level 4"),
    "3-plus": (3, True, "Children at indicated level 3 or above"),
    "none": (None, False, "Children not yet assessed"),
}


@require_GET
def home(request):
    return render(request, "chronology/home.html", {"home": reads.home_for(user=request.user)})


@require_GET
def children_list(request):
    """Children the person may read, by indicated level. Names only: opening a record is what is logged."""
    choice = request.GET.get("level", "3-plus")
    if choice not in LEVEL_LISTS:
        raise Http404("No such list")
    level, minimum, title = LEVEL_LISTS[choice]
    children = reads.children_at_level(actor=request.user, level=level, minimum=minimum)
    page = Paginator(children, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "chronology/children_list.html",
        {"page": page, "title": title, "choice": choice, "choices": LEVEL_LISTS},
    )
