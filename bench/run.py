#!/usr/bin/env python
"""Run every benchmark in bench/ (files named bench_*.py) and rewrite docs/benchmarks.md.

Each benchmark module has a `run()` returning rows of (measure, value, unit, target). Numbers are
printed and written down; no test asserts on them. `bench/run.py bench_thresholds ...` runs only the
named benchmarks and prints their numbers without rewriting the file.
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
    if not sys.argv[1:]:
        _write(sections)


def _run_all(only: list[str]) -> list:
    sections = []
    # The area benchmark loads a million events: it runs last so it cannot slow the others.
    paths = sorted((REPO / "bench").glob("bench_*.py"), key=lambda p: (p.stem == "bench_area", p.stem))
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


def _write(sections: list) -> None:
    from django.db import connection

    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`scripts/services-up` then `.venv/bin/python bench/run.py` with `DATABASE_URL`",
        "on the local PostgreSQL and `REDIS_URL` on the local Redis); do not edit by hand. The machine's speed",
        "varies between runs by up to a factor of two: compare numbers from one run.",
        f"Last run {now} on {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"database {connection.vendor}.",
        "",
    ]
    for name, doc, rows in sections:
        lines += [f"## {name}", "", doc, "", "| measure | value | target |", "|---|---|---|"]
        lines += [f"| {m} | {v} {u} | {t} |" for m, v, u, t in rows]
        lines.append("")
    (REPO / "docs" / "benchmarks.md").write_text("\n".join(lines))
    print("wrote docs/benchmarks.md")


if __name__ == "__main__":
    main()
