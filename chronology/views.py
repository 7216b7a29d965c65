"""Pages about one child. Every one reads through the selectors, so the access policy applies."""

from __future__ import annotations

import dataclasses
import hashlib

import rules
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST

from agencies import services as agency_services
from agencies.models import Agency, ExceptionalAccessKind, Involvement, Role, User
from agencies.services import origin_from_request
from chronology import home, linkage, panels, selectors, services, views_search, visibility
from chronology import vocabulary as v
from chronology.forms import (
    AddressForm,
    AmendmentForm,
    AuditOpenForm,
    BreakGlassForm,
    ChildDetailsForm,
    ChildForm,
    ChronologyFilterForm,
    EventForm,
    FindChildForm,
    HouseholdMemberForm,
    InvolvementAddForm,
    InvolvementEndForm,
    child_details_initial,
    initial_from_event,
)
from chronology.models import Child, Event
from config.requests import posted_id


def _child_or_404(request, child_id: int, what: str):
    try:
        return selectors.child_get(
            actor=request.user, child_id=child_id, what=what, origin=origin_from_request(request)
        )
    except Child.DoesNotExist:
        raise Http404("No child found") from None


def _filters_in_words(form) -> list[str]:
    """What the chronology shown is narrowed to, as a reader (or a printed page) needs to be told."""
    if not form.is_bound or not form.is_valid():
        return []
    data, words = form.cleaned_data, []
    for name in ("agency", "type", "factor"):
        if data[name]:
            labels = dict(form.fields[name].choices)
            chosen = ", ".join(str(labels.get(value, value)) for value in data[name])
            words.append(f"{form.fields[name].label.lower()}: {chosen}")
    if data["date_from"]:
        words.append(f"from {data['date_from']:%-d %B %Y}")
    if data["date_to"]:
        words.append(f"to {data['date_to']:%-d %B %Y}")
    if data["significant"]:
        words.append("significant entries only")
    return words


def _filters(form) -> selectors.ChronologyFilters:
    if not form.is_valid():
        return selectors.ChronologyFilters()
    data = form.cleaned_data
    return selectors.ChronologyFilters(
        agencies=tuple(int(pk) for pk in data["agency"]),
        types=tuple(data["type"]),
        factors=tuple(data["factor"]),
        date_from=data["date_from"],
        date_to=data["date_to"],
        significant_only=data["significant"],
        newest_first=data["order"] == "newest",
    )


@transaction.atomic
def child_detail(request, child_id: int):
    child, access = _child_or_404(request, child_id, "chronology")
    if child.merged_into_id:
        messages.info(request, "This record was merged into another record of the same child.")
        return redirect("child-detail", child_id=child.merged_into_id)
    today = timezone.localdate()
    visit = home.chronology_visit(user=request.user, child=child)
    facts = selectors.child_key_facts(actor=request.user, child=child, today=today)
    agencies = selectors.chronology_agencies(actor=request.user, child=child, access=access)
    asked = request.GET.copy()
    asked.setdefault("order", "")  # oldest first unless asked otherwise: the radios say so
    filter_form = ChronologyFilterForm(asked if request.GET else None, agencies=agencies)
    filters = _filters(filter_form)
    filtered = filters.active  # the order alone is not a filter
    # From the home page's "N new": exactly what it counted, what other agencies added since the last look.
    since_look = home.new_since_look(request.GET.get("since", "")) if request.GET.get("new") == "on" else None
    only_new = request.GET.get("new") == "on" and (since_look is not None or visit.seen_until is not None)
    if since_look is not None:
        filters = dataclasses.replace(
            filters, stored_after=since_look, not_recorded_by=request.user.pk, not_agency=request.user.agency_id
        )
    elif only_new:
        filters = dataclasses.replace(filters, stored_after=visit.seen_until, not_recorded_by=request.user.pk)
    chronology = selectors.chronology_get(
        actor=request.user,
        child=child,
        access=access,
        filters=filters,
        page_number=request.GET.get("page"),
        agencies=agencies,
    )
    query = request.GET.copy()
    query.pop("page", None)
    newest, oldest = query.copy(), query.copy()  # the same filters, in either order
    newest["order"] = "newest"
    oldest.pop("order", None)
    new_count = (
        selectors.entries_new_count(actor=request.user, child=child, access=access, since=visit.seen_until)
        if visit.seen_until
        else 0
    )
    new_ids = home.new_entry_ids(user=request.user, visit=visit, event_ids=[e.event.pk for e in chronology.entries])
    for entry in chronology.entries:
        entry.new = entry.event.pk in new_ids
    # Entries never change; what a reader sees of each depends only on these, so one key covers the page.
    entries_state = [
        (e.event.pk, e.view, e.superseded, e.filed_in_error, len(e.amendments), e.can_amend, e.new)
        for e in chronology.entries
    ]
    entries_key = hashlib.sha256(repr(entries_state).encode()).hexdigest()
    return render(
        request,
        "chronology/child_detail.html",
        {
            "child": child,
            "access": access,
            "facts": facts,
            "chronology": chronology,
            "filter_form": filter_form,
            "filter_query": query.urlencode(),
            "filters_in_words": _filters_in_words(filter_form),
            # The first, the last, and the pages either side of this one (GOV.UK pagination).
            "page_numbers": list(
                chronology.page.paginator.get_elided_page_range(chronology.page.number, on_each_side=1, on_ends=1)
            ),
            "ellipsis": Paginator.ELLIPSIS,
            "printed_at": timezone.now(),
            "newest_query": newest.urlencode(),
            "oldest_query": oldest.urlencode(),
            "entries_key": entries_key,
            "visit": visit,
            "new_count": new_count,
            "only_new": only_new,
            "since_look": since_look,
            "filtered": filtered,
            "timeline": mark_safe(chronology.timeline_svg),  # noqa: S308 - drawn by chronology.timeline, escaped
            "panels": panels.panels_for(request, child, access),
            "can_manage": rules.has_perm("agencies.manage_involvements", request.user, child),
            "can_write": access.can_write,
            "can_unmerge": linkage.may_unmerge(request.user, child),
        },
    )


