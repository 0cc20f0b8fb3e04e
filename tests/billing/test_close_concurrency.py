"""The period close run twice at once, or killed half-way and run again, invoices every period
once (committed data, real connections and processes).

Each test builds the same book twice under two prefixes (tests/billing/closing_book.py): one
copy closed by one clean run is what the other copy must look like after the runs under test.
On PostgreSQL the two runs overlap for real; SQLite takes one writer at a time, so there they
run one after the other (the second must still change nothing).
"""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from django.conf import settings
from django.db import connection, transaction

from billing.models import DocumentSequence, Invoice
from billing.services.closing import period_close
from marketplace.accounts.models import Organization
from tests.billing.closing_book import (
    CLOSE_AT,
    assert_book_sound,
    book_build,
    book_numbers,
    book_snapshot,
)

pytestmark = pytest.mark.usefixtures("migrated_data")

WAIT = 60  # seconds: longest wait for another process on a busy machine


def _close_command(*args: str) -> subprocess.Popen:
    """`manage.py close_period --as-of CLOSE_AT ...` in another process, on the test database."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "marketplace.settings.test",
        "PRECIS_TEST_DATABASE_NAME": str(connection.settings_dict["NAME"]),
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "close_period", "--as-of", CLOSE_AT.isoformat(), *args],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _run_to_end(*args: str) -> str:
    process = _close_command(*args)
    output, _ = process.communicate(timeout=WAIT * 3)
    assert process.returncode == 0, output
    return output


def _wait_for(condition, what: str, process: subprocess.Popen | None = None):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        if process is not None and process.poll() is not None:
            pytest.fail(f"close_period ended before {what}: {process.communicate()[0]}")
        time.sleep(0.005)
    pytest.fail(f"Gave up waiting for {what}")


def test_two_closes_at_once_invoice_every_period_once_with_gap_free_numbers():
    book_build("solo")
    period_close(now=CLOSE_AT)
    expected = book_snapshot("solo")

    book_build("twin")
    errors, reports = [], []
    if connection.vendor == "postgresql":
        # Two runs started together, with different chunk sizes so that their chunks overlap
        # (each locks some rows the other wants): they must neither deadlock nor double-bill.
        start = threading.Barrier(2)

        def close(chunk_size: int):
            try:
                start.wait()
                reports.append(period_close(now=CLOSE_AT, chunk_size=chunk_size))
            except Exception as error:  # reported below, with the other thread's
                errors.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=close, args=(size,)) for size in (3, 5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=WAIT * 3)
        assert not any(thread.is_alive() for thread in threads)
    else:
        reports += [period_close(now=CLOSE_AT, chunk_size=size) for size in (3, 5)]
    assert errors == []
    # Between them the two runs created each invoice once.
    assert sum(report.invoices_created for report in reports) == len(expected)

    assert book_snapshot("twin") == expected
    assert book_numbers("twin") == book_numbers("solo")
    assert_book_sound("twin")


def _kill_half_way(worker: subprocess.Popen, prefix: str) -> None:
    """SIGKILL a running close once its first chunk has committed.

    On PostgreSQL the worker is first stopped in the middle of a chunk: the test locks the
    invoice sequences of the book's vendors, so the worker's next chunk waits there after it
    moved its subscriptions on (and wrote their statements and history) but before it numbers
    and writes the invoices; it is killed with those writes in flight. SQLite has no row locks
    to stop it with, and the test cannot take its write lock from a worker that takes it back
    at once: there the worker is killed as soon as the first chunk is seen, wherever it is then.
    """
    _wait_for(
        lambda: Invoice.objects.filter(issuer__slug__startswith=f"{prefix}-").exists(),
        "the first chunk to commit",
        worker,
    )
    if connection.vendor != "postgresql":
        worker.kill()
        worker.wait(timeout=WAIT)
        return
    with transaction.atomic(), connection.cursor() as cursor:
        vendors = Organization.objects.filter(slug__startswith=f"{prefix}-", is_vendor=True)
        for vendor in vendors.order_by("pk"):
            DocumentSequence.objects.get_or_create(issuer=vendor, kind="invoice")
        list(
            DocumentSequence.objects.select_for_update()
            .filter(issuer__in=vendors)
            .order_by("issuer_id", "kind")
        )

        def waiting():
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
            )
            return cursor.fetchall()

        ((pid,),) = _wait_for(waiting, "the close to wait for a sequence", worker)
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE pid = %s AND mode = 'RowExclusiveLock' "
            "AND relation = 'billing_subscription'::regclass",
            [pid],
        )
        assert cursor.fetchone() == (1,), "the worker has no subscription updates in flight"
        worker.kill()
        worker.wait(timeout=WAIT)


def test_a_close_killed_half_way_and_run_again_invoices_as_one_clean_run():
    book_build("clean")
    _run_to_end("--chunk-size", "2")
    expected = book_snapshot("clean")

    book_build("again")
    worker = _close_command("--chunk-size", "1")
    try:
        _kill_half_way(worker, "again")
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.communicate()
    committed = Invoice.objects.filter(issuer__slug__startswith="again-").count()
    assert worker.returncode == -signal.SIGKILL
    assert 0 < committed < len(expected)  # killed half-way: some chunks in, others not

    output = _run_to_end("--chunk-size", "2")
    assert "invoices created: 0," not in output

    assert book_snapshot("again") == expected
    assert book_numbers("again") == book_numbers("clean")
    assert_book_sound("again")
    # And once more: nothing changes.
    _run_to_end()
    assert book_snapshot("again") == expected


def test_a_close_by_worker_processes_invoices_as_one_process_does():
    book_build("one")
    _run_to_end("--chunk-size", "2")
    expected = book_snapshot("one")

    book_build("many")
    output = _run_to_end("--chunk-size", "1", "--workers", "3")

    assert "invoices created: 0," not in output
    assert book_snapshot("many") == expected
    assert book_numbers("many") == book_numbers("one")
    assert_book_sound("many")
