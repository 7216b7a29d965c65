"""Finding a child: a tolerant name search among the children you may read, exact identifiers for the rest.

Two reads with two rules:

- `children_found` lists children the user MAY READ whose name is like the one typed: case, accents and
  punctuation do not matter, nor do spelling variants, transliterations and misspellings (the likeness of
  `chronology.linkage`: metaphone and NYSIIS, then Jaro-Winkler), nor whether the name typed is the given
  name, the family name or both in one box. Aliases count, and a record merged into another is found as
  the surviving record. A date of birth narrows the list, or alone lists the readable children born that
  day. Listing is not reading a record: it writes no access-log row (opening the chronology does).
- `children_disclosed` is the disclosure rule, unchanged: a child the user may NOT read shows (summary
  only, logged with basis "exact identifier match") on an exact NHS number, an exact UPN, or the exact
  name with the exact date of birth. Exact here ignores case and accents only. A tolerant match never
  shows a child the user may not read.

How the search scales (an area safeguarding lead may read 50,000 children): every child and alias
stores `name_keys`, the metaphone and NYSIIS keys and first three letters of each word of the name
(kept up to date on save; filled for existing rows by migration 0006). The database narrows the
readable children to those whose name shares a key with every word typed, in one query: a
contains-match on that short column, as subqueries of the readable set (a B-tree index cannot serve
a contains-match; a pass over 50,000 short strings costs milliseconds). Only the candidates' ids and
names, at most `CANDIDATE_LIMIT`, come to Python to be scored by `linkage.part_match` /
`linkage.name_match` (each distinct name once) and ranked; only the closest `RESULT_LIMIT` are loaded.
On PostgreSQL, with 50,000 readable children, a search takes tens to a few hundred milliseconds.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import reduce
from operator import and_, or_

import jellyfish
from django.db.models import Q

from agencies import policy
from agencies.services import Origin
from chronology import selectors
from chronology.linkage import FAMILY_NAME_FLOOR, GIVEN_NAME_FLOOR, name_match, normalise_name, part_match
from chronology.models import Child, ChildAlias

RESULT_LIMIT = 50
CANDIDATE_LIMIT = 5000
PREFIX_LENGTH = 3


# --- keys stored with each name ------------------------------------------------------------------


def word_keys(word: str) -> set[str]:
    """The keys of one normalised word: how it sounds (metaphone, NYSIIS) and how it starts."""
    keys = {f"p:{word[:PREFIX_LENGTH]}"}
    for tag, algorithm in (("m", jellyfish.metaphone), ("n", jellyfish.nysiis)):
        key = algorithm(word)
        if len(key) >= 2:  # a key of one letter says too little
            keys.add(f"{tag}:{key}")
    return keys


def name_keys(given_name: str, family_name: str) -> str:
    """The stored form: every key of every word, space-separated, with a space at each end."""
    words = normalise_name(f"{given_name} {family_name}").split()
    keys = sorted(set().union(*(word_keys(w) for w in words))) if words else []
    return f" {' '.join(keys)} " if keys else ""


# --- scoring -------------------------------------------------------------------------------------


def name_score(typed: str, given_name: str, family_name: str) -> float | None:
    """How alike a typed (normalised) name is to a child's name, 0 to 1; None when not alike enough.

    The typed words may be the given name, the family name, or both in either order.
    """
    given, family = normalise_name(given_name), normalise_name(family_name)
    if not typed or not (given or family):
        return None
    if typed in (f"{given} {family}".strip(), f"{family} {given}".strip()):
        return 1.0
    words = typed.split()
    scores = []
    # The whole of what was typed against one part (a part may have more words: "jane" in "mary jane").
    for part, what, floor in ((given, "given names", GIVEN_NAME_FLOOR), (family, "family names", FAMILY_NAME_FLOOR)):
        if part and len(part.split()) >= len(words):
            match = part_match(typed, part, what)
            if match.score >= floor:
                scores.append(match.score)
    # Both parts typed: every split of the words into given and family names (name_match also tries swapped).
    for cut in range(1, len(words)):
        match = name_match(" ".join(words[:cut]), " ".join(words[cut:]), given_name, family_name)
        if match is not None:
            scores.append(match.score)
    return max(scores, default=None)


# --- the tolerant search among readable children -------------------------------------------------


@dataclass(frozen=True)
class Found:
    child: Child
    access: policy.Access
    score: float
    matched: str  # "" when the child's own name matched; otherwise which other name did: "alias Millie Bright"


@dataclass(frozen=True)
class FoundList:
    results: list[Found]
    total: int  # how many matched, of which `results` are the closest RESULT_LIMIT
    # More than CANDIDATE_LIMIT names were alike: only that many were ranked, so the closest may be missing.
    too_many: bool = False


def _keys_q(words: list[str]) -> Q:
    """Names sharing a key with every word typed (each word is alike some word of the name, or no match)."""
    return reduce(
        and_,
        (reduce(or_, (Q(name_keys__contains=f" {key} ") for key in sorted(word_keys(w)))) for w in set(words)),
    )


def children_found(*, actor, name: str = "", date_of_birth: date | None = None) -> FoundList:
    """Readable surviving records whose name (own, alias or merged record's) is like `name`, closest first.

    Writes nothing: a list is not a read of any record.
    """
    typed = normalise_name(name)
    if not typed and date_of_birth is None:
        return FoundList([], 0)
    # Subqueries only, no joins: the readable set is narrowed without multiplying its rows.
    candidates = selectors.children_readable(actor=actor).filter(merged_into__isnull=True)
    if date_of_birth is not None:
        merged_born = Child.objects.filter(date_of_birth=date_of_birth, merged_into__isnull=False)
        candidates = candidates.filter(Q(date_of_birth=date_of_birth) | Q(pk__in=merged_born.values("merged_into_id")))
    if typed:
        keys_q = _keys_q(typed.split())
        hits = Child.objects.filter(keys_q | Q(pk__in=ChildAlias.objects.filter(keys_q).values("child_id")))
        candidates = candidates.filter(
            Q(pk__in=hits.values("pk")) | Q(pk__in=hits.filter(merged_into__isnull=False).values("merged_into_id"))
        )
    rows = list(candidates.order_by("pk").values_list("pk", "given_name", "family_name")[:CANDIDATE_LIMIT])
    names = _other_names([pk for pk, _, _ in rows]) if typed else {}
    scores: dict[tuple[str, str], float | None] = {}

    def score_of(given: str, family: str) -> float | None:
        # Many children share a name: each distinct name is scored once.
        if (given, family) not in scores:
            scores[(given, family)] = name_score(typed, given, family)
        return scores[(given, family)]

    scored = []
    for pk, given, family in rows:
        best, matched = (1.0, "") if not typed else (score_of(given, family), "")
        for score, label in ((score_of(g, f), label) for g, f, label in names.get(pk, [])):
            if score is not None and (best is None or score > best):
                best, matched = score, label
        if best is not None:
            scored.append((best, normalise_name(family), normalise_name(given), pk, matched))
    scored.sort(key=lambda s: (-s[0], *s[1:4]))
    top = scored[:RESULT_LIMIT]
    children = Child.objects.select_related("area").in_bulk([pk for _, _, _, pk, _ in top])
    access = policy.access_for_many(actor, children.values())
    results = [
        Found(child=children[pk], access=access[pk], score=score, matched=matched)
        for score, _, _, pk, matched in top
        if access[pk] is not None
    ]
    return FoundList(results, len(scored), too_many=len(rows) == CANDIDATE_LIMIT)


def _other_names(ids: list[int]) -> dict[int, list[tuple[str, str, str]]]:
    """Each record's other names: its aliases, and the names and aliases of records merged into it."""
    names: dict[int, list[tuple[str, str, str]]] = {}
    merged = {
        pk: (owner, given, family)
        for pk, owner, given, family in Child.objects.filter(merged_into_id__in=ids)
        .order_by()
        .values_list("pk", "merged_into_id", "given_name", "family_name")
    }
    for owner, given, family in merged.values():
        names.setdefault(owner, []).append((given, family, f"merged record {given} {family}".strip()))
    aliases = ChildAlias.objects.filter(child_id__in=[*ids, *merged]).order_by()
    for child_id, given, family in aliases.values_list("child_id", "given_name", "family_name"):
        owner = merged[child_id][0] if child_id in merged else child_id
        names.setdefault(owner, []).append((given, family, f"alias {given} {family}".strip()))
    return names


# --- the disclosure rule: exact identifiers ------------------------------------------------------


def fold(value: str) -> str:
    """Case and accents ignored, spaces collapsed; every other character kept: 'ZOË  Smith' -> 'zoe smith'."""
    decomposed = unicodedata.normalize("NFKD", value or "")
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())