@require_http_methods(["GET", "POST"])
@transaction.atomic
def event_new(request, child_id: int):
    child, access = _child_or_404(request, child_id, "chronology (recording an event)")
    return _event_form(request, child, access, form_class=EventForm, original=None)


@require_http_methods(["GET", "POST"])
@transaction.atomic
def event_amend(request, event_id: int):
    original = Event.objects.select_related("child", "agency").filter(pk=event_id).first()
    if original is None:
        raise Http404("No entry found")
    child, access = _child_or_404(request, original.child_id, "chronology (amending an entry)")
    if visibility.event_view(request.user, original) != visibility.FULL:
        raise Http404("No entry found")
    services.amendment_allowed(actor=request.user, original=original)
    return _event_form(request, child, access, form_class=AmendmentForm, original=original)


def _event_form(request, child, access, *, form_class, original):
    user = request.user
    if not access.can_write:
        raise PermissionDenied("You can read this record but not record information on it.")
    initial = initial_from_event(original) if original else {}
    form = form_class(request.POST or None, child=child, initial=initial)
    nudges = []
    if request.method == "POST" and form.is_valid():
        data = form.event_input(
            agency=user.agency,
            amends=original,
            amendment_reason=form.cleaned_data.get("amendment_reason", ""),
            amendment_kind=form.cleaned_data.get("amendment_kind", ""),
        )
        problems = services.event_problems(data, child=child)
        for name, errors in problems.items():
            target = {"occurred_on": "occurred_day", "source": "information_source"}.get(name, name)
            form.add_error(target if target in form.fields else None, errors)
        nudges = services.event_nudges(data, child=child, confirmed=form.confirmations())
        for nudge in nudges:
            form.add_error(nudge.field if nudge.field in form.fields else None, nudge.message)
        if not nudges and not problems:
            try:
                event = services.event_record(actor=user, child=child, data=data)
            except ValidationError as exc:
                for name, errors in exc.message_dict.items():
                    target = {"occurred_on": "occurred_day", "source": "information_source"}.get(name, name)
                    form.add_error(target if target in form.fields else None, errors)
            else:
                messages.success(request, "Amendment recorded." if original else "Entry recorded.")
                return redirect(reverse("child-detail", args=[child.pk]) + f"?order=newest#entry-{event.pk}")
    elif request.method == "POST":
        # Every prompt the rest of the form already meets is said now, with the errors, not one round later.
        partial = form.partial_input(agency=user.agency)
        if partial is not None:
            for nudge in services.event_nudges(partial, child=child, confirmed=form.confirmations()):
                if nudge.field == "type" and form.cleaned_data.get("occurred_on") is None:
                    continue  # the age-based prompts wait for the date
                if nudge.field in form.fields and nudge.field not in form.errors:  # one message a field
                    form.add_error(nudge.field, nudge.message)
                    nudges.append(nudge)
    return render(
        request,
        "chronology/event_form.html",
        {
            "form": form,
            "child": child,
            "original": original,
            "type_groups": v.EVENT_TYPE_GROUPS,
            "factor_groups": v.FACTOR_GROUPS,
            "asks": {n.confirm for n in nudges if n.confirm},
            "under_13": child.age_on(timezone.localdate()) < services.DNA_MIN_AGE_YEARS,
        },
    )


