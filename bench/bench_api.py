"""The REST API's chronology endpoint under load: gunicorn with production settings, PostgreSQL, Redis, wrk.

A child of 2,000 events from 12 agencies (the shared generator, imported into the throw-away database) is read
a page of 50 events at a time by an agency's system: a real API key, X-Acting-User naming a practitioner
involved with the child, every call checked and written to the access log. gunicorn runs the production settings
(JSON logs to a file, the throttle in Redis) with one sync worker per core plus one, as docker-compose.yml does on
this machine; wrk, on the same machine, keeps 8 connections busy for 20 seconds after a 5-second warm-up, asking
for the first page and the pages after it in turn. The 95th percentile is read from wrk's own latency histogram.

The same pages are then read with the read cache off (JIGSAW_API_READ_CACHE=false): every call answered by the
full view, as a page read for the first time is. Two floors show what the machine and the framework leave: an
unrouted address under /api/v1/ of the product (every middleware, the URL resolver and a JSON 404, no query), and
a WSGI application answering five bytes from the same gunicorn (bench/floor_app.py).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.bench_chronology import _generator

REPO = Path(__file__).resolve().parent.parent
PORT = 8931
ENDPOINT = "/api/v1/children/{child}/events"
WRK_SCRIPT = """
local pages = {%(pages)s}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", pages[(n %% #pages) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format("P95_US %%d\\n", latency:percentile(95)))
  io.write(string.format("P50_US %%d\\n", latency:percentile(50)))
  io.write(string.format("REQUESTS %%d\\n", summary.requests))
  io.write(string.format("NON2XX %%d\\n", summary.errors.status))
  local e = summary.errors
  io.write(string.format("SOCKET_ERRORS %%d\\n", e.connect + e.read + e.write + e.timeout))
