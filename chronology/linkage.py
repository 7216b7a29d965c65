"""One child, many sources: exact identifier links, likely matches for review, merge and unmerge.

An NHS number or UPN match links a new source's record to the existing child. A likely match (a
similar name and the same date of birth) creates no link by itself: it goes to the match-review list
for a designated or area safeguarding lead to confirm or reject. Confirming merges the two records;
a merge only points one record at the other, so it can always be undone, and events (evidence)
stay on the record they were recorded against.

The scoring and its threshold are explained in docs/linkage.md.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import jellyfish
import structlog
from anyascii import anyascii
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler

from agencies import policy
from agencies.models import AccessBasis, AuditEntry, Role
from agencies.services import Origin, access_log_record
from chronology.models import Child, MatchCandidate, MergeRecord

log = structlog.get_logger(__name__)

# --- exact identifiers ---------------------------------------------------------------------------


def child_with_identifiers(*, nhs_number: str = "", upn: str = "") -> Child | None:
    """The surviving record that holds this NHS number or UPN, if any."""
    child = None
    if nhs_number:
        child = Child.objects.filter(nhs_number=nhs_number).order_by("pk").first()
    if child is None and upn:
        child = Child.objects.filter(upn=upn.upper()).order_by("pk").first()
    while child is not None and child.merged_into_id:
        child = child.merged_into
    return child


def record_ids(child: Child) -> list[int]:
    """This record and every record merged into it, at any depth: whose events its chronology shows."""
    cached = getattr(child, "_record_ids", None)
    if cached is not None:
        return list(cached)
    ids = [child.pk]
    seen = {child.pk}
    frontier = [child.pk]
    while frontier:
        found = [
            pk
            for pk in Child.objects.filter(merged_into_id__in=frontier).order_by().values_list("pk", flat=True)
            if pk not in seen
        ]
        seen.update(found)
        ids.extend(sorted(found))
        frontier = found
    # One page asks several times; a merge or unmerge works on freshly loaded records.
    child._record_ids = tuple(ids)
    return ids


# --- likely matches: scoring ---------------------------------------------------------------------

# A name part (given or family) counts as alike at or above this Jaro-Winkler similarity. 0.88 keeps
# spelling variants (Smith/Smyth 0.89, Aleksandr/Alexander 0.90, Zainab/Zaynab 0.91) and leaves out
# different names that share a stem (Oliver/Olivia 0.87, Harry/Harvey 0.876).
GIVEN_NAME_FLOOR = 0.88
# Family names are longer and a family's spelling drifts between systems (Kowalski/Kovalsky 0.87).
FAMILY_NAME_FLOOR = 0.85
# Two names that sound alike by metaphone or NYSIIS score this, whatever their spelling: below an
# exact match, above the floors (Mohammed/Muhammad, Katie/Katy, Yusuf/Yousef, Chloe/Khloe).
PHONETIC_SCORE = 0.90
# Where one name has parts the other lacks (Mary Jane / Mary, Smith-Jones / Jones).
PART_OF_NAME_FACTOR = 0.90
# The same words in another order (given and family names swapped, or split differently).
SAME_WORDS_RATIO = 95.0
# A pair is queued when both name parts reach their floor; its score is their mean. The lowest
# possible score is therefore (0.88 + 0.85) / 2, recorded here for the documentation and tests.
LIKELY_MATCH_THRESHOLD = round((GIVEN_NAME_FLOOR + FAMILY_NAME_FLOOR) / 2, 3)


def normalise_name(value: str) -> str:
    """Lower case, in Latin letters (accents removed; letters such as ł, ø and æ, and other scripts, written as
    their usual Latin transliteration: 'Hołt' -> 'holt', 'Søren' -> 'soren', 'Ελένη' -> 'eleni'), hyphens as
    spaces, anything but letters and spaces dropped."""
    plain = anyascii(unicodedata.normalize("NFC", value or "")).lower()
    plain = re.sub(r"[-_.,/]+", " ", plain)
    plain = re.sub(r"[^a-z ]+", "", plain)  # O'Brien and OBrien are one name
    return " ".join(plain.split())


@dataclass(frozen=True)
class PartMatch:
    score: float
    reason: str


def _phonetic_key(a: str, b: str) -> str:
    """The metaphone or NYSIIS key both names share, if any (keys of one letter say too little)."""
    for algorithm in (jellyfish.metaphone, jellyfish.nysiis):
        key_a, key_b = algorithm(a.replace(" ", "")), algorithm(b.replace(" ", ""))
        if key_a == key_b and len(key_a) >= 2:
            return key_a.replace("0", "TH")  # metaphone writes 'th' as a zero: say it in letters
    return ""


def _word_match(a: str, b: str, what: str) -> PartMatch:
    if a == b:
        return PartMatch(1.0, f"{what} the same")
    similarity = JaroWinkler.normalized_similarity(a, b)
    key = _phonetic_key(a, b)
    if key and similarity < PHONETIC_SCORE:
        return PartMatch(PHONETIC_SCORE, f"{what} sound alike ({key})")
    return PartMatch(similarity, f"{what} spelt alike ({similarity:.0%} similar)")


def part_match(a: str, b: str, what: str) -> PartMatch:
    """How alike two normalised name parts are, with the reason in plain words."""
    whole = _word_match(a, b, what)
    words_a, words_b = a.split(), b.split()
    if len(words_a) == len(words_b) or not words_a or not words_b:
        return whole
    # One name has more parts: every part of the shorter must be alike a part of the longer.
    shorter, longer = sorted((words_a, words_b), key=len)
    best = [max(_word_match(s, w, what).score for w in longer) for s in shorter]
    floor = FAMILY_NAME_FLOOR if what.startswith("family") else GIVEN_NAME_FLOOR
    if min(best) < floor:
        return whole
    partial = PART_OF_NAME_FACTOR * sum(best) / len(best)
    if partial > whole.score:
        return PartMatch(partial, f"{what} share a part ({' '.join(shorter)})")
    return whole


@dataclass(frozen=True)
class NameMatch:
    score: float
    reasons: list[str] = field(default_factory=list)


def name_match(given_a: str, family_a: str, given_b: str, family_b: str) -> NameMatch | None:
    """Whether two children's names are alike enough to put before a person; None when not.

    Both records need a given and a family name: a record without one is found by identifiers only.
    """
    given_a, family_a = normalise_name(given_a), normalise_name(family_a)
    given_b, family_b = normalise_name(given_b), normalise_name(family_b)
    if not (given_a and family_a and given_b and family_b):
        return None
    found: list[NameMatch] = []
    for swapped in (False, True):
        other_given, other_family = (family_b, given_b) if swapped else (given_b, family_b)
        given = part_match(given_a, other_given, "given names")
        family = part_match(family_a, other_family, "family names")
        if given.score >= GIVEN_NAME_FLOOR and family.score >= FAMILY_NAME_FLOOR:
            reasons = [family.reason, given.reason]
            if swapped:
                reasons.insert(0, "given and family names swapped")
            found.append(NameMatch(round((given.score + family.score) / 2, 3), reasons))
    ratio = fuzz.token_sort_ratio(f"{given_a} {family_a}", f"{given_b} {family_b}")
    if ratio >= SAME_WORDS_RATIO:
        found.append(NameMatch(round(ratio / 100, 3), ["the same names in a different order or split"]))
    if not found:
        return None
    return max(found, key=lambda m: m.score)


@dataclass(frozen=True)
class LikelyMatch:
    candidate: Child
    score: float
    reasons: list[str]


def _different_children(a: Child, b: Child) -> bool:
    # Two different NHS numbers are two different children, however alike their names.
    return bool(a.nhs_number and b.nhs_number and a.nhs_number != b.nhs_number)


def likely_matches_find(child: Child) -> list[LikelyMatch]:
    """Surviving records that are likely the same child as `child`, best first. Writes nothing.

    The check on demand: use it to look for duplicates of any one record at any time.
    """
    if child.merged_into_id:
        return []  # a merged record is represented by the one it was merged into
    others = Child.objects.filter(date_of_birth=child.date_of_birth, merged_into__isnull=True).exclude(pk=child.pk)
    found = []
    for other in others.only("pk", "given_name", "family_name", "date_of_birth", "nhs_number"):
        if _different_children(child, other):
            continue
        match = name_match(child.given_name, child.family_name, other.given_name, other.family_name)
        if match is not None:
            found.append(LikelyMatch(other, match.score, ["same date of birth", *match.reasons]))
    return sorted(found, key=lambda m: (-m.score, m.candidate.pk))


def likely_matches_queue(child: Child) -> list[MatchCandidate]:
    """Queue likely duplicates of `child` for review. Returns the MatchCandidate rows created.

    `child` is the new (or rechecked) record, each candidate an existing one. Never links or merges,
    and never records a pair twice, whichever way round it was first recorded and whatever was
    decided about it: a rejected pair stays rejected.
    """
    created = []
    with transaction.atomic():
        for match in likely_matches_find(child):
            pair = Q(child=child, candidate=match.candidate) | Q(child=match.candidate, candidate=child)
            if MatchCandidate.objects.filter(pair).exists():
                continue
            created.append(
                MatchCandidate.objects.create(
                    child=child, candidate=match.candidate, score=match.score, reasons=match.reasons
                )
            )
    if created:
        log.info("likely_matches_queued", child=child.pk, candidates=[m.candidate_id for m in created])
    return created


# --- who may review and merge --------------------------------------------------------------------


def _roles(user) -> set[str]:
    if user is None or not user.is_authenticated or not user.is_active or not user.agency_id:
        return set()
    return user.role_codes()


def may_review_matches(user) -> bool:
    return bool(_roles(user) & {Role.AREA_SAFEGUARDING_LEAD, Role.DESIGNATED_SAFEGUARDING_LEAD})


def _writable(user, child: Child) -> bool:
    access = policy.access_for(user, child)
    return access is not None and access.can_write


def may_merge(user, a: Child, b: Child) -> bool:
    """An area safeguarding lead of both records' area, or a DSL who may read and write both."""
    roles = _roles(user)
    if Role.AREA_SAFEGUARDING_LEAD in roles and user.agency.area_id == a.area_id == b.area_id:
        return True
    # Writing is the test: a break-glass reader may read both records but may not merge them.
    return Role.DESIGNATED_SAFEGUARDING_LEAD in roles and _writable(user, a) and _writable(user, b)


