"""The OpenAPI document's shared parts: the headers every call may carry."""

from __future__ import annotations

from api.authentication import ACTING_USER
from api.base import IDEMPOTENCY_KEY

ACTING_USER_PARAMETER = {
    "name": ACTING_USER,
    "in": "header",
    "required": False,
    "description": (
        "Required with an API key: the username of the person in the key's agency this call is made for. The "
        "call is held to what the access policy lets that person do and is logged against them and the key. "
        "Not used by the browser's own (session) calls."
    ),
    "schema": {"type": "string", "maxLength": 150},
    "example": "hv.practitioner",
}
IDEMPOTENCY_PARAMETER = {
    "name": IDEMPOTENCY_KEY,
    "in": "header",
    "required": False,
    "description": (
        "Makes a retry safe: a second call with the same key and body returns the first response (with "
        "`Idempotent-Replayed: true`) and writes nothing; the same key with a different body is refused (400). "
        "Keys are kept for 7 days."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 100},
}


def headers_documented(result, generator, request, public):
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            parameters = operation.setdefault("parameters", [])
            parameters.append(ACTING_USER_PARAMETER)
            if method in ("post", "put", "patch"):
                parameters.append(IDEMPOTENCY_PARAMETER)
    return result
