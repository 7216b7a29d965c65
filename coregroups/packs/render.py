"""From pack content to a PDF: WeasyPrint, fast enough for thousands of entries and within memory.

- A short pack is one document, tagged for screen readers (PDF/UA), numbered by CSS.
- A long one is rendered as independent sections (the front matter, then the chronology in chunks of
  rows) in forked processes, one per core at a time, and joined with pypdf. Each process ends with its
  section, so its memory is returned; chunks are small enough that no process grows large.
- Every page carries OFFICIAL-SENSITIVE at the top and bottom and the child's name (CSS page margin
  boxes); the table header repeats on every page (a table per chunk). "Page X of Y" is written into
  each page after joining, because no section knows the others' lengths; copies are stamped the same
  way ("Printed by NAME on DATE, copy N"), straight into the page content, without re-layout.
- Layout is kept lean: fixed table layout with set column widths, one font, rules rather than borders.
"""

from __future__ import annotations

import hashlib
import html
import io
import os
from collections.abc import Callable

from coregroups.packs.document import PackContent, Row

# Up to this many entries a pack is one tagged document; past it, chunks of at most CHUNK_ROWS entries,
# spread evenly over the cores.
SINGLE_DOCUMENT_ROWS = 300
CHUNK_ROWS = 500
# The front matter takes about as long to lay out as this many rows.
FRONT_ROWS = 40
# Sections are joined, which keeps no tags, so they are rendered untagged. Fonts are subset: measured,
# embedding whole fonts was slower as well as ten times the size.
FULL_FONTS = False
CLASSIFICATION = "OFFICIAL-SENSITIVE"

PAGE_CSS = """
@page {{ size: A4 landscape; margin: 16mm 12mm 16mm 12mm;
  @top-left {{ content: "{name}"; font: 8pt sans-serif; }}
  @top-center {{ content: "{classification}"; font: bold 9pt sans-serif; }}
  @bottom-center {{ content: "{classification}"; font: bold 9pt sans-serif; }} }}
html {{ font-family: "DejaVu Sans", sans-serif; font-size: 7.5pt; line-height: 1.25; color: #0b0c0c; }}
h1 {{ font-size: 16pt; margin: 0 0 4mm; }} h2 {{ font-size: 11pt; margin: 5mm 0 2mm; break-after: avoid; }}
p {{ margin: 0 0 2mm; }} .muted {{ color: #505a5f; }}
table {{ width: 100%; border-collapse: collapse; table-layout: fixed; }}
thead {{ display: table-header-group; }}
th {{ text-align: left; border-bottom: 1pt solid #0b0c0c; padding: 1.5pt 3pt; }}
td {{ border-bottom: 0.4pt solid #b1b4b6; padding: 1.5pt 3pt; vertical-align: top; overflow-wrap: break-word; }}
tr {{ break-inside: avoid; }}
.sig td {{ font-weight: bold; }} .new td:first-child {{ border-left: 2pt solid #1d70b8; }}
.cover {{ page-break-after: always; }} .cover h1 {{ font-size: 22pt; }}
.kv th {{ width: 28%; border: none; font-weight: bold; }} .kv td {{ border: none; }}
"""

COLUMNS = (
    '<colgroup><col style="width:9%"><col style="width:15%"><col style="width:13%">'
    '<col style="width:47%"><col style="width:5%"><col style="width:11%"></colgroup>'
)
HEAD = (
    "<thead><tr><th>Date</th><th>Agency</th><th>Type</th><th>What happened</th><th>Child seen</th>"
    "<th>Source</th></tr></thead>"
)


def _e(text) -> str:
    return html.escape(str(text), quote=False)


def _document(content: PackContent, body: str, *, numbered: bool = False) -> str:
    css = PAGE_CSS.format(name=_e(content.child_name).replace('"', "'"), classification=CLASSIFICATION)
    if numbered:
        css += '@page { @bottom-right { content: "Page " counter(page) " of " counter(pages); font: 8pt sans-serif; } }'

    return (
        f"<!DOCTYPE html><html lang='en-GB'><head><meta charset='utf-8'><title>Chronology pack: "
        f"{_e(content.child_name)}</title><style>{css}</style></head><body>{body}</body></html>"
    )


def _row(row: Row) -> str:
    classes = " ".join(c for c, on in (("sig", row.significant), ("new", row.new)) if on)
    summary = _e(row.summary)
    if row.restricted:
        summary = "<strong>Restricted entry, shown in full:</strong> " + summary
    if row.shortened:
        summary += ' <span class="muted">(shortened: the full text is online)</span>'
    return (
        f'<tr class="{classes}"><td>{row.when}</td><td>{_e(row.agency)}</td><td>{_e(row.kind)}</td>'
        f"<td>{summary}</td><td>{row.seen}</td><td>{_e(row.source)}</td></tr>"
    )


