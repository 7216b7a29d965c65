"""A pack's content as plain data (no Django): what the renderer, and the section processes, work from."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Row:
    when: str
    agency: str
    kind: str
    summary: str
    seen: str
    source: str
    significant: bool
    new: bool
    shortened: bool = False
    placeholder: bool = False
    restricted: bool = False  # a restricted entry printed in full (only in the pack with restricted entries)


@dataclass
class PackContent:
    variant: str
    child_name: str
    child_born: str
    child_nhs: str
    area: str
    meeting_on: str
    plan: str
    chair: str
    printed_as_of: str
    level: dict | None = None  # the indicated level, its reasons, toxic trio, flags (not in the copy for parents)
    household: list[dict] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    agencies: list[dict] = field(default_factory=list)
    actions: list[dict] = field(default_factory=list)
    new_since: str = ""
    # What "new" is counted from: the group's last meeting, or at its first meeting the day it began.
    new_since_what: str = "the last meeting"
    new_rows: list[Row] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    omitted: list[str] = field(default_factory=list)  # what the copy for parents leaves out, said on the cover
    restricted_for: str = ""  # the pack with restricted entries: to whom it is issued
    restricted_shown: str = ""  # and whose restricted entries it shows in full
