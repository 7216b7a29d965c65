"""What every endpoint shares: who may call, how much they may send, how errors read, and retries made safe."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler

from agencies.models import AccessChannel, ApiKey
from agencies.services import Origin, origin_from_request
from api.models import IdempotentRequest

IDEMPOTENCY_KEY = "Idempotency-Key"


PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# Far beyond any list here; it keeps the row offset within what every database takes.
MAX_PAGE = 1_000_000


class PageQuery(serializers.Serializer):
    """The paging every list endpoint takes: `page` from 1, `page_size` rows a page."""

    page = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_PAGE,
        default=1,
        help_text="Which page, from 1. A page past the last answers 404 (an empty list has one, empty, page).",
    )
    page_size = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_PAGE_SIZE,
        default=PAGE_SIZE,
        help_text=f"Rows per page, at most {MAX_PAGE_SIZE}; {PAGE_SIZE} when left out.",
    )


class PageSerializer(serializers.Serializer):
    """What every list endpoint answers around its `results`."""

    count = serializers.IntegerField(help_text="How many rows match, on every page together.")
    next = serializers.IntegerField(allow_null=True, help_text="The next page's number; null on the last page.")
    previous = serializers.IntegerField(allow_null=True, help_text="The previous page's number; null on the first.")


def page_links(total: int, number: int, size: int) -> tuple[int | None, int | None]:
    """The next and previous page numbers of page `number`; 404 past the last page (an empty list has one)."""
    last = max(1, -(-total // size))
    if number > last:
        raise Http404(f"There {'is 1 page' if last == 1 else f'are {last} pages'} of {size}.")
    return (number + 1 if number < last else None), (number - 1 if number > 1 else None)


def page_of(rows: QuerySet, query: dict) -> dict:
    """One page of `rows` (already ordered) as count, next, previous and results."""
    number, size = query["page"], query["page_size"]
    total = rows.count()
    following, preceding = page_links(total, number, size)
    start = (number - 1) * size
    return {"count": total, "next": following, "previous": preceding, "results": list(rows[start : start + size])}


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "body_too_large"


class ApiView(APIView):
    """One endpoint. Signed-in pages' LoginRequiredMiddleware does not apply: the API authenticates itself
    (a key and X-Acting-User, or the browser's session) and refuses the unauthenticated with 401."""

    # The largest body this endpoint reads, in bytes (settings.JIGSAW_API_MAX_BODY unless it says otherwise).
    max_body: int | None = None
    # A POST that only reads (none here yet) would say writes = False; every POST needs the write scope.
    writes = False

    @classmethod
    def as_view(cls, **initkwargs):
        view = super().as_view(**initkwargs)
        view.login_required = False
        return view

    def initial(self, request, *args, **kwargs):
        limit = self.max_body or settings.JIGSAW_API_MAX_BODY
        length = request.META.get("CONTENT_LENGTH") or "0"
        if not length.isdigit():
            raise exceptions.ParseError("Content-Length is not a number.")
        if int(length) > limit:
            raise BodyTooLarge(f"The body is {int(length):,} bytes; this endpoint takes at most {limit:,} bytes.")
        # Read once, within the limit: the parser then reads the copy, and an Idempotency-Key fingerprints it.
        request._request.body  # noqa: B018
        super().initial(request, *args, **kwargs)

    def origin(self) -> Origin:
        return origin_from_request(self.request, AccessChannel.API)


def api_exception_handler(exc, context):
    """DRF's handler, and a service's refusal (Django's ValidationError) as a 400 naming its fields."""
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": " ".join(exc.messages)}
        exc = exceptions.ValidationError(detail)
    return exception_handler(exc, context)


def _caller(request) -> str:
    return f"key:{request.auth.pk}" if isinstance(request.auth, ApiKey) else f"user:{request.user.pk}"


def _fingerprint(request) -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}\n".encode())
    digest.update(request._request.body)
    return digest.hexdigest()


def _replay(record: IdempotentRequest, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        raise exceptions.ValidationError(
            {IDEMPOTENCY_KEY: ["This key was first used with a different request: use a new key for a new request."]}
        )
    headers = {"Idempotent-Replayed": "true"}
    if record.location:
        headers["Location"] = record.location
    return Response(record.body, status=record.status, headers=headers)


def idempotent(request, perform) -> Response:
    """Run `perform` (which writes) in one transaction. With an Idempotency-Key header, its response is stored in
    the same transaction: a retry with the same key and body gets it back and writes nothing; the same key with a
    different body is refused. Two concurrent calls with one key: the second waits on the first's row, then
    replays it."""
    key = request.headers.get(IDEMPOTENCY_KEY)
    if key is None:
        with transaction.atomic():
            return perform()
    key = key.strip()
    if not 1 <= len(key) <= 100 or not key.isprintable():
        raise exceptions.ValidationError({IDEMPOTENCY_KEY: ["Give a key of 1 to 100 printable characters."]})
    caller, fingerprint = _caller(request), _fingerprint(request)
    found = IdempotentRequest.objects.filter(caller=caller, key=key).first()
    if found is not None:
        return _replay(found, fingerprint)
    try:
        with transaction.atomic():
            record = IdempotentRequest.objects.create(
                caller=caller, key=key, fingerprint=fingerprint, status=0, created_at=timezone.now()
            )
            response = perform()
            record.status, record.body = response.status_code, response.data
            record.location = response.headers.get("Location", "")
            record.save(update_fields=["status", "body", "location"])
            return response
    except IntegrityError:
        found = IdempotentRequest.objects.filter(caller=caller, key=key).first()
        if found is None:
            raise
        return _replay(found, fingerprint)


def idempotency_forget(*, now=None) -> int:
    """Drop stored responses older than JIGSAW_API_IDEMPOTENCY_DAYS (run daily)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.JIGSAW_API_IDEMPOTENCY_DAYS)
    deleted, _ = IdempotentRequest.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def not_found(request, exception=None):
    """A URL that matches no route (under /api/, e.g. a negative id) answers in JSON like every API refusal."""
    from django.http import JsonResponse
    from django.views.defaults import page_not_found

    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)


def server_error(request):
    from django.http import JsonResponse
    from django.views.defaults import server_error as page_server_error

    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Something went wrong on our side; nothing was written."}, status=500)
    return page_server_error(request)