@dataclass(frozen=True)
class Disclosed:
    child: Child
    access: policy.Access | None
    # What the record-information and break-glass forms send back, for the server to match again.
    identifiers: selectors.Identifiers


def children_disclosed(
    *, actor, nhs_number: str = "", upn: str = "", name: str = "", date_of_birth: date | None = None, origin: Origin
) -> list[Disclosed]:
    """Children matching exact identifiers, through `selectors.children_matching` (which logs each disclosure).

    An NHS number or UPN decides alone. Otherwise the name typed must equal the child's given and family
    name, ignoring only case and accents, and the date of birth must be theirs.
    """
    if nhs_number or upn:
        identifiers = selectors.Identifiers(nhs_number=nhs_number, upn=upn)
        return [
            Disclosed(m.child, m.access, identifiers)
            for m in selectors.children_matching(actor=actor, identifiers=identifiers, origin=origin)
        ]
    wanted = fold(name)
    if not wanted or date_of_birth is None:
        return []
    # Children born that day are few; their names are compared here, accents folded, and shown to nobody.
    stored = Child.objects.filter(date_of_birth=date_of_birth).order_by("pk").values_list("given_name", "family_name")
    pairs = {}
    for given, family in stored:
        if given.strip() and family.strip() and fold(f"{given} {family}") == wanted:
            pairs.setdefault((given.strip().casefold(), family.strip().casefold()), (given.strip(), family.strip()))
    found: dict[int, Disclosed] = {}
    for given, family in pairs.values():
        identifiers = selectors.Identifiers(given_name=given, family_name=family, date_of_birth=date_of_birth)
        for m in selectors.children_matching(actor=actor, identifiers=identifiers, origin=origin):
            found.setdefault(m.child.pk, Disclosed(m.child, m.access, identifiers))
    return list(found.values())
