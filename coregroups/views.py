"""Core group pages: start a group, its members and plan actions, the record of each meeting, and the packs.

Thin: parse, call a selector or a service, render. Every page about a child reads it through the access
policy (404 for a record the user may not know exists, 403 for a reader who may not do what they asked)
and logs the read; every download of a pack copy is logged as an export.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from agencies.models import AccessChannel
from agencies.services import access_log_record, origin_from_request
from chronology.models import Child
from chronology.selectors import child_get
from coregroups import selectors, services
from coregroups.forms import ActionForm, CoreGroupForm, FamilyMemberForm, MeetingForm, ProfessionalMemberForm
from coregroups.models import CoreGroup, Meeting, MemberKind, Pack, PackCopy, PackState, Variant


def _child(request, child_id: int, what: str):
    try:
        return child_get(actor=request.user, child_id=child_id, what=what, origin=origin_from_request(request))
    except Child.DoesNotExist:
        raise Http404("No child found") from None


def _group(request, group_id: int, what: str):
    try:
        return selectors.group_get(
            actor=request.user, group_id=group_id, what=what, origin=origin_from_request(request)
        )
    except CoreGroup.DoesNotExist:
        raise Http404("No core group found") from None


def _meeting(request, meeting_id: int, what: str):
    try:
        return selectors.meeting_get(
            actor=request.user, meeting_id=meeting_id, what=what, origin=origin_from_request(request)
        )
    except Meeting.DoesNotExist:
        raise Http404("No meeting found") from None


def _pack(request, pack_id: int, what: str | None = None, channel: AccessChannel = AccessChannel.PAGE):
    try:
        if what is None:
            return selectors.pack_find(actor=request.user, pack_id=pack_id)
        origin = origin_from_request(request, channel)
        return selectors.pack_get(actor=request.user, pack_id=pack_id, what=what, origin=origin)
    except Pack.DoesNotExist:
        raise Http404("No pack found") from None


def _may_change_members(user, group: CoreGroup) -> bool:
    return services.may_manage(user, group) or user.pk == group.created_by_id


def _add_errors(form, exc: ValidationError, fields: dict[str, str] | None = None) -> None:
    """A service's refusal onto the form: on its own field where there is one, otherwise the whole form."""
    fields = fields or {}
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            target = fields.get(name, name)
            form.add_error(target if target in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _pdf(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(bytes(data), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _copy_filename(copy: PackCopy) -> str:
    pack = copy.pack
    return f"chronology-pack-{pack.meeting.held_on:%Y-%m-%d}-{pack.variant}-v{pack.version}-copy{copy.number}.pdf"


def _export_logged(request, copy: PackCopy, access, verb: str) -> None:
    pack = copy.pack
    access_log_record(
        user=request.user,
        child=pack.meeting.group.child,
        access=access,
        what=(
            f"chronology pack export ({verb}): {pack.get_variant_display().lower()}, version {pack.version}, "
            f"copy {copy.number}, meeting of {pack.meeting.held_on:%d %B %Y}"
        ),
        origin=origin_from_request(request, AccessChannel.PDF),
    )


# --- starting a core group ----------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@transaction.atomic
def core_group_new(request, child_id: int):
    child, access = _child(request, child_id, "child record (starting a core group)")
    if not access.can_write:
        raise PermissionDenied("You can read this record but not start a core group for the child.")
    existing = selectors.open_group(child)
    if existing is not None:
        messages.info(request, "This child already has a core group.")
        return redirect("core-group", group_id=existing.pk)
    professionals = selectors.professionals_for(child)
    form = CoreGroupForm(request.POST if request.method == "POST" else None, professionals=professionals)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            group = services.core_group_start(
                actor=request.user,
                child=child,
                plan=data["plan"],
                category=data["category"],
                started_on=data["started_on"],
                chair=data["chair"],
                deputy=data["deputy"],
            )
        except ValidationError as exc:
            _add_errors(form, exc, {"started_on": "started_day"})
        else:
            messages.success(request, "Core group started. Add its members and the plan's actions.")
            return redirect("core-group", group_id=group.pk)
    return render(
        request, "coregroups/core_group_new.html", {"form": form, "child": child, "professionals": professionals}
    )


# --- the core group -----------------------------------------------------------------------------


def _group_page(request, group, *, status=200, form=None, **forms):
    user = request.user
    manage = services.may_manage(user, group)
    change_members = _may_change_members(user, group)
    page = selectors.group_page(group)
    if change_members:
        taken = [m.user_id for m in page.professionals]
        forms.setdefault(
            "professional_form",
            ProfessionalMemberForm(professionals=selectors.professionals_for(group.child, exclude=taken)),
        )
        forms.setdefault("family_form", FamilyMemberForm())
    if manage:
        forms.setdefault("action_form", ActionForm(members=group.members.filter(left_on__isnull=True)))
    return render(
        request,
        "coregroups/core_group.html",
        {
            "group": group,
            "child": group.child,
            "page": page,
            "may_manage": manage,
            "may_change_members": change_members,
            "form": form,  # the form that failed, for the error summary and the page title
            **forms,
        },
        status=status,
    )


@require_GET
@transaction.atomic
def core_group(request, group_id: int):
    group, _ = _group(request, group_id, "core group")
    return _group_page(request, group)


@require_POST
@transaction.atomic
def member_add(request, group_id: int):
    group, _ = _group(request, group_id, "core group (adding a member)")
    if not _may_change_members(request.user, group):
        raise PermissionDenied("Only the chair, the deputy or the area's safeguarding leads change the group.")
    if request.POST.get("form") == "professional":
        taken = list(group.members.filter(left_on__isnull=True, user__isnull=False).values_list("user_id", flat=True))
        form = ProfessionalMemberForm(
            request.POST, professionals=selectors.professionals_for(group.child, exclude=taken)
        )
        kind, extra, key = MemberKind.PROFESSIONAL, {}, "professional_form"
    else:
        form = FamilyMemberForm(request.POST)
        kind, extra, key = None, {}, "family_form"
    if form.is_valid():
        data = form.cleaned_data
        if kind == MemberKind.PROFESSIONAL:
            extra = {"user": data["user"]}
        else:
            kind = data["kind"]
            extra = {"name": data["name"], "relationship": data["relationship"]}
        try:
            member = services.member_add(actor=request.user, group=group, kind=kind, **extra)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"{member} added to the core group.")
            return redirect(reverse("core-group", args=[group.pk]) + "#members")
    return _group_page(request, group, form=form, **{key: form})


@require_POST
@transaction.atomic
def action_add(request, group_id: int):
    group, _ = _group(request, group_id, "core group (adding a plan action)")
    if not services.may_manage(request.user, group):
        raise PermissionDenied("Only the chair, the deputy or the area's safeguarding leads change the plan.")
    form = ActionForm(request.POST, members=group.members.filter(left_on__isnull=True))
    if form.is_valid():
        data = form.cleaned_data
        try:
            action = services.action_add(
                actor=request.user,
                group=group,
                description=data["description"],
                owner=data["owner"],
                due_on=data["due_on"],
                expected_impact=data["expected_impact"],
            )
        except ValidationError as exc:
            _add_errors(form, exc, {"due_on": "due_day"})
        else:
            messages.success(request, f"Action {action.number} added to the plan.")
            return redirect(reverse("core-group", args=[group.pk]) + "#actions")
    return _group_page(request, group, form=form, action_form=form)


# --- meetings -----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@transaction.atomic
def meeting_new(request, group_id: int):
    group, _ = _group(request, group_id, "core group (recording a meeting)")
    if not services.may_manage(request.user, group):
        raise PermissionDenied("Only the chair, the deputy or the area's safeguarding leads record a meeting.")
    page = selectors.group_page(group)
    members = page.professionals + page.family
    form = MeetingForm(
        request.POST if request.method == "POST" else None, members=members, actions=selectors.open_actions(group)
    )
    if request.method == "POST":
        form.is_valid()
        held_on_known = form.cleaned_data.get("held_on") is not None
        data = form.meeting_input(today=timezone.localdate())
        form.add_problems(services.meeting_problems(group, data), held_on_known=held_on_known)
        if not form.errors:
            try:
                meeting = services.meeting_record(actor=request.user, group=group, data=data)
            except ValidationError as exc:
                form.add_problems(exc.message_dict, held_on_known=True)
            else:
                messages.success(request, f"Meeting of {meeting.held_on:%-d %B %Y} recorded.")
                return redirect("meeting", meeting_id=meeting.pk)
    return render(request, "coregroups/meeting_new.html", {"form": form, "group": group, "child": group.child})


def _pack_context(request, meeting: Meeting) -> dict:
    user = request.user
    group = meeting.group
    if not services.may_read_packs(user, meeting):
        return {"may_read_packs": False}
    manage = services.may_manage(user, group)
    return {
        "may_read_packs": True,
        "variants": selectors.meeting_packs(meeting, user),
        "may_manage": manage,
        "restricted_reader": services.restricted_reader_agency(user),
        "addresses": list(selectors.child_addresses(group.child)) if manage else [],
    }


@require_GET
@transaction.atomic
def meeting(request, meeting_id: int):
    meeting, _ = _meeting(request, meeting_id, "core group meeting")
    return render(
        request,
        "coregroups/meeting.html",
        {
            "meeting": meeting,
            "group": meeting.group,
            "child": meeting.group.child,
            **selectors.meeting_record_page(meeting),
            **_pack_context(request, meeting),
        },
    )


# --- packs --------------------------------------------------------------------------------------


@require_POST
@transaction.atomic
def pack_request(request, meeting_id: int):
    meeting, _ = _meeting(request, meeting_id, "core group meeting (requesting a pack)")
    variant = request.POST.get("variant", "")
    if variant not in Variant.values:
        raise Http404("No such pack")
    omitted = []
    if variant == Variant.PARENTS:
        known = set(selectors.child_addresses(meeting.group.child).values_list("pk", flat=True))
        omitted = sorted({int(v) for v in request.POST.getlist("omit") if v.isdigit() and int(v) in known})
    try:
        pack = services.pack_request(actor=request.user, meeting=meeting, variant=variant, omitted_addresses=omitted)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(reverse("meeting", args=[meeting.pk]) + f"#packs-{variant}")
    messages.success(request, f"{pack.get_variant_display()}: version {pack.version} requested.")
    return redirect(reverse("meeting", args=[meeting.pk]) + f"#pack-{pack.pk}")


@require_GET
def pack_progress(request, pack_id: int):
    """The block of one pack, for the meeting page to poll while it renders. The page was logged when it was
    read; its polls, every 2 seconds, are not (they would bury the access log and add nothing to it)."""
    pack, _ = _pack(request, pack_id)
    if not services.may_read_packs(request.user, pack.meeting):
        raise PermissionDenied("Only the core group's members see its packs.")
    copies = list(pack.copies.defer("pdf").select_related("issued_to"))
    return render(
        request,
        "coregroups/_pack.html",
        {
            "pack": pack,
            "copies": copies,
            "meeting": pack.meeting,
            "may_manage": services.may_manage(request.user, pack.meeting.group),
        },
    )


@require_POST
@transaction.atomic
def pack_issue(request, pack_id: int):
    pack, access = _pack(request, pack_id)
    try:
        copy = services.pack_issue(actor=request.user, pack=pack)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(reverse("meeting", args=[pack.meeting_id]) + f"#pack-{pack.pk}")
    _export_logged(request, copy, access, "issued")
    return _pdf(copy.pdf, _copy_filename(copy))


@require_GET
@transaction.atomic
def pack_copy(request, copy_id: int):
    try:
        copy, access = selectors.copy_find(actor=request.user, copy_id=copy_id)
    except PackCopy.DoesNotExist:
        raise Http404("No copy found") from None
    if copy.issued_to_id != request.user.pk:
        raise PermissionDenied("A copy is downloaded only by the person it was issued to: issue yourself a copy.")
    _export_logged(request, copy, access, "downloaded")
    return _pdf(copy.pdf, _copy_filename(copy))


# --- the copy for parents: reviewed page by page, then signed off -------------------------------


def _parents_copy(request, pack_id: int, what: str, channel=AccessChannel.PAGE) -> Pack:
    pack, _ = _pack(request, pack_id, what, channel)
    if not services.may_manage(request.user, pack.meeting.group):
        raise PermissionDenied("The chair reviews the copy for parents.")
    return pack


@require_GET
@transaction.atomic
def pack_review(request, pack_id: int):
    pack = _parents_copy(request, pack_id, "chronology pack (reviewing the copy for parents)")
    if pack.variant != Variant.PARENTS:
        raise Http404("Only the copy for parents is reviewed page by page")
    pages = []
    if pack.state == PackState.READY:
        texts = selectors.page_texts(bytes(pack.pdf))
        pages = [
            {"number": n, "reviewed": n in pack.pages_reviewed, "text": texts[n - 1] if n <= len(texts) else ""}
            for n in range(1, (pack.pages or 0) + 1)
        ]
    unread = [p["number"] for p in pages if not p["reviewed"]]
    return render(
        request,
        "coregroups/pack_review.html",
        {
            "pack": pack,
            "meeting": pack.meeting,
            "child": pack.meeting.group.child,
            "pages": pages,
            "unread": unread,
            "addresses": [
                a for a in selectors.child_addresses(pack.meeting.group.child) if a.pk in pack.omitted_addresses
            ],
        },
    )


@require_GET
@transaction.atomic
def pack_page(request, pack_id: int, page: int):
    pack = _parents_copy(request, pack_id, f"chronology pack (page {page} as an image, for review)", AccessChannel.PDF)
    if pack.state != PackState.READY or not 1 <= page <= (pack.pages or 0):
        raise Http404("No such page")
    # 60 dots an inch shows the page's layout beside the others; large is for reading its smallest print.
    resolution = 150 if request.GET.get("size") == "large" else 60
    response = HttpResponse(selectors.page_png(bytes(pack.pdf), page, resolution=resolution), content_type="image/png")
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@transaction.atomic
def pack_page_reviewed(request, pack_id: int, page: int):
    pack = _parents_copy(request, pack_id, "chronology pack (reviewing the copy for parents)")
    try:
        pack = services.parent_copy_page_reviewed(actor=request.user, pack=pack, page=page)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("pack-review", pack_id=pack.pk)
    unread = [n for n in range(1, (pack.pages or 0) + 1) if n not in pack.pages_reviewed]
    after = [n for n in unread if n > page] or unread
    anchor = f"#page-{after[0]}" if after else "#sign-off"
    return redirect(reverse("pack-review", args=[pack.pk]) + anchor)


@require_POST
@transaction.atomic
def pack_sign_off(request, pack_id: int):
    pack = _parents_copy(request, pack_id, "chronology pack (signing off the copy for parents)")
    try:
        pack = services.parent_copy_sign_off(actor=request.user, pack=pack)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("pack-review", pack_id=pack.pk)
    messages.success(request, f"Copy for parents, version {pack.version}, signed off. It can now be issued.")
    return redirect(reverse("meeting", args=[pack.meeting_id]) + f"#pack-{pack.pk}")
