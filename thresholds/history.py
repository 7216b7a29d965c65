"""The indicated level and score over time, as server-drawn SVG with the events that moved it.

Sampled at the end of each month (at most ten years back) and today; where the level rose, the
events behind the rise are the newly counted events among that date's reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from html import escape

from thresholds import engine

MAX_MONTHS = 120
WIDTH, HEIGHT, LEFT, TOP, BOTTOM = 960, 260, 150, 16, 30


@dataclass
class Point:
    day: date
    level: int
    score: float
    moved_by: list[str] = field(default_factory=list)  # event refs counted for the first time


def _month_ends(first: date, last: date) -> list[date]:
    days = []
    year, month = first.year, first.month
    while True:
        following = date(year + (month == 12), month % 12 + 1, 1)
        end = following - timedelta(days=1)
        if end >= last:
            break
        days.append(end)
        year, month = following.year, following.month
    days.append(last)
    return days[-MAX_MONTHS:]


def level_history(child: engine.ChildFacts, events, today: date, policy: engine.Policy) -> list[Point]:
    if not events:
        return []
    first = min(e.occurred_on for e in events)
    points: list[Point] = []
    counted: set[str] = set()
    for day in _month_ends(first, today):
        result = engine.assess(child, events, day, policy)
        refs = {ref for reason in result.reasons for ref in reason.events}
        point = Point(day, result.level, result.score)
        if points and result.level > points[-1].level:
            point.moved_by = sorted(refs - counted)
        counted |= refs
        points.append(point)
    return points


def history_svg(points: list[Point], policy: engine.Policy, labels: dict[str, str]) -> str:
    """`labels` maps event refs to words for the marks' tooltips ('3 March 2024, injury, GP')."""
    if not points:
        return ""
    top_score = max(max(p.score for p in points), policy.levels[-1][2] * 1.2)
    plot_w, plot_h = WIDTH - LEFT - 10, HEIGHT - TOP - BOTTOM
    n = len(points)

    def x(i: int) -> float:
        return LEFT + (plot_w * i / max(n - 1, 1))

    def y(score: float) -> float:
        return TOP + plot_h - plot_h * min(score, top_score) / top_score

    out = [
        f'<svg class="jigsaw-history" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        'aria-labelledby="history-title" font-family="Arial, sans-serif" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="history-title">Indicated level and score, {points[0].day:%B %Y} to {points[-1].day:%B %Y}. '
        "The table below gives the same figures.</title>",
    ]
    bounds = [*(lvl[2] for lvl in policy.levels), top_score]
    shades = ["#ffffff", "#f3f2f1", "#e8e6e3", "#dcd9d5"]
    for i, (number, name, low) in enumerate(policy.levels):
        y_low, y_high = y(low), y(bounds[i + 1])
        out.append(
            f'<rect x="{LEFT}" y="{y_high:.1f}" width="{plot_w}" height="{y_low - y_high:.1f}" fill="{shades[i]}"/>'
        )
        out.append(
            f'<text x="4" y="{(y_low + y_high) / 2 + 4:.1f}" font-size="12" fill="#0b0c0c">'
            f"{number} {escape(name[:18])}</text>"
        )
    years_seen = set()
    for i, p in enumerate(points):
        if p.day.month == 12 and p.day.year not in years_seen:
            years_seen.add(p.day.year)
            out.append(f'<text x="{x(i) - 12:.1f}" y="{HEIGHT - 8}" font-size="12" fill="#0b0c0c">{p.day.year}</text>')
    path = " ".join(f"{'M' if i == 0 else 'L'}{x(i):.1f},{y(p.score):.1f}" for i, p in enumerate(points))
    out.append(f'<path d="{path}" fill="none" stroke="#1d70b8" stroke-width="2"/>')
    for i, p in enumerate(points):
        if p.moved_by:
            words = "; ".join(labels.get(ref, ref) for ref in p.moved_by[:8])
            out.append(
                f'<circle cx="{x(i):.1f}" cy="{y(p.score):.1f}" r="6" fill="#d4351c" stroke="#0b0c0c">'
                f"<title>{p.day:%B %Y}: level rose to {p.level}. {escape(words)}</title></circle>"
            )
    out.append("</svg>")
    return "".join(out)
