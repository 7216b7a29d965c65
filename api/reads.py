"""A child's chronology read again by an agency's system, answered from a cache without losing a check or a log row.

Agencies' systems read the same pages of a chronology over and over (polling for what is new, paging through it
for a screen). On PostgreSQL, `GET /api/v1/children/<id>/events` with an API key is answered here, before the
session, CSRF, sign-in and DRF machinery that such a call does not use, when all of this holds:

- the key is known, not revoked, not expired, and has the read scope;
- X-Acting-User names an active person of the key's agency who is a practitioner with an active involvement of
  their own with the child (the access policy's first and strongest rule: `agencies.policy._access_among`);
- no bookkeeping is due: the key's last use was recorded less than a minute ago and the involvement's last
  activity less than an hour ago (the full view records both);
- the page was answered before (200, by the full view) for the same query, to a reader of the same agency and
  roles with the same confirmation state, and nothing it depends on has changed since (below);
- the key's throttle has room for the call.

The call is then counted against the key's throttle, written to the access log as the full view writes it (the
same columns as `agencies.services.access_log_record`, with the key, the request id and the involvement; a test
compares the two rows), and answered with the stored body. In every other case, including every refusal and every
other basis of access, the call goes on to the full view, which decides, answers and logs as it always does. A page
is stored only from the full view's answer, so what is read here is always what the full view wrote. The checks
and the log row are two prepared statements and the page one Redis round trip.

A page is stored the second time the full view answers it within `SEEN_SECONDS`, so a system reading each page
once (an export, a crawl) fills no memory; stored pages expire after JIGSAW_API_READ_CACHE_SECONDS. The cache key
names everything a page depends on:

- the records the chronology shows (the child and every record merged into it, at any depth) with, for each, the
  version raised in the same transaction whenever events are added to it
  (`chronology.models.EventsVersion`): events are never changed or deleted (an amendment or a withdrawal is a new
  event), so the entries read are the same exactly when these are;
- the reader's agency, roles and confirmation state: restricted entries, withdrawn entries and the
  own-agency-only view of an unconfirmed involvement depend on these and on nothing else about the person;
- the query, parameter by parameter;
- a generation token, replaced once a change to an agency is committed (an agency's name and code are in every
  entry, and agency codes are what the `agency` filter accepts); a page is stored under the token read before
  the full view built it, so one built from the old name is never served.

Set JIGSAW_API_READ_CACHE=false to send every call to the full view. The prepared statements need a direct
connection to PostgreSQL or a pooler that keeps them (PgBouncer 1.21 or later with max_prepared_statements).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
from dataclasses import dataclass

import psycopg
import structlog
from django.conf import settings
from django.core.cache import cache, caches
from django.db import DatabaseError, connection, transaction
from django.http import HttpResponse
from django.utils import timezone
from redis.exceptions import RedisError

from agencies.apikeys import KEY_PREFIX, key_hash
from agencies.models import AccessBasis, AccessChannel, ApiScope, Involvement, Role, User
from agencies.policy import Access, lapse_after
from agencies.services import _ACTIVITY_GRANULARITY
from api.authentication import _LAST_USE_GRANULARITY
from api.throttling import redis_client, throttle_window

log = structlog.get_logger(__name__)

PATH = re.compile(r"/api/v1/children/(\d{1,18})/events")
WHAT = "chronology (API)"  # as the full view logs it
GENERATION = "api-reads:generation"
SEEN_SECONDS = 300
# What the full view's answer carries besides its body (the outer middleware adds the rest to both).
HEADERS = {"Allow": "GET, POST, HEAD, OPTIONS", "X-Frame-Options": "DENY", "Vary": "Cookie"}


@dataclass(frozen=True)
class Reader:
    """Who is calling, as the key, the person and their own involvement with the child say."""

    key_id: int
    key_rate: str
    user_id: int
    username: str
    agency_id: int
    involvement: Involvement
    cache_key: str


class ChronologyReads:
    """The middleware: place it after the request id is bound and before the session (config.settings.base)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        match = PATH.fullmatch(request.path_info) if request.method == "GET" else None
        if match is None or not settings.JIGSAW_API_READ_CACHE:
            return self.get_response(request)
        child_id = int(match[1])
        try:
            reader = _reader(request, child_id)
            answered, generation = _answer(request, child_id, reader) if reader is not None else (None, None)
            if reader is not None and answered is None:
                # Read before the full view builds the page: a page stored under a token an agency's change has
                # since replaced is never served.
                generation = generation or _Store().generation()
        except (DatabaseError, psycopg.Error, RedisError) as exc:
            # Redis unreachable, a statement the schema changed under: the full view answers, or fails as it would.
            log.warning("api_read_fell_back", child_id=child_id, error=str(exc))
            return self.get_response(request)
        if answered is not None:
            return answered
        if reader is None:
            return self.get_response(request)
        response = self.get_response(request)
        if response.status_code == 200 and not response.streaming:
            try:
                _remember(request, child_id, reader, generation, response.content)
            except Exception:  # a page not stored is only read in full again: the answer given stands
                log.warning("api_read_not_stored", child_id=child_id, exc_info=True)
        return response


