"""The same batch sent several times at once is stored once (committed data, real connections)."""

import json
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from billing import selectors
from billing.models import UsageEvent

pytestmark = pytest.mark.usefixtures("migrated_data")


@pytest.fixture
def listing(migrated_data):
    from tests.factories import ListingFactory, VendorFactory

    return ListingFactory(vendor=VendorFactory(name="Lumen Edge"), name="Weave Eye")


def test_one_batch_sent_three_times_at_once_is_stored_once(issued, subscription):
    now = timezone.now()
    batch = json.dumps(
        {
            "events": [
                {
                    "id": f"evt-{n}",
                    "metric": "inspections" if n % 2 else "kwh",
                    "value": str(n),
                    "timestamp": (now - timedelta(seconds=n)).isoformat(),
                }
                for n in range(1000)
            ]
        }
    )
    answers = []
    start = threading.Barrier(3)

    def send():
        try:
            start.wait()
            response = Client().post(
                "/api/v1/telemetry/events",
                batch,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {issued.key}",
            )
            answers.append(response.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(answers) == 3
    assert all(a["rejected"] == [] for a in answers)
    assert sum(a["accepted"] for a in answers) == 1000
    assert sum(a["duplicates"] for a in answers) == 2000
    assert UsageEvent.objects.count() == 1000
    usage = selectors.usage_totals(
        subscription, now - timedelta(hours=1), now + timedelta(minutes=1)
    )
    assert usage["inspections"] == sum(n for n in range(1000) if n % 2)
    # Sent once more, nothing changes.
    again = (
        Client()
        .post(
            "/api/v1/telemetry/events",
            batch,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {issued.key}",
        )
        .json()
    )
    assert (again["accepted"], again["duplicates"]) == (0, 1000)
    assert (
        selectors.usage_totals(subscription, now - timedelta(hours=1), now + timedelta(minutes=1))
        == usage
    )
