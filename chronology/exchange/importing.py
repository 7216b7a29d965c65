"""Import: parse a document, check it whole, and write all of it or nothing."""

from __future__ import annotations

import json
from typing import Any

import structlog
from django.db import transaction

from agencies.models import User
from chronology.exchange.plans import ImportSummary
from chronology.exchange.problems import ImportRefused, Problem
from chronology.exchange.validation import schema_problems
from chronology.exchange.writing import _Importer

# The logger keeps the name it had before the module became a package: log lines are found by it.
log = structlog.get_logger("chronology.exchange")


def document_parse(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportRefused(
            [Problem((), f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")]
        ) from exc


def chronology_import(*, actor: User, document: Any) -> ImportSummary:
    """Check `document` whole, then write all of it in one transaction. Raises `ImportRefused`."""
    problems = schema_problems(document)
    if (
        not isinstance(document, dict)
        or not all(isinstance(document.get(k), list) for k in ("agencies", "children", "events"))
        or not isinstance(document.get("people", []), list)
        or not isinstance(document.get("source"), str)
    ):
        raise ImportRefused(problems)
    # Lines with a schema problem are not checked further: their shape cannot be trusted.
    bad = {p.place[:2] for p in problems if len(p.place) >= 2}
    with transaction.atomic():
        importer = _Importer(actor=actor, document=document, bad=bad, problems=problems)
        importer.check()
        if importer.problems:
            raise ImportRefused(importer.problems)
        summary = importer.write()
    log.info(
        "chronology_imported",
        source=summary.source,
        actor=actor.pk,
        **{f"{k}_{s}": n for k, v in summary.counts.items() for s, n in v.items()},
    )
    return summary