def _reader(request, child_id: int) -> Reader | None:
    """The caller, when they read this child through an active involvement of their own and no bookkeeping is due
    (the key's last use, the involvement's last activity); None otherwise, and the full view decides."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    key, username = key.strip(), request.headers.get("X-Acting-User", "").strip()
    if scheme != "Bearer" or not key.startswith(KEY_PREFIX) or not username or connection.vendor != "postgresql":
        return None
    now = timezone.now()
    params = [child_id, username, child_id, child_id, timezone.localdate(now), now - lapse_after(), key_hash(key)]
    rows = _execute(_READER_SQL, params)
    row = rows[0] if rows else None
    if row is None:
        return None
    key_id, scopes, rate, expires_at, last_used_at, user_id, agency_id, roles, records = row[:9]
    involvement_id, reason, confirmed_at, last_activity_at = row[9:]
    roles = tuple(sorted(roles))
    if (
        involvement_id is None
        or Role.PRACTITIONER not in roles
        or ApiScope.READ not in scopes
        or (expires_at is not None and expires_at <= now)
        or last_used_at is None
        or now - last_used_at > _LAST_USE_GRANULARITY
        or now - last_activity_at > _ACTIVITY_GRANULARITY
    ):
        return None
    involvement = Involvement(pk=involvement_id, reason=reason, confirmed_at=confirmed_at)
    stamp = (
        child_id,
        tuple(sorted(records)),
        agency_id,
        roles,
        involvement.awaiting_confirmation,
        sorted((name, tuple(values)) for name, values in request.GET.lists()),
    )
    return Reader(
        key_id=key_id,
        key_rate=rate,
        user_id=user_id,
        username=username,
        agency_id=agency_id,
        involvement=involvement,
        cache_key="api-reads:page:" + hashlib.sha256(repr(stamp).encode()).hexdigest(),
    )


# In one round trip: the key (known, not revoked) and its person (active, of the key's agency) with their roles; the
# records the chronology shows (chronology.linkage.record_ids), each with the version raised whenever
# events are added to it (chronology.models.EventsVersion; none yet reads as 0); and the person's own active
# involvement with the child or a record merged into it, as the policy takes it (the model's ordering,
# involvement_active_q's conditions).
_READER_SQL = """
WITH RECURSIVE records(id) AS (
    SELECT c.id FROM chronology_child c WHERE c.id = %s
    UNION SELECT c.id FROM chronology_child c JOIN records ON c.merged_into_id = records.id
)
SELECT k.id, k.scopes, k.rate, k.expires_at, k.last_used_at, u.id, u.agency_id,
    ARRAY(SELECT r.role FROM agencies_rolegrant r WHERE r.user_id = u.id),
    ARRAY(
        SELECT ARRAY[records.id, COALESCE(v.version, 0)]::text
        FROM records LEFT JOIN chronology_eventsversion v ON v.child_id = records.id
    ),
    i.id, i.reason, i.confirmed_at, i.last_activity_at
FROM agencies_apikey k
JOIN agencies_user u ON u.agency_id = k.agency_id AND u.username = %s AND u.is_active
LEFT JOIN LATERAL (
    SELECT i.id, i.reason, i.confirmed_at, i.last_activity_at FROM agencies_involvement i
    WHERE i.practitioner_id = u.id
      AND (i.child_id = %s OR i.child_id IN (SELECT c.id FROM chronology_child c WHERE c.merged_into_id = %s))
      AND i.started_on <= %s AND i.ended_at IS NULL AND i.last_activity_at >= %s
    ORDER BY i.started_on DESC, i.id
    LIMIT 1
) i ON TRUE
WHERE k.hashed = %s AND k.revoked_at IS NULL
"""
# The access log's row, as agencies.services.access_log_record writes it for this basis (tests/api/test_reads.py
# compares the two).
_LOG_SQL = """
INSERT INTO agencies_accesslog (at, user_id, child_id, what, channel, basis, reason, involvement_id,
    exceptional_access_id, ip_address, request_id, api_key_id)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, NULL, %s, %s, %s)
"""


def _execute(sql: str, params: list) -> list[tuple] | None:
    """One of the statements above as a prepared statement of the connection (kept between requests by
    CONN_MAX_AGE): planning them costs PostgreSQL four times what running them does. Django's own queries bind
    their parameters on the client and are never prepared, whatever the connection's threshold."""
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        raw.prepare_threshold = 5
    with psycopg.Cursor(raw) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchall() if cursor.description else None


