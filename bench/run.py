#!/usr/bin/env python
"""Run every benchmark in bench/ (files named bench_*.py) and rewrite docs/benchmarks.md.

Each benchmark module has a `run()` returning rows of (measure, value, unit, target). Numbers are
printed and written down; no test asserts on them. `bench/run.py bench_thresholds ...` runs only the
named benchmarks and replaces only their sections of the file; each section says when and how it ran.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import platform
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("JIGSAW_LOG_LEVEL", "WARNING")
os.environ.setdefault("DJANGO_DEBUG", "false")


def main() -> None:
    import django

    django.setup()
    from django.db import connection

    # Every benchmark works in a throw-away database, created here and dropped at the end.
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        sections = _run_all(sys.argv[1:])
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    _write(sections, partial=bool(sys.argv[1:]))


def _run_all(only: list[str]) -> list:
    sections = []
    # The heavy ones (50,000 imported events, 10,000 alerts, a million events) run last, so they cannot slow the
    # others.
    heavy = {"bench_batch": 1, "bench_escalation": 1, "bench_area": 2}
    paths = sorted((REPO / "bench").glob("bench_*.py"), key=lambda p: (heavy.get(p.stem, 0), p.stem))
    for path in paths:
        if only and path.stem not in only:
            continue
        module = importlib.import_module(f"bench.{path.stem}")
        print(f"== {path.stem}: {module.__doc__.strip().splitlines()[0]}")
        rows = module.run()
        for measure, value, unit, target in rows:
            print(f"  {measure}: {value} {unit}  (target: {target})")
        sections.append((path.stem, module.__doc__.strip(), rows))
    return sections


def _section(name: str, doc: str, rows: list, command: str, now: str) -> list[str]:
    lines = [f"## {name}", "", doc, "", f"Run {now} with `{command}`.", "", "| measure | value | target |"]
    lines.append("|---|---|---|")
    lines += [f"| {m} | {v} {u} | {t} |" for m, v, u, t in rows]
    return [*lines, ""]


def _write(sections: list, *, partial: bool) -> None:
    from django.db import connection

    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    path = REPO / "docs" / "benchmarks.md"
    env = " ".join(
        f"{key}={os.environ[key]}"
        for key in ("BENCH_AREA_CHILDREN", "BENCH_ESCALATION_ALERTS", "BENCH_BATCH_EVENTS", "BENCH_BATCH_RUNS")
        if key in os.environ
    )
    command = (env + " " if env else "") + ("make bench" if not partial else f"bench/run.py {' '.join(sys.argv[1:])}")
    header = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`scripts/services-up` then `.venv/bin/python bench/run.py` with `DATABASE_URL`",
        "on the local PostgreSQL and `REDIS_URL` on the local Redis); do not edit by hand. `bench/run.py NAME`",
        "runs one benchmark again and replaces its section. The machine's speed varies between runs by up to a",
        "factor of two: compare numbers from one run.",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"database {connection.vendor}.",
        "",
    ]
    ran = {name: _section(name, doc, rows, command, now) for name, doc, rows in sections}
    kept: dict[str, list[str]] = {}
    if partial and path.exists():
        current, last_run = None, ""
        for line in path.read_text().splitlines():
            if line.startswith("Last run "):  # a file written whole: its sections ran then, by make bench
                last_run = line.removeprefix("Last run ").split(" on ")[0]
            if line.startswith("## "):
                current = line[3:].strip()
                kept[current] = []
            if current is not None:
                if line.startswith("| measure |") and last_run and not any(x.startswith("Run ") for x in kept[current]):
                    kept[current] += [f"Run {last_run} with `make bench`.", ""]
                kept[current].append(line)
    order = list(kept) + [name for name in ran if name not in kept]
    lines = header + [line for name in order for line in ran.get(name, kept.get(name, []))]
    path.write_text("\n".join(lines).rstrip() + "\n")
    print("wrote docs/benchmarks.md")


if __name__ == "__main__":
    main()
