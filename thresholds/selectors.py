"""Reads for partnerships: how the indicated levels and flags fall across an area (no child is named)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.db.models import OuterRef, Subquery

from chronology.models import Child
from thresholds.models import Assessment


@dataclass
class AreaReport:
    children: int
    assessed: int
    per_level: dict[int, int]
    flags: list[tuple[str, int]]
    policies: list[tuple[str, int]]


def area_report(*, area_id: int) -> AreaReport:
    """Children per indicated level and how often each flag fires, from each child's latest snapshot."""
    latest = Assessment.objects.filter(child=OuterRef("pk")).order_by("-assessed_at", "-pk")
    children = Child.objects.filter(area_id=area_id, merged_into__isnull=True).annotate(
        latest_id=Subquery(latest.values("pk")[:1])
    )
    ids = [pk for pk in children.values_list("latest_id", flat=True) if pk]
    snapshots = Assessment.objects.filter(pk__in=ids).values_list("level", "flags", "policy")
    per_level: Counter = Counter()
    flags: Counter = Counter()
    policies: Counter = Counter()
    for level, fired, policy in snapshots:
        per_level[level] += 1
        flags.update(fired or [])
        policies[policy] += 1
    return AreaReport(
        children=children.count(),
        assessed=len(ids),
        per_level={level: per_level.get(level, 0) for level in (1, 2, 3, 4)},
        flags=flags.most_common(),
        policies=policies.most_common(),
    )
