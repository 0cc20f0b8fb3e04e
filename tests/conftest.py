import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid

import pytest
from django.conf import settings
from django.db import connection

from tests.factories import MembershipFactory, OrganizationFactory, UserFactory


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With PRECIS_NO_SKIPS=1 (set by .ci/run) a skipped test fails: CI never skips silently."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("PRECIS_NO_SKIPS") == "1" and report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"Skipped, but CI must run every test: {reason}"


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def organization(db):
    return OrganizationFactory()


@pytest.fixture
def owner(organization):
    return MembershipFactory(organization=organization, role="owner").user


@pytest.fixture
def other_organization(db):
    return OrganizationFactory(name="Rival Castings", slug="rival-castings")


@pytest.fixture(autouse=True)
def _default_language():
    """A request for a Chinese page leaves Chinese active in the thread: end every test in
    the default language, so the next one starts there."""
    from django.utils import translation

    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate limits count in the cache: every test starts with none counted."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


_MIGRATED_DATA: list[str] = []


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Keep a copy of what migrations wrote (home page, site, locale) right after set-up."""
    from django.db import connection

    with django_db_blocker.unblock():
        _MIGRATED_DATA.append(connection.creation.serialize_db_to_string())


@pytest.fixture
def migrated_data(transactional_db):
    """For tests on committed data (live server, real worker): the rows migrate left.

    Transactional tests empty every table when they end, including the rows that data
    migrations wrote. Django's serialized_rollback restores them, but not for tests that run
    inside Playwright's greenlet, where the test sees another connection object; this fixture
    restores them on whatever connection the test has.
    """
    from django.apps import apps
    from django.contrib.contenttypes.models import ContentType
    from django.core.management import call_command
    from django.core.management.color import no_style
    from django.db import connection
    from wagtail.models import Site

    if not Site.objects.exists():
        # The previous flush re-created content types and permissions; start from empty.
        call_command("flush", interactive=False, inhibit_post_migrate=True, verbosity=0)
        connection.creation.deserialize_db_from_string(_MIGRATED_DATA[0])
        # The rows come back with their ids: PostgreSQL's sequences must move past them, and
        # this process may hold the content-type ids an earlier flush gave.
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), apps.get_models()):
                cursor.execute(sql)
        ContentType.objects.clear_cache()


@pytest.fixture(scope="class")
def seeded_demo(django_db_setup, django_db_blocker):
    """The full demo (`seed_demo`, seconds per run) seeded once for a whole test class.

    The seed runs inside a transaction that stays open while the class's tests run and is rolled
    back after the last one, the way Django's setUpTestData shares data: each test's own `db`
    transaction becomes a savepoint inside it, so whatever a test changes is undone before the
    next test, and the modules after this class find the database exactly as migrate left it.
    For `db` tests only: a transactional test (live server, worker) cannot see the open
    transaction, and its flush would end it.
    """
    from django.core.management import call_command
    from django.db import transaction

    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo")
        # Between set-up and tear-down, tests reach the database only through their own mark.
        with django_db_blocker.block():
            yield
        transaction.set_rollback(True)


@pytest.fixture(scope="session")
def localstripe_url():
    """localstripe (billing/stripe_local.py) started for this test run on a free port of
    127.0.0.1, fresh, and stopped at the end: the Stripe that integration tests talk to."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "billing.stripe_local", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/js.stripe.com/v3/", timeout=1).close()  # noqa: S310
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"localstripe did not start: {server.stderr.read().decode()[-2000:]}")
            time.sleep(0.05)
    yield url
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    server.stderr.close()


@pytest.fixture
def stripe_server(localstripe_url, settings):
    """Settings pointing billing.gateway at the test run's localstripe."""
    # Every test starts from an empty Stripe: ids and idempotency keys of earlier tests (whose
    # database rows were rolled back, ids free to come again) are forgotten.
    flush = urllib.request.Request(f"{localstripe_url}/_config/data", method="DELETE")  # noqa: S310
    urllib.request.urlopen(flush, timeout=10).close()  # noqa: S310
    settings.STRIPE_API_BASE = localstripe_url
    settings.STRIPE_SECRET_KEY = "sk_test_precis_tests"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_precis_tests"
    return localstripe_url


@pytest.fixture
def worker():
    """A `celery worker` process on the test database; yields its output lines."""
    if settings.CELERY_BROKER_URL == "filesystem://":
        folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "marketplace.settings.test",
        "PRECIS_TEST_DATABASE_NAME": str(connection.settings_dict["NAME"]),
    }
    if settings.CELERY_BROKER_URL == "filesystem://":
        env["PRECIS_TEST_BROKER_DIR"] = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "marketplace",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"test-{uuid.uuid4().hex[:8]}@%h",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    yield lines
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    reader.join(timeout=5)
    process.stdout.close()
    if settings.CELERY_BROKER_URL == "filesystem://":
        folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def eager_off():
    """Tasks go to the broker (for the `worker` fixture) instead of running in the test."""
    from marketplace.celery import app

    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True
