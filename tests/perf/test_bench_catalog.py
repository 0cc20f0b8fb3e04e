"""The catalog under load: 10,000 listings behind a real WSGI server, on SQLite and PostgreSQL.

For each database: migrate a fresh one, add 10,000 published listings, serve the site with
gunicorn (two sync workers, as many as this machine has cores), then measure
- server time (the Server-Timing header) of the catalog page searched with a term and two
  facets, over sequential requests: p50 and p95;
- throughput of that page and of /livez (a view that does nothing) under the same concurrent
  load, and their ratio.
Targets from the catalog issue: p95 <= 50 ms and a ratio of at least 0.4.
"""

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from tests.perf.conftest import LOAD_RESULTS

LISTINGS = 10_000
CATALOG_URL = "/catalog/?q=inspection&industry=electronics&deployment=edge"
SEQUENTIAL_REQUESTS = 300
LOAD_SECONDS = 8
CLIENT_THREADS = 4
CACHE_DIR = Path(tempfile.gettempdir()) / f"precis-bench-cache-{os.getpid()}"
SEARCH_WORDS = ("vision", "energy", "meter", "pump", "weld", "label", "safety", "andon")
INDUSTRIES = ("electronics", "textiles", "chemicals", "machinery", "automotive-parts",
              "food-beverage", "plastics-rubber", "pharmaceuticals", "metal-processing",
              "building-materials")  # fmt: skip
SORTS = ("relevance", "rating", "newest", "name")
POSTGRES_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "marketplace.settings.dev",
        "DJANGO_DEBUG": "false",
        "PRECIS_DEV_MFA_CODE": "",
        "DATABASE_URL": database_url,
        "CACHE_URL": f"filecache://{CACHE_DIR}",
        "DJANGO_LOG_LEVEL": "WARNING",
    }


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )


def _get(url: str) -> tuple[int, float | None]:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - our own server
        response.read()
        timing = response.headers.get("Server-Timing", "")
        duration = float(timing.split("dur=")[1]) if "dur=" in timing else None
        return response.status, duration


def _throughput(url: str) -> float:
    done = 0
    lock = threading.Lock()
    stop = time.monotonic() + LOAD_SECONDS

    def client():
        nonlocal done
        while time.monotonic() < stop:
            status, _ = _get(url)
            assert status == 200
            with lock:
                done += 1

    threads = [threading.Thread(target=client) for _ in range(CLIENT_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done / LOAD_SECONDS


def _server_times(urls) -> tuple[float, float]:
    """p50 and p95 of the Server-Timing durations of these requests, made one by one."""
    durations = []
    for url in urls:
        status, duration = _get(url)
        assert status == 200
        durations.append(duration)
    durations.sort()
    return statistics.median(durations), durations[int(len(durations) * 0.95) - 1]


def _measure(database: str, database_url: str) -> None:
    env = _env(database_url)
    _manage(env, "migrate", "--noinput")
    _manage(env, "seed_bulk_listings", "--count", str(LISTINGS))
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "marketplace.wsgi:application",
            "--bind", f"127.0.0.1:{port}", "--workers", "2", "--log-level", "warning",
        ],
        cwd=settings.BASE_DIR,
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(base + "/livez")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        for _ in range(20):  # warm both workers
            _get(base + "/livez")
        # Cold: every request a search and two facets not asked before, so no page or body
        # comes from the cache (a keyword, an industry and edge deployment, in four sorts).
        cold_urls = [
            base + f"/catalog/?q={word}&industry={industry}&deployment=edge&sort={sort}"
            for sort in SORTS
            for word in SEARCH_WORDS
            for industry in INDUSTRIES
        ][:SEQUENTIAL_REQUESTS]
        cold = _server_times(cold_urls)
        # Warm: the same query again and again, as a popular catalog view is asked for.
        warm = _server_times(base + CATALOG_URL for _ in range(SEQUENTIAL_REQUESTS))
        with urllib.request.urlopen(base + CATALOG_URL, timeout=30) as response:  # noqa: S310
            cards = response.read().count(b'class="listing-card"')
        assert cards == 24, f"the measured page shows {cards} listings, not a full page"
        catalog_rps = _throughput(base + CATALOG_URL)
        trivial_rps = _throughput(base + "/livez")
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(CACHE_DIR, ignore_errors=True)
    ratio = catalog_rps / trivial_rps
    row = (
        database,
        f"{cold[0]:.1f} / {cold[1]:.1f} ms",
        f"{warm[0]:.1f} / {warm[1]:.1f} ms",
        f"{catalog_rps:.0f}/s",
        f"{trivial_rps:.0f}/s",
        f"{ratio:.2f}",
    )
    LOAD_RESULTS.append(row)
    print(
        f"\n{database}: cold p50/p95 {row[1]}, warm {row[2]}; catalog {row[3]}, "
        f"trivial {row[4]}, ratio {row[5]}"
    )


def test_catalog_under_load_on_sqlite(tmp_path: Path):
    _measure("SQLite", f"sqlite:///{tmp_path / 'bench.sqlite3'}")


def test_catalog_under_load_on_postgresql():
    import psycopg

    name = f"precis_bench_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True)
    except psycopg.OperationalError as exc:
        LOAD_RESULTS.append(("PostgreSQL", "not run: " + str(exc).splitlines()[0], "", "", "", ""))
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            _measure("PostgreSQL", POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
