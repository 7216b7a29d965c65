"""Time to answer the sign-in page and /healthz on the embedded default, and the stylesheet's weight.

Measured in-process with Django's test client (no network), 300 requests each after 20 to warm up.
"""

from __future__ import annotations

import gzip
import statistics
import time
from pathlib import Path

from django.test import Client

REPO = Path(__file__).resolve().parent.parent


def _latencies(client: Client, path: str, n: int = 300) -> list[float]:
    for _ in range(20):
        client.get(path)
    out = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(path)
        out.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return sorted(out)


def run():
    from django.test import override_settings

    with override_settings(REDIS_URL=""):  # as on the embedded default: no broker to ask
        return _run()


def _run():
    client = Client(SERVER_NAME="localhost")  # a host the embedded settings allow
    rows = []
    for path, target in (("/sign-in", "p95 under 50 ms"), ("/healthz", "p95 under 20 ms")):
        lat = _latencies(client, path)
        rows.append((f"GET {path} median", round(statistics.median(lat), 2), "ms", target))
        rows.append((f"GET {path} p95", round(lat[int(len(lat) * 0.95)], 2), "ms", target))
    css = (REPO / "static_build" / "jigsaw" / "jigsaw.css").read_bytes()
    rows.append(("stylesheet, gzipped", round(len(gzip.compress(css)) / 1024, 1), "KiB", "under 40 KiB"))
    return rows