def _answer(request, child_id: int, reader: Reader) -> tuple[HttpResponse | None, bytes | None]:
    """The stored page, counted and logged, or None when there is none or the throttle says no (the full view then
    answers, counting the call itself); and the agencies' generation token read with it."""
    window = throttle_window(f"key:{reader.key_id}", reader.key_rate)
    store = _Store()
    count, generation, stored = store.count_and_get(window.counter, window.ttl, reader.cache_key)
    prefix = (generation or b"") + b"|"
    if count > window.allowed or stored is None or generation is None or not stored.startswith(prefix):
        store.uncount(window.counter)
        return None, generation
    access = Access(AccessBasis.INVOLVEMENT, can_write=True, involvement=reader.involvement)
    try:
        _log(request, child_id, reader, access)
    except Exception:
        store.uncount(window.counter)  # the full view counts the call it answers
        raise
    request.user = User(pk=reader.user_id, username=reader.username, agency_id=reader.agency_id)  # for the log line
    body = stored[len(prefix) :]
    response = HttpResponse(body, content_type="application/json")
    response["Content-Length"] = str(len(body))
    for name, value in HEADERS.items():
        response[name] = value
    return response, generation


def _log(request, child_id: int, reader: Reader, access: Access) -> None:
    _execute(  # in autocommit: the row is written before the page is sent
        _LOG_SQL,
        [
            timezone.now(),
            reader.user_id,
            child_id,
            WHAT,
            AccessChannel.API.value,
            access.basis.value,
            access.reason,
            reader.involvement.pk,
            request.META.get("REMOTE_ADDR") or None,
            _request_id(),
            reader.key_id,
        ],
    )


def _remember(request, child_id: int, reader: Reader, generation: bytes, body: bytes) -> None:
    """Store the full view's page the second time it is asked for, if nothing it depends on changed meanwhile."""
    store = _Store()
    if store.seen(reader.cache_key) < 2:
        return
    again = _reader(request, child_id)
    if again is None or again.cache_key != reader.cache_key:
        return
    store.put(reader.cache_key, generation + b"|" + body)


def generation_renew(**kwargs) -> None:
    """Every stored page is old once a change to an agency is committed (a signal receiver: api.apps). Renewed
    after the commit, not before: a page built from the old name before then carries the old token."""
    transaction.on_commit(lambda: _Store().renew(), robust=True)


def _request_id() -> str:
    return str(structlog.contextvars.get_contextvars().get("request_id", ""))


class _Store:
    """The default cache: one round trip to Redis in production, the cache API otherwise (tests on SQLite)."""

    def __init__(self):
        self.backend = caches["default"]
        self.client = redis_client()

    def _key(self, name: str) -> str:
        return self.backend.make_and_validate_key(name)

    def count_and_get(self, counter: str, ttl: int, page: str) -> tuple[int, bytes | None, bytes | None]:
        if self.client is not None:
            pipe = self.client.pipeline(transaction=False)
            pipe.incr(self._key(counter))
            pipe.expire(self._key(counter), ttl, nx=True)
            pipe.get(self._key(GENERATION))
            pipe.get(self._key(page))
            count, _, generation, stored = pipe.execute()
            return count, generation, stored
        cache.add(counter, 0, timeout=ttl)
        try:
            count = cache.incr(counter)
        except ValueError:  # expired between add and incr: this call starts the window again
            cache.set(counter, 1, timeout=ttl)
            count = 1
        found = cache.get_many([GENERATION, page])
        return count, found.get(GENERATION), found.get(page)

    def uncount(self, counter: str) -> None:
        if self.client is not None:
            self.client.decr(self._key(counter))
        else:
            with contextlib.suppress(ValueError):  # the window has ended: nothing to take back
                cache.decr(counter)

    def seen(self, page: str) -> int:
        name = page.replace(":page:", ":seen:")
        if self.client is not None:
            pipe = self.client.pipeline(transaction=False)
            pipe.incr(self._key(name))
            pipe.expire(self._key(name), SEEN_SECONDS, nx=True)
            return pipe.execute()[0]
        cache.add(name, 0, timeout=SEEN_SECONDS)
        return cache.incr(name)

    def generation(self) -> bytes:
        token = secrets.token_hex(16).encode()
        if self.client is not None:
            self.client.set(self._key(GENERATION), token, nx=True)
            return self.client.get(self._key(GENERATION))
        cache.add(GENERATION, token, timeout=None)
        return cache.get(GENERATION)

    def put(self, page: str, value: bytes) -> None:
        seconds = settings.JIGSAW_API_READ_CACHE_SECONDS
        if self.client is not None:
            self.client.set(self._key(page), value, ex=seconds)
        else:
            cache.set(page, value, timeout=seconds)

    def renew(self) -> None:
        token = secrets.token_hex(16).encode()
        if self.client is not None:
            self.client.set(self._key(GENERATION), token)
        else:
            cache.set(GENERATION, token, timeout=None)
