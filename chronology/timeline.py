"""The visual timeline: one lane per agency, a mark for each entry, years along the top.

Drawn on the server as SVG, so it needs no JavaScript. Marks that fall on the same pixel of the
same lane are drawn once, so 2,000 entries stay readable and the drawing stays small. Significant
entries are taller marks, not only a different colour.
"""

from __future__ import annotations

from datetime import date
from html import escape

WIDTH = 960
LABEL = 190
LANE = 24
TOP = 26
PLOT = WIDTH - LABEL - 10


def _x(day: date, start: date, span_days: int) -> int:
    return LABEL + round((day - start).days / span_days * PLOT)


def timeline_svg(rows, agencies) -> str:
    """rows: (occurred_on, agency_id, significant, type) in date order; agencies: objects with pk and name."""
    if not rows:
        return ""
    names = {a.pk: a.name for a in agencies}
    lanes = [pk for pk in sorted({r[1] for r in rows}, key=lambda pk: names.get(pk, ""))]
    lane_of = {pk: i for i, pk in enumerate(lanes)}
    start = date(rows[0][0].year, 1, 1)
    end = date(rows[-1][0].year + 1, 1, 1)
    span = max((end - start).days, 1)
    height = TOP + LANE * len(lanes) + 6

    marks: dict[tuple[int, int], bool] = {}
    counts = [0] * len(lanes)
    for occurred_on, agency_id, significant, _type in rows:
        lane = lane_of[agency_id]
        key = (lane, _x(occurred_on, start, span))
        marks[key] = marks.get(key, False) or bool(significant)
        counts[lane] += 1

    years = list(range(start.year, end.year + 1))
    step = max(1, len(years) // 12)
    title = (
        f"Timeline of {len(rows)} entries from {len(lanes)} agenc{'y' if len(lanes) == 1 else 'ies'}, "
        f"{rows[0][0]:%B %Y} to {rows[-1][0]:%B %Y}"
    )
    out = [
        f'<svg class="jigsaw-timeline" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'aria-labelledby="timeline-title" font-family="Arial, sans-serif" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="timeline-title">{escape(title)}. Taller marks are significant entries. '
        "The list below holds every entry.</title>",
    ]
    for i, year in enumerate(years):
        x = _x(date(year, 1, 1), start, span)
        out.append(f'<line x1="{x}" y1="{TOP - 6}" x2="{x}" y2="{height - 4}" stroke="#b1b4b6" stroke-width="1"/>')
        if i % step == 0 and year < end.year:
            out.append(f'<text x="{x + 3}" y="{TOP - 10}" font-size="12" fill="#0b0c0c">{year}</text>')
    for lane, pk in enumerate(lanes):
        y = TOP + lane * LANE
        if lane % 2:
            out.append(f'<rect x="0" y="{y}" width="{WIDTH}" height="{LANE}" fill="#f3f2f1"/>')
        name = names.get(pk, "Agency")
        short = name if len(name) <= 25 else name[:24].rstrip() + "…"
        out.append(
            f'<text x="4" y="{y + 16}" font-size="13" fill="#0b0c0c">{escape(short)}'
            f"<title>{escape(name)}: {counts[lane]} entries</title></text>"
        )
    for (lane, x), significant in sorted(marks.items()):
        y = TOP + lane * LANE
        if significant:
            out.append(f'<line x1="{x}" y1="{y + 2}" x2="{x}" y2="{y + LANE - 2}" stroke="#d4351c" stroke-width="3"/>')
        else:
            out.append(
                f'<line x1="{x}" y1="{y + 7}" x2="{x}" y2="{y + LANE - 7}" stroke="#1d70b8" stroke-width="1.5"/>'
            )
    out.append("</svg>")
    return "".join(out)