def _matched_child(request, form: FindChildForm) -> Child:
    child_id = posted_id(request.POST, "child")
    if not child_id or not form.is_valid():
        raise Http404("No child found")
    try:
        return selectors.child_matching_one(
            actor=request.user, identifiers=form.identifiers(), child_id=child_id, origin=origin_from_request(request)
        )
    except Child.DoesNotExist:
        raise Http404("No child found") from None


@require_POST
def child_claim(request):
    """Record information about a child found by exact identifiers: creates the practitioner's involvement."""
    form = FindChildForm(request.POST)
    child = _matched_child(request, form)
    try:
        agency_services.involvement_claim_for_recording(actor=request.user, child=child)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
        return redirect("child-find")
    messages.success(
        request,
        f"You can now record information about {child.full_name}. "
        "Your designated safeguarding lead will confirm or end this involvement.",
    )
    return redirect("child-detail", child_id=child.pk)


@require_POST
def child_break_glass(request):
    form = FindChildForm(request.POST)
    child = _matched_child(request, form)
    break_glass_form = BreakGlassForm(request.POST, auto_id=f"id_bg{child.pk}_%s")
    if break_glass_form.is_valid():
        try:
            agency_services.exceptional_access_open(
                actor=request.user,
                child=child,
                kind=ExceptionalAccessKind.BREAK_GLASS,
                reason=break_glass_form.cleaned_data["reason"],
            )
        except PermissionDenied as exc:
            messages.error(request, str(exc))
            return redirect("child-find")
        return redirect("child-detail", child_id=child.pk)
    return views_search.search_results(request, failed=break_glass_form, failed_child=child.pk)


@require_http_methods(["GET", "POST"])
def child_audit_open(request, child_id: int):
    if not rules.has_perm("agencies.open_for_audit", request.user):
        raise Http404("No child found")
    child = get_object_or_404(Child.objects.select_related("area"), pk=child_id, area_id=request.user.agency.area_id)
    form = AuditOpenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        agency_services.exceptional_access_open(
            actor=request.user, child=child, kind=ExceptionalAccessKind.AUDIT, reason=form.cleaned_data["reason"]
        )
        return redirect("child-detail", child_id=child.pk)
    return render(request, "chronology/audit_open.html", {"form": form, "child": child})


def _managed_child(request, child_id: int):
    child, _ = _child_or_404(request, child_id, "child record (managing involvements)")
    if not rules.has_perm("agencies.manage_involvements", request.user, child):
        raise PermissionDenied("Only designated and area safeguarding leads manage involvements.")
    return child