def may_unmerge(user, surviving: Child) -> bool:
    """Undoing a merge is for the area safeguarding lead of the surviving record's area."""
    return Role.AREA_SAFEGUARDING_LEAD in _roles(user) and user.agency.area_id == surviving.area_id


# --- the review list -----------------------------------------------------------------------------


def match_candidates_visible(*, actor) -> QuerySet[MatchCandidate]:
    """Open candidates `actor` may act on; PermissionDenied for anyone who reviews no matches.

    Both records must still be surviving: a pair whose record was merged since is not shown (it
    shows again if that merge is undone).
    """
    roles = _roles(actor)
    if not may_review_matches(actor):
        raise PermissionDenied
    visible = Q(pk__in=[])
    if Role.AREA_SAFEGUARDING_LEAD in roles:
        area = actor.agency.area_id
        visible |= Q(child__area_id=area, candidate__area_id=area)
    if Role.DESIGNATED_SAFEGUARDING_LEAD in roles:
        readable = Child.objects.filter(policy.readable_children_q(actor)).values("pk")
        visible |= Q(child__in=readable) | Q(candidate__in=readable)
    return (
        MatchCandidate.objects.filter(
            visible,
            status=MatchCandidate.Status.OPEN,
            child__merged_into__isnull=True,
            candidate__merged_into__isnull=True,
        )
        .select_related("child__area", "candidate__area")
        .order_by("found_at", "pk")
    )


