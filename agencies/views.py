from __future__ import annotations

import csv

import rules
import structlog
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from agencies import selectors, services
from agencies.forms import AccessLogFilterForm, ReviewForm, SignInForm
from config.requests import posted_id

log = structlog.get_logger(__name__)


class SignInView(auth_views.LoginView):
    template_name = "agencies/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True


class SignOutView(auth_views.LogoutView):
    pass


def _or_404(fn, **kwargs):
    # Pages for one role only: to anyone else they do not exist.
    try:
        return fn(**kwargs)
    except PermissionDenied:
        raise Http404 from None


def involvements_to_confirm(request):
    involvements = _or_404(selectors.involvements_to_confirm, actor=request.user)
    return render(request, "agencies/involvements_to_confirm.html", {"involvements": involvements})


@require_http_methods(["GET", "POST"])
def access_reviews(request):
    openings = _or_404(selectors.exceptional_access_to_review, actor=request.user)
    form = ReviewForm(request.POST or None)
    failed = None
    if request.method == "POST":
        opening = openings.filter(pk=posted_id(request.POST, "opening")).first()
        if opening is None:
            raise Http404
        if form.is_valid():
            try:
                services.exceptional_access_review(
                    actor=request.user,
                    opening=opening,
                    outcome=form.cleaned_data["outcome"],
                    note=form.cleaned_data["note"],
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, "Review recorded.")
                return redirect("access-reviews")
        failed = opening.pk
    return render(request, "agencies/access_reviews.html", {"openings": openings, "form": form, "failed": failed})


def access_log(request):
    form = AccessLogFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    rows = _or_404(selectors.access_log, actor=request.user, child_id=filters.get("child"), user_id=filters.get("user"))
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    claimed = selectors.self_claimed_involvements(actor=request.user)[:50]
    return render(
        request,
        "agencies/access_log.html",
        {
            "form": form,
            "page": page,
            "claimed": claimed,
            "query": request.GET.urlencode(),
            "is_auditor": rules.has_perm("agencies.open_for_audit", request.user),
        },
    )


class _Echo:
    def write(self, value):
        return value


def access_log_csv(request):
    form = AccessLogFilterForm(request.GET or None)
    if request.GET and not form.is_valid():
        # Never export more than was asked for: a filter that cannot be read exports nothing.
        return HttpResponseBadRequest(
            "The filter is not valid: "
            + "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items()),
            content_type="text/plain",
        )
    filters = form.cleaned_data if request.GET else {}
    rows = _or_404(selectors.access_log, actor=request.user, child_id=filters.get("child"), user_id=filters.get("user"))
    log.info("access_log_exported", actor=request.user.pk, filters={k: v for k, v in filters.items() if v})
    writer = csv.writer(_Echo())
    header = [
        "at_utc",
        "user",
        "username",
        "agency",
        "child_id",
        "child",
        "what",
        "channel",
        "basis",
        "reason",
        "ip_address",
        "request_id",
    ]

    def lines():
        yield writer.writerow(header)
        for row in rows.iterator(chunk_size=500):
            yield writer.writerow(
                [
                    row.at.astimezone(timezone.UTC).isoformat(),
                    row.user.get_full_name(),
                    row.user.username,
                    row.user.agency.name if row.user.agency_id else "",
                    row.child_id,
                    row.child.full_name,
                    row.what,
                    row.channel,
                    row.basis,
                    row.reason,
                    row.ip_address or "",
                    row.request_id,
                ]
            )

    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="access-log-{stamp}.csv"'
    return response