def _table(rows: list[Row]) -> str:
    return f"<table>{COLUMNS}{HEAD}<tbody>{''.join(_row(r) for r in rows)}</tbody></table>"


def _kv(pairs) -> str:
    return (
        '<table class="kv"><tbody>'
        + "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in pairs)
        + ("</tbody></table>")
    )


def front_body(content: PackContent) -> str:
    """The cover and every section before the chronology."""
    parents = content.variant == "parents"
    title = {
        "full": "Chronology pack",
        "significant": "Chronology pack: significant events",
        "parents": "Chronology pack: copy for parents",
        "restricted": "Chronology pack with restricted entries",
    }[content.variant]
    parts = [
        '<section class="cover">',
        f"<p><strong>{CLASSIFICATION}</strong></p><h1>{_e(title)}</h1>",
        _kv(
            [
                ("Child", _e(content.child_name)),
                ("Date of birth", _e(content.child_born)),
                ("NHS number", _e(content.child_nhs)),
                ("Area", _e(content.area)),
                ("Core group meeting", _e(content.meeting_on)),
                ("Plan", _e(content.plan)),
                ("Chair", _e(content.chair)),
                ("Chronology as it stood", _e(content.printed_as_of)),
                ("Entries", str(len(content.rows))),
            ]
        ),
        f"<p>This pack is {CLASSIFICATION}. Keep it secure, share it only with the core group and destroy it "
        "after the meeting. "
        + (
            f"It shows in full the restricted entries {_e(content.restricted_shown)} and is issued only to "
            f"{_e(content.restricted_for)}: do not pass it on. Other restricted entries are placeholders.</p>"
            if content.restricted_for
            else "Restricted entries are shown as placeholders; their text is read online by those allowed.</p>"
        ),
    ]
    if content.restricted_for:
        parts.insert(2, f"<p><strong>Issued only to {_e(content.restricted_for)}.</strong></p>")
    if parents:
        parts.append("<p>This copy for parents leaves out " + _e("; ".join(content.omitted)) + ".</p>")
    parts.append("</section>")
    if content.level and not parents:
        lv = content.level
        parts.append("<h2>Indicated level</h2>")
        parts.append(
            f"<p><strong>Indicated level {lv['level']}: {_e(lv['name'])}</strong> (score {lv['score']}, as of "
            f"{_e(lv['as_of'])}). An indication from the recorded pattern to prompt professional judgement: "
            "it decides nothing.</p>"
        )
        trio = "; ".join(f"{_e(label)}: {'evidenced' if on else 'not evidenced'}" for label, on in lv["toxic_trio"])
        parts.append(f"<p>Toxic trio: {trio}.</p>")
        if lv["flags"]:
            parts.append("<p>Flags: " + _e("; ".join(lv["flags"])) + ".</p>")
        parts.append(
            "<table><colgroup><col style='width:80%'><col style='width:10%'><col style='width:10%'></colgroup>"
            "<thead><tr><th>Reason</th><th>Points</th><th>Entries</th></tr></thead><tbody>"
            + "".join(f"<tr><td>{_e(t)}</td><td>{p}</td><td>{n}</td></tr>" for t, p, n in lv["reasons"])
            + "</tbody></table>"
        )
    parts.append("<h2>Household and significant adults</h2>")
    if content.household:
        parts.append(
            "<table><thead><tr><th>Name</th><th>Role</th><th>Relationship</th>"
            + ("" if parents else "<th>Factors</th>")
            + "</tr></thead><tbody>"
            + "".join(
                f"<tr><td>{_e(p['name'])}</td><td>{_e(p['role'])}</td><td>{_e(p['relationship'])}</td>"
                + ("" if parents else f"<td>{_e(p['factors'])}</td>")
                + "</tr>"
                for p in content.household
            )
            + "</tbody></table>"
        )
    else:
        parts.append("<p>None recorded.</p>")
    if content.addresses:
        parts.append("<h2>Addresses</h2>" + "".join(f"<p>{_e(a)}</p>" for a in content.addresses))
    parts.append("<h2>Agencies involved and contacts</h2>")
    parts.append(
        "<table><thead><tr><th>Agency</th><th>Name</th><th>Role</th><th>Contact</th></tr></thead><tbody>"
        + "".join(
            f"<tr><td>{_e(a['agency'])}</td><td>{_e(a['name'])}</td><td>{_e(a['role'])}</td>"
            f"<td>{_e(a['contact'])}</td></tr>"
            for a in content.agencies
        )
        + "</tbody></table>"
        if content.agencies
        else "<p>None recorded.</p>"
    )
    parts.append("<h2>Plan actions and progress</h2>")
    if content.actions:
        parts.append(
            "<table><colgroup><col style='width:4%'><col style='width:24%'><col style='width:12%'>"
            "<col style='width:8%'><col style='width:9%'><col style='width:21%'><col style='width:22%'></colgroup>"
            "<thead><tr><th>No.</th><th>Action</th><th>Owner</th><th>Due</th><th>Status</th>"
            "<th>Expected impact on the child</th><th>Progress and observed impact</th></tr></thead><tbody>"
            + "".join(
                f"<tr><td>{a['number']}</td><td>{_e(a['description'])}</td><td>{_e(a['owner'])}</td>"
                f"<td>{_e(a['due'])}</td><td>{_e(a['status'])}</td><td>{_e(a['expected'])}</td>"
                f"<td>{_e(a['progress'])}{'<br>' if a['progress'] and a['observed'] else ''}"
                f"{_e(a['observed'])}</td></tr>"
                for a in content.actions
            )
            + "</tbody></table>"
        )
    else:
        parts.append("<p>No actions recorded.</p>")
    if not content.meeting_on or content.meeting_on == "no meeting":
        return "".join(parts)
    parts.append(f"<h2>New since {_e(content.new_since_what)} ({_e(content.new_since)})</h2>")
    parts.append(
        "<p class='muted'>New: it happened on or after that day, or was recorded on Jigsaw on or after it "
        "(older events shared late are new to the group).</p>"
        if content.new_since_what == "the last meeting"
        else "<p class='muted'>New: it happened on or after that day.</p>"
    )
    if content.new_rows:
        parts.append(
            f"<p>{len(content.new_rows)} entr{'y' if len(content.new_rows) == 1 else 'ies'}, also marked with a "
            "blue rule in the chronology.</p>"
        )
        parts.append(_table(content.new_rows))
    else:
        parts.append(f"<p>Nothing new has been recorded since {_e(content.new_since_what)}.</p>")
    return "".join(parts)


