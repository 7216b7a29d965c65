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


ERROR_SCHEMA = {
    "type": "object",
    "description": (
        'Why the call was refused: `detail` says it in words, or each field named (e.g. "summary", '
        '"events[3].agency") carries a list of what is wrong with it.'
    ),
    "properties": {"detail": {"type": "string", "description": "What is wrong, in words."}},
    "additionalProperties": {
        "description": "A field named by its place, with what is wrong with it.",
        "oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "object"}, {"type": "string"}],
    },
    "example": {"detail": "The API key has been revoked."},
}
ERRORS = {
    "400": "The request is malformed or a field is wrong; nothing was written.",
    "401": "No valid API key, or no X-Acting-User of the key's agency (or, from the browser, not signed in).",
    "403": "The key's scope, or the acting person's role, does not allow this.",
    "404": "No such record, or one the acting person may not know exists.",
    "413": "The body is larger than this endpoint takes.",
    "429": "Too many requests for this key: wait as Retry-After says.",
}


def headers_documented(result, generator, request, public):
    """Every operation documents the headers it reads and every refusal it can answer with."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            parameters = operation.setdefault("parameters", [])
            for parameter in parameters:
                if parameter.get("in") == "path" and not parameter.get("description"):
                    thing = parameter["name"].removesuffix("_id").replace("_", " ")
                    parameter["description"] = f"The platform's id of the {thing}."
            parameters.append(ACTING_USER_PARAMETER)
            writes = method in ("post", "put", "patch")
            if writes:
                parameters.append(IDEMPOTENCY_PARAMETER)
            responses = operation.setdefault("responses", {})
            for code, text in ERRORS.items():
                if code == "413" and not writes:
                    continue
                responses.setdefault(
                    code,
                    {
                        "description": text,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    },
                )
    return result
