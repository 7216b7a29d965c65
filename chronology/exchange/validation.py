"""The contract's JSON Schema: every error it finds, as a problem in the contract's words, with its place."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from chronology.exchange.problems import Place, Problem

try:
    import jsonschema_rs
except ImportError:  # pragma: no cover - the Python validator alone gives the same answers, slower
    jsonschema_rs = None

# The schema file stays in chronology/schema/, beside this package.
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schema" / "chronology-exchange.schema.json"


# --- the contract's JSON Schema --------------------------------------------------------------------


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@cache
def _fast_validator(native_dates: bool):
    """jsonschema-rs, when installed, only answers whether a document is valid: the usual case, and checking a
    large document item by item in Python is most of an import's time. The problems of a document that is not
    valid are always found and worded by `jsonschema`. Formats are checked by `jsonschema`'s own checker (dates
    as `date.fromisoformat` reads them), so the two validators never disagree about a date; or, when the caller
    knows no date can be in year 0 (the one date jsonschema-rs takes and Python does not), by jsonschema-rs itself,
    which is stricter about a timestamp (jsonschema then has the last word)."""
    if jsonschema_rs is None:
        return None
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    if native_dates:
        return jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
    checker = Draft202012Validator.FORMAT_CHECKER
    formats = {name: (lambda value, name=name: checker.conforms(value, name)) for name in ("date", "date-time")}
    return jsonschema_rs.Draft202012Validator(schema, validate_formats=True, formats=formats)


_ENUM_LABELS = {
    "kind": "agency kind",
    "factors": "factor code",
    "date_precision": "date precision",
    "verified": "verification",
    "amendment_kind": "amendment kind",
    "injury_kind": "injury kind",
}
_TYPE_WORDS = {
    "string": "a string",
    "object": "an object",
    "array": "a list",
    "boolean": "true or false",
    "null": "null",
    "number": "a number",
    "integer": "a whole number",
}
_PATTERN_WORDS = {
    "nhs_number": "an NHS number (10 digits)",
    "upn": "a unique pupil number (13 characters)",
    "source": "a source name (lower-case letters, digits, '.', '_' or '-'; at most 64)",
}


def _schema_problem(error) -> Problem:
    place: Place = tuple(error.absolute_path)
    name = next((p for p in reversed(place) if isinstance(p, str)), "")
    value, kind = error.instance, error.validator
    if kind == "anyOf" and error.context:
        # One branch is only ever "or null": the other says what is wrong.
        useful = [e for e in error.context if e.validator != "type"]
        if useful:
            return _schema_problem(useful[0])
        expected = " or ".join(_TYPE_WORDS.get(e.validator_value, e.validator_value) for e in error.context)
        return Problem(place, f"must be {expected}")
    if kind == "required":
        missing = error.message.split("'")[1] if error.message.count("'") >= 2 else str(error.validator_value)
        return Problem((*place, missing), "required field missing")
    if kind == "enum":
        return Problem(
            place, f"unknown {_ENUM_LABELS.get(name, name.replace('_', ' '))} {json.dumps(value)}".replace('"', "'")
        )
    if kind == "const":
        return Problem(place, f"must be '{error.validator_value}'")
    if kind == "type":
        expected = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        return Problem(place, "must be " + " or ".join(_TYPE_WORDS.get(t, t) for t in expected))
    if kind == "format" or (kind == "pattern" and error.validator_value.startswith("^\\d{4}")):
        return Problem(place, f"'{value}' is not a real date (YYYY-MM-DD)")
    if kind == "pattern":
        return Problem(place, f"'{value}' is not {_PATTERN_WORDS.get(name, 'in the expected form')}")
    if kind in {"minLength", "minItems"}:
        return Problem(place, "must not be empty")
    if kind == "maxLength":
        return Problem(place, f"longer than {error.validator_value} characters")
    if kind == "uniqueItems":
        return Problem(place, "a value is given twice")
    if kind == "minimum":
        return Problem(place, f"must be at least {error.validator_value}")
    if kind == "maximum":
        return Problem(place, f"must be at most {error.validator_value}")
    return Problem(place, error.message)


def _valid_fast(document: Any, native_dates: bool) -> bool:
    fast = _fast_validator(native_dates)
    if fast is None:
        return False
    try:
        return fast.is_valid(document)
    except (ValueError, TypeError, OverflowError):  # a value jsonschema-rs cannot take (a huge integer): ask jsonschema
        return False


def no_year_zero(text: str) -> bool:
    """Whether the JSON text of a document surely names no date in year 0: no '"0000-' and no escaped character
    that could spell one."""
    return '"0000-' not in text and "\\u" not in text


def schema_problems(document: Any, *, native_dates: bool = False) -> list[Problem]:
    """Every problem the contract's JSON Schema finds. `native_dates`: see `no_year_zero`."""
    if _valid_fast(document, native_dates):
        return []
    return [_schema_problem(error) for error in _validator().iter_errors(document)]