def chronology_html(content: PackContent, rows: list[Row], *, first: bool) -> str:
    heading = ""
    if first:
        which = "significant events only" if content.variant == "significant" else "every entry"
        heading = (
            f"<h2>Chronology ({which}, oldest first)</h2>"
            f"<p class='muted'>Bold: marked significant. Blue rule: new since {_e(content.new_since_what)}.</p>"
        )
    return heading + (_table(rows) if rows else "<p>No entries.</p>")


def sections(content: PackContent, *, cores: int | None = None) -> list[str]:
    """Independent documents to render at once: the front matter with the first rows, then the rest of the
    chronology in chunks, as even as the cores allow (the first chunk a little shorter, for the front)."""
    rows = content.rows
    size = max(1, min(CHUNK_ROWS, -(-len(rows) // (cores or os.cpu_count() or 1))))
    first = max(1, size - FRONT_ROWS) if len(rows) > size else len(rows)
    chunks = [rows[:first]] + [rows[i : i + size] for i in range(first, len(rows), size)]
    documents = [_document(content, front_body(content) + chronology_html(content, chunks[0], first=True))]
    return documents + [_document(content, chronology_html(content, chunk, first=False)) for chunk in chunks[1:]]


def whole(content: PackContent) -> str:
    """A short pack as one document: tagged for screen readers (PDF/UA) and numbered by CSS."""
    return _document(content, front_body(content) + chronology_html(content, content.rows, first=True), numbered=True)


def _render_in_process(document: str, *, tagged: bool = False) -> bytes:
    from weasyprint import HTML

    return HTML(string=document).write_pdf(pdf_tags=tagged, full_fonts=FULL_FONTS)


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


def _fork_render(document: str) -> tuple[int, int]:
    """Render one section in a forked copy of this process (WeasyPrint already imported, so no start-up
    cost; a plain fork works inside a Celery worker's process too). Returns (pid, read end of its pipe)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: render, write, leave without running any of the parent's clean-up
        status = 0
        try:
            os.close(read_end)
            data = _render_in_process(document)
            view = memoryview(data)
            while view:
                view = view[os.write(write_end, view) :]
        except BaseException:
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)
    return pid, read_end


def render_sections(documents: list[str], *, progress: Callable[[int], None] | None = None, parallel=None) -> list:
    """Render each section to PDF bytes, in order; several at once (one per core) in forked processes,
    each of which ends with its section, so its memory is returned."""
    import weasyprint  # noqa: F401 - imported once here, before forking, so no child pays for it

    workers = parallel if parallel is not None else os.cpu_count() or 1
    if workers <= 1 or len(documents) == 1:
        out = []
        for k, document in enumerate(documents):
            out.append(_render_in_process(document))
            if progress:
                progress(int(90 * (k + 1) / len(documents)))
        return out
    results: list[bytes | None] = [None] * len(documents)
    pending = list(enumerate(documents))
    running: dict[int, tuple[int, int]] = {}  # pid -> (index, pipe)
    done = 0
    while pending or running:
        while pending and len(running) < workers:
            index, document = pending.pop(0)
            pid, pipe = _fork_render(document)
            running[pid] = (index, pipe)
        # Reading a section's pipe to its end means that section is finished (the child closes it on exit).
        pid = next(iter(running))
        index, pipe = running.pop(pid)
        data = _read_all(pipe)
        _, status = os.waitpid(pid, 0)
        if status != 0 or not data:
            for other, (_, other_pipe) in running.items():
                os.kill(other, 9)
                os.close(other_pipe)
                os.waitpid(other, 0)
            raise RuntimeError(f"pack section {index + 1} of {len(documents)} could not be rendered")
        results[index] = data
        done += 1
        if progress:
            progress(int(90 * done / len(documents)))
    return results


# Stamps are written straight into each page's content, in a standard PDF font, marked as artifacts
# (not part of the document's structure, so screen readers skip them): no re-layout, no merging.
_STAMP_FONT = "/JigsawStamp"
_PAGE_WIDTH, _MARGIN_X, _STAMP_Y = 841.89, 34.0, 20.0


def _pdf_text(text: str) -> bytes:
    encoded = text.encode("cp1252", errors="replace")
    return encoded.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _stamp(writer, stamps) -> None:
    """`stamps(index, total)` -> [(text, "left" | "right")] for each page, written at the page's foot."""
    from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, NameObject

    font = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
                NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
            }
        )
    )
    save, restore = DecodedStreamObject(), DecodedStreamObject()
    save.set_data(b"q")
    restore.set_data(b"Q")
    save, restore = writer._add_object(save), writer._add_object(restore)
    total = len(writer.pages)
    for index, page in enumerate(writer.pages):
        resources = page.setdefault(NameObject("/Resources"), DictionaryObject()).get_object()
        fonts = resources.setdefault(NameObject("/Font"), DictionaryObject()).get_object()
        fonts[NameObject(_STAMP_FONT)] = font
        ops = [b"q /Artifact BMC BT"]
        for text, side in stamps(index, total):
            # Helvetica at 8 pt averages about 4.4 pt a character: enough to keep the right edge in place.
            x = _MARGIN_X if side == "left" else _PAGE_WIDTH - _MARGIN_X - 4.4 * len(text)
            ops.append(b"%s 8 Tf 1 0 0 1 %.1f %.1f Tm (%s) Tj" % (_STAMP_FONT.encode(), x, _STAMP_Y, _pdf_text(text)))
        ops.append(b"ET EMC Q")
        stream = DecodedStreamObject()
        stream.set_data(b" ".join(ops))
        contents = page.get("/Contents")
        existing = contents.get_object() if contents is not None else None
        parts = list(existing) if isinstance(existing, ArrayObject) else ([contents] if contents is not None else [])
        # The page's own drawing is wrapped in q ... Q, so the stamp starts from the default coordinates
        # whatever transformation the page leaves in place.
        page[NameObject("/Contents")] = ArrayObject([save, *parts, restore, writer._add_object(stream)])


