"""Celery: the beat schedule is sound, and a real worker process runs tasks from the broker.

Without CELERY_BROKER_URL the worker test uses kombu's filesystem transport, so it runs on a
machine with nothing but Python; CI sets CELERY_BROKER_URL to Redis.
"""

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from marketplace.accounts.models import Invitation
from marketplace.accounts.tasks import invitations_expire
from marketplace.celery import app


def test_every_scheduled_task_exists():
    app.loader.import_default_modules()
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, name


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
