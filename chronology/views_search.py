"""Finding a child: the tolerant search among children you may read, and the exact-identifier disclosure."""

from __future__ import annotations

import rules
from django import forms
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from agencies.models import Role
from agencies.services import origin_from_request
from chronology import search
from chronology.forms import BreakGlassForm, FindChildForm


class SearchForm(FindChildForm):
    """One page of search. `given_name` and `family_name` come back hidden from the record-information and
    break-glass forms; people type a name in one box."""

    name = forms.CharField(
        label="Name",
        required=False,
        max_length=200,
        help_text="First name, last name, or both. The spelling does not need to be exact.",
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    given_name = forms.CharField(required=False, widget=forms.HiddenInput)
    family_name = forms.CharField(required=False, widget=forms.HiddenInput)

    field_order = ["name", "dob_day", "dob_month", "dob_year", "nhs_number", "upn"]

    def clean(self):
        try:
            data = super().clean()
        except forms.ValidationError:  # the exact-identifier form asks for more than a search needs
            data = self.cleaned_data
        if not data.get("name"):
            data["name"] = f"{data.get('given_name') or ''} {data.get('family_name') or ''}".strip()
        given = data["name"] or data.get("date_of_birth") or data.get("nhs_number") or data.get("upn")
        if not self.errors and not given:
            self.add_error("name", "Enter a name, a date of birth, an NHS number or a unique pupil number")
        return data


def _is_practitioner(user) -> bool:
    return user.agency_id is not None and Role.PRACTITIONER in user.role_codes()


# The search is a POST, not a GET: a GET would put a child's name, date of birth and NHS number in the
# address, and so in the web server's and the proxy's access logs and in the browser's history, none of
# which the access policy governs. Results therefore cannot be bookmarked; the record they open can.
@require_http_methods(["GET", "POST"])
def child_find(request):
    """Find a child: tolerant by name among those you may read; exact identifiers for any other child."""
    if request.method == "POST":
        return search_results(request)
    return render_find(request, SearchForm(), None, None)


def search_results(request, failed: BreakGlassForm | None = None, failed_child: int | None = None):
    """The find page for what was posted (a search, or the identifiers a break-glass or new-child form carried),
    with a refused break-glass form kept on its child's card."""
    form = SearchForm(request.POST)
    found = disclosed = None
    if form.is_valid():
        data = form.cleaned_data
        found = search.children_found(actor=request.user, name=data["name"], date_of_birth=data["date_of_birth"])
        disclosed = search.children_disclosed(
            actor=request.user,
            nhs_number=data["nhs_number"],
            upn=data["upn"],
            name=data["name"],
            date_of_birth=data["date_of_birth"],
            origin=origin_from_request(request),
        )
    return render_find(request, form, found, disclosed, failed=failed, failed_child=failed_child)


def render_find(request, form, found, disclosed, failed: BreakGlassForm | None = None, failed_child: int | None = None):
    user = request.user
    readable = []
    cards = None
    if found is not None:
        readable = list(found.results)
        listed = {f.child.pk for f in readable}
        # A readable child found by an exact identifier is one you can open, listed with the others.
        readable += [
            search.Found(child=d.child, access=d.access, score=1.0, matched="")
            for d in disclosed
            if d.access is not None and d.child.pk not in listed
        ]
        cards = [
            (d, failed if d.child.pk == failed_child else BreakGlassForm(auto_id=f"id_bg{d.child.pk}_%s"))
            for d in disclosed
            if d.access is None
        ]
    today = timezone.localdate()
    readable_total = found.total + len(readable) - len(found.results) if found is not None else 0
    return render(
        request,
        "chronology/find.html",
        {
            "form": form,
            "searched": found is not None,
            "readable": [(f, f.child.age_text_on(today)) for f in readable],
            "readable_total": readable_total,
            "too_many": found is not None and found.too_many,
            "found_count": readable_total + len(cards or []),
            "result_limit": search.RESULT_LIMIT,
            "cards": cards,
            "break_glass_form": failed,
            "break_glass_child": failed_child,
            "is_practitioner": _is_practitioner(user),
            # Break-glass needs an agency (agencies.services.exceptional_access_open); auditors open records for audit.
            "no_break_glass": user.agency_id is None or not (user.role_codes() - {Role.AUDITOR}),
            "is_auditor": rules.has_perm("agencies.open_for_audit", user),
        },
    )
