"""Telemetry ingestion under load: the HTTP API against PostgreSQL COPY, and on SQLite.

For each database: migrate a fresh one, create a subscribed installation, serve the site with
gunicorn (one sync worker per core), and push BATCHES batches of 1,000 events from CLIENTS
concurrent clients; the rate is events stored per second of wall time. On PostgreSQL the same
rows are then loaded again with COPY, 1,000 rows per transaction as the API commits them, into
the same (emptied) table with the same indexes: from one connection, and from as many
connections as there are workers. Targets from the billing issue: at least 50,000 events/s and
0.5 of the COPY rate on PostgreSQL; 10,000 events/s on SQLite.
"""

import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings

from tests.perf.conftest import INGEST_RESULTS
from tests.perf.test_bench_catalog import POSTGRES_ADMIN_URL, _env, _free_port, _manage

EVENTS_PER_BATCH = 1000
BATCHES = 100
ROUNDS = 3  # alternating HTTP and COPY; medians reported (this machine's speed drifts)
# The work is CPU-bound (parse, validate, insert): one worker per core does the most; more
# workers only take turns on the same cores (measured here: 4 workers did 20% less than 2).
WORKERS = os.cpu_count() or 2
CLIENTS = 2 * WORKERS
COLUMNS = (
    "installation_id, subscription_id, metric_id, client_id, value, occurred_at, received_at, "
    "properties, content_hash, flagged, late"
)


def _batches(count: int, *, prefix: str) -> list[bytes]:
    now = datetime.now(UTC)
    return [
        json.dumps(
            {
                "events": [
                    {
                        "id": f"{prefix}-b{b}-e{e}",
                        "metric": "inspections" if e % 4 else "kwh",
                        "value": str(e % 97) if e % 4 else str(1000 + b * 10 + e),
                        "timestamp": (now - timedelta(seconds=e + b)).isoformat(),
                        "properties": {"line": f"line-{e % 8}"},
                    }
                    for e in range(EVENTS_PER_BATCH)
                ]
            }
        ).encode()
        for b in range(count)
    ]


def _post(url: str, key: str, body: bytes) -> dict:
    request = urllib.request.Request(  # noqa: S310 - our own server
        url,
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        assert response.status == 202
        return json.loads(response.read())


def _push_all(url: str, key: str, bodies: list[bytes]) -> tuple[int, float]:
    """Send every batch from CLIENTS threads; returns (events accepted, seconds)."""
    queue = list(reversed(bodies))
    lock = threading.Lock()
    accepted = 0

    def client():
        nonlocal accepted
        while True:
            with lock:
                if not queue:
                    return
                body = queue.pop()
            answer = _post(url, key, body)
            assert answer["rejected"] == [], answer["rejected"][:3]
            with lock:
                accepted += answer["accepted"]

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return accepted, time.perf_counter() - start


def _serve(env: dict[str, str]):
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "marketplace.wsgi:application",
            "--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS), "--log-level", "warning",
        ],
        cwd=settings.BASE_DIR,
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(base + "/livez", timeout=5).read()  # noqa: S310
            return server, base
        except OSError:
            if time.monotonic() > deadline:
                server.terminate()
                raise
            time.sleep(0.2)


def _seeded(env: dict[str, str]) -> str:
    """Migrate, create the installation, and return its key."""
    _manage(env, "migrate", "--noinput")
    return (
        subprocess.run(
            [sys.executable, "manage.py", "seed_bench_installation"],
            cwd=settings.BASE_DIR,
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
        .stdout.strip()
        .splitlines()[-1]
    )


def _rounds(env: dict[str, str], between=None) -> list[float]:
    """HTTP rates of ROUNDS rounds of BATCHES batches, against one warm server; `between`
    runs after each round (the COPY baseline, on the same rows)."""
    key = _seeded(env)
    server, base = _serve(env)
    url = base + "/api/v1/telemetry/events"
    rates = []
    try:
        # Warm every worker (imports, connections) with batches outside the measure.
        for body in _batches(WORKERS * 2, prefix="warm"):
            _post(url, key, body)
        for number in range(ROUNDS):
            accepted, seconds = _push_all(url, key, _batches(BATCHES, prefix=f"r{number}"))
            assert accepted == BATCHES * EVENTS_PER_BATCH
            rates.append(accepted / seconds)
            if between:
                between()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return rates


def _copy_rates(database_url: str) -> tuple[float, float]:
    """Rows per second loading the stored events again with COPY, 1,000 rows per transaction:
    from one connection, then from WORKERS connections (the table emptied before each)."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            f"SELECT {COLUMNS} FROM billing_usageevent "  # noqa: S608 - our own columns
            "WHERE client_id NOT LIKE 'warm-%%' ORDER BY id"
        ).fetchall()
    rows = [(*row[:7], json.dumps(row[7]), *row[8:]) for row in rows]

    def load(connections: int) -> float:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("TRUNCATE billing_usageevent")
        batches = [rows[i : i + EVENTS_PER_BATCH] for i in range(0, len(rows), EVENTS_PER_BATCH)]
        lock = threading.Lock()

        def loader():
            with psycopg.connect(database_url) as conn:
                while True:
                    with lock:
                        if not batches:
                            return
                        batch = batches.pop()
                    with conn.transaction(), conn.cursor() as cursor:
                        copy_sql = f"COPY billing_usageevent ({COLUMNS}) FROM STDIN"
                        with cursor.copy(copy_sql) as copy:
                            for row in batch:
                                copy.write_row(row)

        threads = [threading.Thread(target=loader) for _ in range(connections)]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return len(rows) / (time.perf_counter() - start)

    rates = load(1), load(WORKERS)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM billing_usageevent WHERE client_id NOT LIKE 'warm-%%'")
    return rates


def _machine() -> str:
    return f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"


def test_ingestion_on_postgresql():
    import psycopg

    name = f"precis_ingest_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {exc}")
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    copies: list[tuple[float, float]] = []
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            http = _rounds(_env(url), between=lambda: copies.append(_copy_rates(url)))
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    http_rate = statistics.median(http)
    copy_one = statistics.median(one for one, _many in copies)
    copy_many = statistics.median(many for _one, many in copies)
    ratio = statistics.median(
        rate / max(one, many) for rate, (one, many) in zip(http, copies, strict=True)
    )
    INGEST_RESULTS.append(
        (
            "PostgreSQL",
            f"{http_rate:,.0f}/s",
            f"{copy_one:,.0f}/s",
            f"{copy_many:,.0f}/s",
            f"{ratio:.2f}",
            _machine(),
        )
    )
    print(
        f"\nPostgreSQL ingestion: HTTP {http_rate:,.0f} events/s; COPY {copy_one:,.0f} rows/s "
        f"(1 connection), {copy_many:,.0f} rows/s ({WORKERS}); ratio {ratio:.2f}; "
        f"rounds: {', '.join(f'{r:,.0f}' for r in http)}"
    )


def test_ingestion_on_sqlite(tmp_path: Path):
    rates = _rounds(_env(f"sqlite:///{tmp_path / 'ingest.sqlite3'}"))
    rate = statistics.median(rates)
    INGEST_RESULTS.append(("SQLite", f"{rate:,.0f}/s", "", "", "", _machine()))
    rounds = ", ".join(f"{r:,.0f}" for r in rates)
    print(f"\nSQLite ingestion: HTTP {rate:,.0f} events/s; rounds: {rounds}")
