"""The contract's JSON Schema: every error it finds, as a problem in the contract's words, with its place."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from chronology.exchange.problems import Place, Problem

# The schema file stays in chronology/schema/, beside this package.
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schema" / "chronology-exchange.schema.json"


# --- the contract's JSON Schema --------------------------------------------------------------------


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


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


def schema_problems(document: Any) -> list[Problem]:
    return [_schema_problem(error) for error in _validator().iter_errors(document)]
