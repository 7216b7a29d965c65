"""Pages for likely duplicates: the match-review list, and the merges of one record (with unmerge).

Thin views: who may see what, and every logged read, live in `chronology.linkage`. To anyone who may
not use them these pages do not exist (404).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from agencies.services import origin_from_request
from chronology import linkage, selectors
from chronology.models import Child, MatchCandidate, MergeRecord
from config.requests import posted_id

CONFIRM = "confirm"
REJECT = "reject"


class MatchDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label="Are these the same child?",
        choices=[(CONFIRM, "Same child: merge the records"), (REJECT, "Different children")],
        widget=forms.RadioSelect,
        error_messages={"required": "Say whether these records are the same child"},
    )
    reason = forms.CharField(
        label="Reason",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required to merge: say how you know these are the same child.",
    )

    def clean(self):
        data = super().clean()
        if data.get("decision") == CONFIRM and not (data.get("reason") or "").strip():
            self.add_error("reason", "Enter how you know these are the same child")
        return data


class UnmergeForm(forms.Form):
    reason = forms.CharField(
        label="Why are these different children?",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Enter why these are different children"},
    )


def _add_errors(form: forms.Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@require_http_methods(["GET", "POST"])
@transaction.atomic
def match_review(request):
    """Likely duplicates for designated and area safeguarding leads to confirm or reject."""
    actor = request.user
    try:
        visible = linkage.match_candidates_visible(actor=actor)
    except PermissionDenied:
        raise Http404 from None
    form = MatchDecisionForm(request.POST or None)
    failed = None
    if request.method == "POST":
        match = visible.filter(pk=posted_id(request.POST, "match")).first()
        if match is None:
            # Decided by someone else meanwhile, or never theirs to decide: say so, reveal nothing.
            messages.error(request, "That likely match is no longer on your list: someone may have decided it.")
            return redirect("match-review")
        if form.is_valid():
            decision, reason = form.cleaned_data["decision"], form.cleaned_data["reason"]
            try:
                # A savepoint: a refused merge must not undo this request's access-log rows.
                with transaction.atomic():
                    if decision == CONFIRM:
                        merge = linkage.match_confirm(actor=actor, match=match, reason=reason)
                    else:
                        linkage.match_reject(actor=actor, match=match, reason=reason)
            except ValidationError as exc:
                _add_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
            else:
                if decision == CONFIRM:
                    messages.success(
                        request,
                        f"Records merged: {merge.merged.full_name}'s record is now part of "
                        f"{merge.surviving.full_name}'s record.",
                    )
                else:
                    messages.success(request, "Recorded as different children.")
                return redirect("match-review")
        failed = match.pk
    reviews = linkage.match_reviews(actor=actor, origin=origin_from_request(request))
    return render(
        request,
        "chronology/match_review.html",
        {"reviews": reviews, "form": form, "failed": failed, "statuses": MatchCandidate.Status},
    )


@require_http_methods(["GET", "POST"])
@transaction.atomic
def child_merges(request, child_id: int):
    """The records merged into this one, for the area safeguarding lead, with a way to undo each."""
    actor = request.user
    child = Child.objects.filter(pk=child_id).first()
    # Checked before anything is read, so a refusal is a 404 and logs nothing.
    if child is None or not linkage.may_unmerge(actor, child):
        raise Http404("No child found")
    origin = origin_from_request(request)
    try:
        child, _ = selectors.child_get(actor=actor, child_id=child_id, what="merges of this record", origin=origin)
    except Child.DoesNotExist:
        raise Http404("No child found") from None
    form = UnmergeForm(request.POST or None)
    failed = None
    if request.method == "POST":
        merge = MergeRecord.objects.filter(pk=posted_id(request.POST, "merge"), surviving=child).first()
        if merge is None:
            raise Http404("No merge found")
        if form.is_valid():
            try:
                with transaction.atomic():
                    linkage.child_unmerge(actor=actor, merge_record=merge, reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, f"Merge undone: {merge.merged.full_name}'s record stands on its own again.")
                return redirect("child-merges", child_id=child.pk)
        failed = merge.pk
    merges = linkage.merges_of(actor=actor, child=child, origin=origin)
    return render(
        request,
        "chronology/merges.html",
        {"child": child, "merges": merges, "form": form, "failed": failed},
    )