end
"""


def _wait_for(url: str, headers: dict, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(url, headers=headers)  # noqa: S310 (a local http address)
            with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer {url}")


def _wrk(url: str, headers: dict, script: Path, seconds: int) -> dict:
    command = ["wrk", "-t2", "-c8", f"-d{seconds}s", "--timeout", "5s", "-s", str(script)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    numbers = dict(re.findall(r"^([A-Z0-9_]+) (\d+)$", out, flags=re.MULTILINE))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return {"rps": rps, **{k: int(v) for k, v in numbers.items()}}


def _gunicorn(app: str, env: dict, workers: int, log) -> subprocess.Popen:
    command = [str(REPO / ".venv" / "bin" / "gunicorn"), app, "--bind", f"127.0.0.1:{PORT}", "--workers", str(workers)]
    return subprocess.Popen(
        [*command, "--worker-class", "sync"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
    )


def _stop(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)


def _floor(url: str, headers: dict, script: Path) -> dict:
    _wrk(url, headers, script, 3)
    return _wrk(url, headers, script, 10)


def run():
    from django.db import connection

    from agencies.apikeys import api_key_create
    from agencies.models import AccessLog, Agency, Role, RoleGrant, User
    from agencies.policy import system_user
    from chronology.exchange import chronology_import
    from chronology.models import ChildIdentifier
    from tests.factories import involve

    if connection.vendor != "postgresql" or shutil.which("wrk") is None:
        print("  needs PostgreSQL (DATABASE_URL) and wrk (apt-get install wrk)", file=sys.stderr)
        return [("chronology endpoint", "not run", "", "needs PostgreSQL and wrk")]
    chronology_import(actor=system_user(), document=_generator().build(2000, "api"))
    child = ChildIdentifier.objects.get(source="bench-api", ref="api").child
    agency = Agency.objects.get(code="api-police") if Agency.objects.filter(code="api-police").exists() else None
    agency = agency or Agency.objects.filter(area=child.area).order_by("code").first()
    person = User.objects.create(username="bench-api-practitioner", agency=agency, first_name="Bench")
    RoleGrant.objects.create(user=person, role=Role.PRACTITIONER)
    involve(child, person)
    api_key, key = api_key_create(agency=agency, name="bench", scopes=["read"])
    api_key.rate = "9999999/minute"
    api_key.save(update_fields=["rate"])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    settings = connection.settings_dict
    database_url = (
        f"postgres://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}"
    )
    workdir = Path(tempfile.mkdtemp(prefix="jigsaw-bench-api-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url,
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/2"),
        "EMAIL_URL": "smtp://127.0.0.1:2525",
        "JIGSAW_LOG_FORMAT": "json",
        "JIGSAW_LOG_LEVEL": "INFO",
    }
    workers = (os.cpu_count() or 1) + 1
    log = (workdir / "gunicorn.log").open("w")
    server = _gunicorn("config.wsgi:application", env, workers, log)
    headers = {
        "Authorization": f"Bearer {key}",
        "X-Acting-User": person.username,
        "X-Forwarded-Proto": "https",  # as the TLS proxy in front of gunicorn sets it
        "Host": "127.0.0.1",
    }
    base = f"http://127.0.0.1:{PORT}"
    path = ENDPOINT.format(child=child.pk)
    try:
        _wait_for(base + path, headers)
        pages = ", ".join(f'"{path}?page={n}"' for n in (1, 1, 1, 2, 3, 10, 40))
        script = workdir / "pages.lua"
        script.write_text(WRK_SCRIPT % {"pages": pages})
        logged_before = AccessLog.objects.filter(child=child).count()
        _wrk(base + path, headers, script, 5)  # warm-up: connections, caches, the workers' imports
        result = _wrk(base + path, headers, script, 20)
        logged = AccessLog.objects.filter(child=child).count() - logged_before
    finally:
        _stop(server)
    # Every call to the full view, then the product's middleware with no query (an unrouted address).
    try:
        server = _gunicorn("config.wsgi:application", {**env, "JIGSAW_API_READ_CACHE": "false"}, workers, log)
        _wait_for(base + path, headers)
        _wrk(base + path, headers, script, 5)
        uncached = _wrk(base + path, headers, script, 20)
    finally:
        _stop(server)
    try:
        server = _gunicorn("config.wsgi:application", env, workers, log)
        _wait_for(base + path, headers)
        unrouted = "/api/v1/no-such-endpoint"
        script.write_text(WRK_SCRIPT % {"pages": f'"{unrouted}"'})
        django_floor = _floor(base + unrouted, headers, script)
    finally:
        _stop(server)
    try:
        server = _gunicorn("bench.floor_app:application", env, workers, log)
        _wait_for(base + "/", {})
        script.write_text(WRK_SCRIPT % {"pages": '"/"'})
        bare_floor = _floor(base + "/", {}, script)
    finally:
        _stop(server)
        log.close()
    total = result["REQUESTS"]
    return [
        ("chronology endpoint, page of 50 of 2,000 events", f"{result['rps']:.0f}", "requests/s", "at least 500"),
        ("  95th percentile latency", f"{result['P95_US'] / 1000:.1f}", "ms", "under 50 ms"),
        ("  median latency", f"{result['P50_US'] / 1000:.1f}", "ms", ""),
        ("  answers other than 200, socket errors", f"{result['NON2XX']}, {result['SOCKET_ERRORS']}", "", "0, 0"),
        (
            "  access-log rows written (warm-up and run)",
            f"{logged:,} for {total:,} measured requests",
            "",
            "one a call",
        ),
        (
            "the same pages with the read cache off (every call answered by the full view)",
            f"{uncached['rps']:.0f} requests/s, 95th percentile {uncached['P95_US'] / 1000:.1f} ms",
            "",
            "",
        ),
        (
            "floor: the product's middleware, an unrouted /api/v1/ address (JSON 404, no query)",
            f"{django_floor['rps']:.0f} requests/s, 95th percentile {django_floor['P95_US'] / 1000:.1f} ms",
            "",
            "",
        ),
        (
            "floor: a bare WSGI application on the same gunicorn",
            f"{bare_floor['rps']:.0f} requests/s, 95th percentile {bare_floor['P95_US'] / 1000:.1f} ms",
            "",
            "",
        ),
        (f"  gunicorn sync workers on {os.cpu_count()} cores, wrk 2 threads and 8 connections", workers, "workers", ""),
    ]