@require_http_methods(["GET", "POST"])
@transaction.atomic
def involvement_add(request, child_id: int):
    child = _managed_child(request, child_id)
    user = request.user
    if Role.AREA_SAFEGUARDING_LEAD in user.role_codes():
        agencies = Agency.objects.filter(area_id=user.agency.area_id)
    else:
        agencies = Agency.objects.filter(pk=user.agency_id)
    practitioners = User.objects.filter(agency__in=agencies, is_active=True).select_related("agency")
    form = InvolvementAddForm(request.POST or None, agencies=agencies, practitioners=practitioners)
    if request.method == "POST" and form.is_valid():
        try:
            agency_services.involvement_add(
                actor=user,
                child=child,
                agency=form.cleaned_data["agency"],
                practitioner=form.cleaned_data["practitioner"],
                reason=form.cleaned_data["reason"],
                reason_detail=form.cleaned_data["reason_detail"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, "Involvement added.")
            return redirect("child-detail", child_id=child.pk)
    return render(request, "chronology/involvement_add.html", {"form": form, "child": child})


def _involvement_for(request, involvement_id: int) -> Involvement:
    involvement = (
        Involvement.objects.select_related("child", "agency", "practitioner").filter(pk=involvement_id).first()
    )
    if involvement is None or selectors.policy.access_for(request.user, involvement.child) is None:
        raise Http404("No involvement found")
    return involvement


@require_http_methods(["GET", "POST"])
def involvement_end(request, involvement_id: int):
    involvement = _involvement_for(request, involvement_id)
    if not rules.has_perm("agencies.manage_involvements", request.user, involvement.child):
        raise PermissionDenied("Only designated and area safeguarding leads end involvements.")
    form = InvolvementEndForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            agency_services.involvement_end(
                actor=request.user, involvement=involvement, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, f"Involvement of {involvement} with {involvement.child.full_name} ended.")
            if selectors.policy.access_for(request.user, involvement.child) is None:
                return redirect(
                    "involvements-to-confirm"
                    if rules.has_perm("agencies.confirm_involvements", request.user)
                    else "home"
                )
            return redirect("child-detail", child_id=involvement.child_id)
    return render(request, "chronology/involvement_end.html", {"form": form, "involvement": involvement})


@require_POST
def involvement_confirm(request, involvement_id: int):
    involvement = _involvement_for(request, involvement_id)
    try:
        agency_services.involvement_confirm(actor=request.user, involvement=involvement)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Involvement of {involvement} with {involvement.child.full_name} confirmed.")
    return redirect(
        request.POST.get("next")
        if request.POST.get("next") == reverse("involvements-to-confirm")
        else reverse("child-detail", args=[involvement.child_id])
    )


@require_POST
def involvement_renew(request, involvement_id: int):
    involvement = _involvement_for(request, involvement_id)
    try:
        agency_services.involvement_renew(actor=request.user, involvement=involvement)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Involvement renewed.")
    return redirect("child-detail", child_id=involvement.child_id)


@require_http_methods(["GET", "POST"])
def child_new(request):
    """Add a child not yet on Jigsaw. A child whose NHS number or UPN is known is found instead."""
    form = ChildForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            child = services.child_create(
                actor=request.user,
                data=services.ChildInput(
                    given_name=data["given_name"],
                    family_name=data["family_name"],
                    date_of_birth=data["date_of_birth"],
                    sex=data["sex"],
                    nhs_number=data["nhs_number"],
                    upn=data["upn"],
                    ethnicity=data["ethnicity"],
                    religion=data["religion"],
                    first_language=data["first_language"],
                ),
            )
        except services.ChildExists:
            # One child, one record: show the exact-identifier match, as "Find a child" would.
            messages.info(request, "This child is already on Jigsaw: their record is below.")
            return views_search.search_results(request)
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error("dob_day" if name == "date_of_birth" else None, errors)
        else:
            messages.success(request, f"{child.full_name} added. You are recorded as working with them.")
            return redirect("child-detail", child_id=child.pk)
    return render(request, "chronology/child_new.html", {"form": form})


@require_http_methods(["GET", "POST"])
@transaction.atomic
def household_add(request, child_id: int):
    child, access = _child_or_404(request, child_id, "chronology (adding a household member)")
    if not access.can_write:
        raise PermissionDenied("You can read this record but not record information on it.")
    form = HouseholdMemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.household_member_add(actor=request.user, child=child, **form.cleaned_data)
        messages.success(request, "Household member recorded.")
        return redirect("child-detail", child_id=child.pk)
    return render(request, "chronology/household_add.html", {"form": form, "child": child})


@require_http_methods(["GET", "POST"])
@transaction.atomic
def address_add(request, child_id: int):
    child, access = _child_or_404(request, child_id, "chronology (adding an address)")
    if not access.can_write:
        raise PermissionDenied("You can read this record but not record information on it.")
    form = AddressForm(request.POST or None, initial={"area_name": child.area.name})
    if request.method == "POST" and form.is_valid():
        try:
            services.address_add(actor=request.user, child=child, **form.cleaned_data)
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            messages.success(request, "Address recorded.")
            return redirect("child-detail", child_id=child.pk)
    return render(request, "chronology/address_add.html", {"form": form, "child": child})


@require_http_methods(["GET", "POST"])
@transaction.atomic
def child_details(request, child_id: int):
    child, access = _child_or_404(request, child_id, "chronology (changing the child's details)")
    if not access.can_write:
        raise PermissionDenied("You can read this record but not record information on it.")
    form = ChildDetailsForm(request.POST or None, child=child, initial=child_details_initial(child))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.child_details_update(
            actor=request.user,
            child=child,
            changes=form.changes(),
            alias=(data["alias_given_name"], data["alias_family_name"], data["alias_note"]),
        )
        messages.success(request, "Details saved.")
        return redirect("child-detail", child_id=child.pk)
    return render(request, "chronology/child_details.html", {"form": form, "child": child})
