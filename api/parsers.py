"""The one body every endpoint reads: JSON, holding only what the database can store."""

from __future__ import annotations

import re
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# What the raw body must contain for a string in it to hold NUL or half a surrogate pair (both written as
# escapes: JSON takes no raw control character). Most bodies have neither and are not walked.
_SUSPECT = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def unstorable(value: Any, place: str = "") -> str | None:
    """The place of the first name or text in `value` that PostgreSQL cannot store: one holding the NUL
    character, or half a surrogate pair (no character at all, so not UTF-8). None when there is none."""
    if isinstance(value, str):
        return (place or "the body") if _bad_text(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{place}.{key}" if place else str(key)
            if _bad_text(key):
                return f"a name in {place or 'the body'}"
            found = unstorable(item, here)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = unstorable(item, f"{place}[{index}]")
            if found:
                return found
    return None


def _bad_text(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class JsonParser(JSONParser):
    """DRF's JSON parser, refusing with a 400 a body holding the NUL character or half a surrogate pair in any
    name or text, before anything reads it: PostgreSQL stores neither, in text or in JSON."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(
                "JSON parse error - nested too deeply: no record here needs more than a few levels."
            ) from None
        request = (parser_context or {}).get("request")
        body = request._request.body if request is not None else None
        if body is None or _SUSPECT.search(body):
            place = unstorable(data)
            if place:
                raise ParseError(
                    f"This JSON cannot be stored: {place} holds the character \\u0000 (NUL) or half a "
                    "surrogate pair. Remove it and send the request again."
                )
        return data