@dataclass(frozen=True)
class RecordView:
    child: Child
    full: bool  # False: the summary an exact-identifier match would show (name, date of birth, area)
    kept: bool  # the record that stays if the reviewer confirms


@dataclass(frozen=True)
class MatchReview:
    match: MatchCandidate
    records: list[RecordView]
    can_merge: bool


def merge_direction(a: Child, b: Child) -> tuple[Child, Child]:
    """(merged, surviving): the older record survives, unless only the newer can take the merge."""
    older, newer = sorted((a, b), key=lambda c: c.pk)
    if Child.objects.filter(merged_into=newer).exists() and not Child.objects.filter(merged_into=older).exists():
        return older, newer
    return newer, older


REVIEW_LIMIT = 50


def match_reviews(*, actor, origin: Origin) -> list[MatchReview]:
    """The review list as `actor` may see it, oldest first; every record shown is logged.

    A record the actor may read is shown in full and logged on their basis. The other record of a
    pair (a designated safeguarding lead may read only one) is shown as the summary an exact
    identifier match reveals, and logged as such.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("match_reviews must run inside the transaction that builds the response")
    reviews = []
    for match in match_candidates_visible(actor=actor)[:REVIEW_LIMIT]:
        merged, _ = merge_direction(match.child, match.candidate)
        records = []
        for child in (match.child, match.candidate):
            access = policy.access_for(actor, child)
            if access is not None:
                access_log_record(
                    user=actor, child=child, access=access, what="match review: a likely duplicate", origin=origin
                )
            else:
                access_log_record(
                    user=actor,
                    child=child,
                    access=None,
                    basis=AccessBasis.IDENTIFIER_MATCH,
                    what="summary in match review: likely duplicate of a record they read",
                    origin=origin,
                )
            records.append(RecordView(child=child, full=access is not None, kept=child.pk != merged.pk))
        reviews.append(
            MatchReview(match=match, records=records, can_merge=may_merge(actor, match.child, match.candidate))
        )
    return reviews


# --- decisions, merge and unmerge ----------------------------------------------------------------


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise PermissionDenied(message)


def _decide(*, actor, match: MatchCandidate, status: str, reason: str) -> MatchCandidate:
    match = MatchCandidate.objects.select_for_update().get(pk=match.pk)
    if match.status != MatchCandidate.Status.OPEN:
        raise ValidationError("Someone has already decided about these records.")
    match.status = status
    match.decided_by = actor
    match.decided_at = timezone.now()
    match.decision_reason = reason
    match.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    return match


@transaction.atomic
def match_reject(*, actor, match: MatchCandidate, reason: str = "") -> MatchCandidate:
    """Different children: the pair is closed and never queued again."""
    _require(
        match_candidates_visible(actor=actor).filter(pk=match.pk).exists(),
        "You cannot decide about these records.",
    )
    match = _decide(actor=actor, match=match, status=MatchCandidate.Status.REJECTED, reason=reason.strip())
    AuditEntry.objects.create(
        at=match.decided_at,
        user=actor,
        action="match_rejected",
        child=match.child,
        target=f"match candidate {match.pk}",
        detail={"child": match.child_id, "candidate": match.candidate_id, "reason": match.decision_reason},
    )
    log.info("match_rejected", match=match.pk, actor=actor.pk)
    return match


@transaction.atomic
def match_confirm(*, actor, match: MatchCandidate, reason: str) -> MergeRecord:
    """Same child: the pair is merged (see `child_merge`) and the decision recorded."""
    _require(
        match_candidates_visible(actor=actor).filter(pk=match.pk).exists(),
        "You cannot decide about these records.",
    )
    if not reason.strip():
        raise ValidationError({"reason": "Say why these are the same child."})
    merged, surviving = merge_direction(match.child, match.candidate)
    merge = child_merge(actor=actor, merged=merged, surviving=surviving, reason=reason)
    match = _decide(actor=actor, match=match, status=MatchCandidate.Status.CONFIRMED, reason=reason.strip())
    AuditEntry.objects.create(
        at=match.decided_at,
        user=actor,
        action="match_confirmed",
        child=match.child,
        target=f"match candidate {match.pk}",
        detail={"child": match.child_id, "candidate": match.candidate_id, "merge": merge.pk},
    )
    log.info("match_confirmed", match=match.pk, merge=merge.pk, actor=actor.pk)
    return merge


@transaction.atomic
def child_merge(*, actor, merged: Child, surviving: Child, reason: str) -> MergeRecord:
    """Record that `merged` is the same child as `surviving`.

    Only the pointer moves: every event stays on the record it was recorded against (events are
    evidence), and the surviving record's chronology shows the events of both (`record_ids`).
    """
    if merged.pk == surviving.pk:
        raise ValidationError("A record cannot be merged into itself.")
    # Lock both rows in a fixed order, so two merges of the same pair cannot deadlock or interleave.
    locked = {
        c.pk: c for c in Child.objects.select_for_update().filter(pk__in=[merged.pk, surviving.pk]).order_by("pk")
    }
    merged, surviving = locked[merged.pk], locked[surviving.pk]
    _require(
        may_merge(actor, merged, surviving),
        "Only the safeguarding lead for the area, or a designated safeguarding lead who works with both "
        "records, can merge them.",
    )
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why these are the same child."})
    if merged.merged_into_id:
        raise ValidationError(f"{merged.full_name}'s record is already merged into another record.")
    if surviving.merged_into_id:
        raise ValidationError(
            f"{surviving.full_name}'s record is merged into another record: merge into that record instead."
        )
    if Child.objects.filter(merged_into=merged).exists():
        raise ValidationError(
            f"Other records are merged into {merged.full_name}'s record. Undo those merges first, or keep "
            "this record and merge the other into it."
        )
    if _different_children(merged, surviving):
        raise ValidationError("These records have different NHS numbers: they are different children.")
    now = timezone.now()
    Child.objects.filter(pk=merged.pk).update(merged_into=surviving)
    merge = MergeRecord.objects.create(
        merged=merged, surviving=surviving, merged_by=actor, merged_at=now, reason=reason
    )
    AuditEntry.objects.create(
        at=now,
        user=actor,
        action="child_merged",
        child=merged,
        target=f"merge {merge.pk}",
        detail={"merged": merged.pk, "surviving": surviving.pk, "reason": reason},
    )
    log.warning("child_merged", merge=merge.pk, merged=merged.pk, surviving=surviving.pk, actor=actor.pk)
    return merge


@transaction.atomic
def child_unmerge(*, actor, merge_record: MergeRecord, reason: str) -> MergeRecord:
    """Undo a merge: the merged record stands alone again, with its own events, as before."""
    merge = MergeRecord.objects.select_for_update().select_related("merged", "surviving").get(pk=merge_record.pk)
    _require(may_unmerge(actor, merge.surviving), "Only the safeguarding lead for the area can undo a merge.")
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why these are different children."})
    if merge.unmerged_at is not None:
        raise ValidationError("This merge has already been undone.")
    now = timezone.now()
    Child.objects.filter(pk=merge.merged_id, merged_into_id=merge.surviving_id).update(merged_into=None)
    merge.unmerged_by = actor
    merge.unmerged_at = now
    merge.unmerge_reason = reason
    merge.save(update_fields=["unmerged_by", "unmerged_at", "unmerge_reason"])
    AuditEntry.objects.create(
        at=now,
        user=actor,
        action="child_unmerged",
        child=merge.merged,
        target=f"merge {merge.pk}",
        detail={"merged": merge.merged_id, "surviving": merge.surviving_id, "reason": reason},
    )
    log.warning("child_unmerged", merge=merge.pk, actor=actor.pk)
    return merge


# --- the merges page -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeView:
    merge: MergeRecord
    full: bool  # whether the actor may read the merged record; otherwise a summary only


def merges_of(*, actor, child: Child, origin: Origin) -> list[MergeView]:
    """Every merge into `child`, undone ones too, newest first; each merged record shown is logged.

    The caller has checked `may_unmerge` and read (and logged) `child` itself.
    """
    if not may_unmerge(actor, child):
        raise PermissionDenied
    views = []
    merges = MergeRecord.objects.filter(surviving=child).select_related("merged__area", "merged_by", "unmerged_by")
    for merge in merges.order_by("-merged_at", "-pk"):
        access = policy.access_for(actor, merge.merged)
        access_log_record(
            user=actor,
            child=merge.merged,
            access=access,
            basis=None if access else AccessBasis.IDENTIFIER_MATCH,
            what="merges page: a record merged into one they read"
            if access
            else "summary on merges page: a record merged into one they read",
            origin=origin,
        )
        views.append(MergeView(merge=merge, full=access is not None))
    return views