def _write(writer) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def join_and_number(parts: list[bytes]) -> tuple[bytes, int]:
    """Join the sections and stamp "Page X of Y" on every page."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for part in parts:
        writer.append(PdfReader(io.BytesIO(part)))
    _stamp(writer, lambda index, total: [(f"Page {index + 1} of {total}", "right")])
    writer.add_metadata({"/Title": "Chronology pack", "/Subject": CLASSIFICATION})
    return _write(writer), len(writer.pages)


def stamp_copy(master: bytes, text: str) -> bytes:
    """A copy of a frozen master with `text` stamped at the foot of every page (its tags kept)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(master)))
    _stamp(writer, lambda index, total: [(text, "left")])
    return _write(writer)


def render_pack(content: PackContent, *, progress=None, parallel=None) -> tuple[bytes, int]:
    """A short pack is one tagged document; a long one is rendered in sections at once and joined (the
    join keeps the text, the classification and the numbering, not the tags)."""
    if len(content.rows) <= SINGLE_DOCUMENT_ROWS:
        from pypdf import PdfReader

        pdf = _render_in_process(whole(content), tagged=True)
        pages = len(PdfReader(io.BytesIO(pdf)).pages)
    else:
        parts = render_sections(sections(content, cores=parallel), progress=progress, parallel=parallel)
        pdf, pages = join_and_number(parts)
    if progress:
        progress(100)
    return pdf, pages


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
