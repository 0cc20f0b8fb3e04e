"""Celery: the beat schedule is sound, and a real worker process runs tasks from the broker.

Without CELERY_BROKER_URL the worker test uses kombu's filesystem transport, so it runs on a
machine with nothing but Python; CI sets CELERY_BROKER_URL to Redis.
"""

import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from marketplace.accounts.models import Invitation
from marketplace.accounts.tasks import invitations_expire
from marketplace.celery import app


def test_every_scheduled_task_exists():
    app.loader.import_default_modules()
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, name


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
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True


@pytest.mark.worker
@pytest.mark.usefixtures("migrated_data")
def test_a_real_worker_runs_a_task_through_the_broker(worker, eager_off, organization):
    invitation = Invitation.objects.create(
        organization=organization,
        email="late@plant.example",
        expires_at=timezone.now() - timedelta(hours=1),
    )

    invitations_expire.delay()
    # Sent, not run here: the row changes only when the worker has run the task.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        invitation.refresh_from_db()
        if invitation.status == Invitation.Status.EXPIRED:
            break
        time.sleep(0.2)
    output = "".join(worker)
    assert invitation.status == Invitation.Status.EXPIRED, output
    assert "marketplace.accounts.tasks.invitations_expire" in output
    assert "succeeded" in output
