"""A bench-only endpoint: the least the chronology endpoint's work can cost on this stack (bench_api measures it).

`/bench/lean/<child>` does, in hand-written SQL through Django's connection and the production middleware, only
what every call of the real endpoint must: find the key by its hash and the acting person of its agency with
their involvement in one query, write the access-log row, read a page of 50 entries and answer them in JSON. No
access policy beyond that, no visibility rules, no amendments, no count, no throttle: a floor, not a product.
"""

from __future__ import annotations

import hashlib
import json

from django.contrib.auth.decorators import login_not_required
from django.db import connection, transaction
from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import urlpatterns as product

_PERSON = """
SELECT k.id, u.id, i.id FROM agencies_apikey k
JOIN agencies_user u ON u.agency_id = k.agency_id AND u.username = %s AND u.is_active
LEFT JOIN agencies_involvement i ON i.child_id = %s AND i.practitioner_id = u.id AND i.ended_at IS NULL
WHERE k.hashed = %s AND k.revoked_at IS NULL
"""
_LOG = """
INSERT INTO agencies_accesslog (at, what, channel, basis, reason, request_id, child_id, user_id, involvement_id,
    api_key_id)
VALUES (now(), 'chronology (bench floor)', 'api', 'involvement', '', '', %s, %s, %s, %s)
"""
_PAGE = """
SELECT id, occurred_on, date_precision, type, factors, summary, action_taken, significant, sharing, recorded_by
FROM chronology_event WHERE child_id = %s ORDER BY occurred_on, recorded_at, id LIMIT 50
"""
_FIELDS = ("id", "occurred_on", "date_precision", "type", "factors", "summary", "action_taken", "significant")


@csrf_exempt
@login_not_required
def lean(request, child: int):
    key = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    hashed = hashlib.sha256(key.encode()).hexdigest()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_PERSON, [request.headers.get("X-Acting-User", ""), child, hashed])
        found = cursor.fetchone()
        if found is None or found[2] is None:
            return JsonResponse({"detail": "Not found."}, status=404)
        key_id, user_id, involvement_id = found
        cursor.execute(_LOG, [child, user_id, involvement_id, key_id])
        cursor.execute(_PAGE, [child])
        rows = [dict(zip(_FIELDS, row, strict=False)) for row in cursor.fetchall()]
    for row in rows:
        row["occurred_on"] = row["occurred_on"].isoformat()
    return HttpResponse(json.dumps({"results": rows}), content_type="application/json")


urlpatterns = [path("bench/lean/<int:child>", lean, name="bench-lean"), *product]
