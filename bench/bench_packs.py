"""Chronology packs of 1,000 and 5,000 events against the baseline, in the same run: time and peak memory.

The shared generator (../shared/tools/big_chronology.py) builds each chronology; it is imported into a
throw-away database and rendered as a full pack (`coregroups.packs`: content from the database, then
WeasyPrint sections in parallel processes, joined and numbered). The baseline
(../shared/tools/naive_pack.py, one plain WeasyPrint table) renders the same events with the same
interpreter straight after, alternating, the best of three runs each for 1,000 events and one for
5,000. Time is wall-clock from the content to the finished PDF (the baseline's own printed time likewise
excludes reading its file). Peak memory, in one further run of each, is the largest sum of the
proportional set size (PSS: memory shared by forked processes counted once) of this process and every
process it started, sampled every 20 ms while the pack renders; the baseline is measured the same way.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.bench_chronology import GENERATOR, _generator

BASELINE = GENERATOR.parent / "naive_pack.py"


def _pss_kb(pid: int) -> int:
    """Proportional set size: a page shared by forked processes counts once, split between them."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    found, frontier = [root], [root]
    while frontier:
        frontier = [child for pid in frontier for child in parents.get(pid, [])]
        found += frontier
    return found


class PeakMemory:
    """The largest total resident memory of this process and its descendants while in the block."""

    def __enter__(self):
        self.peak_kb, self._stop = 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, sum(_pss_kb(pid) for pid in _tree(os.getpid())))
            self._stop.wait(0.02)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _baseline(document: dict, tmp: Path) -> float:
    import json

    source, out = tmp / "chronology.json", tmp / "naive.pdf"
    source.write_text(json.dumps(document))
    done = subprocess.run([sys.executable, str(BASELINE), str(source), str(out)], capture_output=True, text=True)
    match = re.search(r"([\d.]+) s", done.stdout)
    if done.returncode != 0 or not match:
        raise RuntimeError(f"the baseline failed: {done.stderr[-500:]}")
    return float(match.group(1))


def run():
    import weasyprint  # noqa: F401 - imported before the clock starts, as the baseline imports before its own

    from agencies.policy import system_user
    from chronology.exchange import chronology_import
    from chronology.models import ChildIdentifier
    from coregroups.models import Variant
    from coregroups.packs.content import pack_content
    from coregroups.packs.render import render_pack

    generator = _generator()
    rows = []
    for n in (1000, 5000):
        document = generator.build(n, f"pack{n}")
        chronology_import(actor=system_user(), document=document)
        child = ChildIdentifier.objects.get(source=document["source"], ref=f"pack{n}").child
        started = time.perf_counter()
        content = pack_content(child, None, Variant.FULL)
        content_seconds = time.perf_counter() - started
        # Time: the best of three for the 1,000-event pack and its baseline, alternating, so a busy moment on
        # the machine weighs on neither alone; one each for 5,000. Memory: one more run each, sampled
        # (sampling costs CPU, so it is kept out of the timed runs).
        seconds = baseline_seconds = float("inf")
        for _ in range(3 if n == 1000 else 1):
            started = time.perf_counter()
            pdf, pages = render_pack(content)
            seconds = min(seconds, time.perf_counter() - started)
            with tempfile.TemporaryDirectory() as tmp:
                baseline_seconds = min(baseline_seconds, _baseline(document, Path(tmp)))
        with PeakMemory() as memory:
            render_pack(content)
        with tempfile.TemporaryDirectory() as tmp, PeakMemory() as baseline_memory:
            _baseline(document, Path(tmp))
        baseline_kb = baseline_memory.peak_kb
        rows += [
            (f"{n:,} events: reading the pack's content from the database", round(content_seconds, 2), "s", ""),
            (
                f"{n:,} events: rendering the pack ({pages} pages, {len(pdf) // 1024} KiB)",
                round(seconds, 2),
                "s",
                "at most half the baseline" if n == 1000 else "",
            ),
            (f"{n:,} events: the baseline on the same events", round(baseline_seconds, 2), "s", ""),
            (f"{n:,} events: pack time as a share of the baseline's", round(seconds / baseline_seconds, 2), "", ""),
            (
                f"{n:,} events: peak memory while rendering (all processes)",
                round(memory.peak_kb / 1024),
                "MB",
                "under 500 MB" if n == 5000 else "",
            ),
            (f"{n:,} events: the baseline's peak memory", round(baseline_kb / 1024), "MB", ""),
        ]
    rows.append(("processes rendering sections at once", os.cpu_count(), "", "one per core"))
    return rows
