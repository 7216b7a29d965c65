"""Chronology exchange documents (`chronology-exchange/1`): check, import and export.

Import is all or nothing. The whole document is checked first (the contract's JSON Schema, the
references between its parts, NHS numbers and UPNs, the shared event rules of
`services.event_problems`, the actor's access) and every problem is reported with its place; only a
document without any is written, in one transaction. Identity is `source` + `ref`: importing the
same document again writes nothing, and a stored event is never changed (the sender amends it).
The export gives back every field an import gave, with the same value; what it adds is listed in
docs/exchange.md and recognised here, so that importing an export changes nothing.

The modules: `problems` (a problem and its place), `validation` (the JSON Schema), `contract`
(the contract's fields and the contract form of stored records), `export`, and the import in
`importing` (the entry points), `plans`, `planning` (checking) and `writing`.
"""

from __future__ import annotations

from chronology.exchange.contract import (
    ADDED_FIELDS,
    AGENCY_FIELDS,
    AGENCY_KEEPS_EXTRA,
    CHILD_FIELDS,
    FORMAT,
    PERSON_FIELDS,
    SOURCE_PATTERN,
    agency_document,
    child_from_model,
    event_document,
    event_values,
    given_fields,
    parse_timestamp,
    person_document,
    utc_text,
)
from chronology.exchange.export import chronology_export
from chronology.exchange.importing import chronology_import, document_parse
from chronology.exchange.plans import SUMMARY_SHAPE, ImportSummary
from chronology.exchange.problems import ImportRefused, Place, Problem, place_text
from chronology.exchange.validation import SCHEMA_PATH, schema_problems

__all__ = [
    "ADDED_FIELDS",
    "AGENCY_FIELDS",
    "AGENCY_KEEPS_EXTRA",
    "CHILD_FIELDS",
    "FORMAT",
    "PERSON_FIELDS",
    "SCHEMA_PATH",
    "SOURCE_PATTERN",
    "SUMMARY_SHAPE",
    "ImportRefused",
    "ImportSummary",
    "Place",
    "Problem",
    "agency_document",
    "child_from_model",
    "chronology_export",
    "chronology_import",
    "document_parse",
    "event_document",
    "event_values",
    "given_fields",
    "parse_timestamp",
    "person_document",
    "place_text",
    "schema_problems",
    "utc_text",
]
