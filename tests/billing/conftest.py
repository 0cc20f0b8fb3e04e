import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import MeteredCharge, Metric, Plan, PlanVersion
from billing.services import installations, subscriptions
from marketplace.accounts.models import Role
from tests.factories import ListingFactory, MembershipFactory, OrganizationFactory, VendorFactory


@pytest.fixture
def listing(db):
    return ListingFactory(vendor=VendorFactory(name="Lumen Edge"), name="Weave Eye")


@pytest.fixture
def metrics(listing):
    """A usage count, an energy meter's running total and an outcome, as a vision system has."""
    return {
        "inspections": Metric.objects.create(
            listing=listing, code="inspections", name="Inspections", unit="inspections"
        ),
        "kwh": Metric.objects.create(
            listing=listing,
            code="kwh",
            name="Energy",
            unit="kWh",
            mode=Metric.Mode.CUMULATIVE,
        ),
        "defects": Metric.objects.create(
            listing=listing,
            code="defects",
            name="Defects caught",
            unit="defects",
            kind=Metric.Kind.OUTCOME,
        ),
    }


@pytest.fixture
def plan(listing, metrics):
    """14 days free with no card, then 499 CNY a month and 0.02 CNY per inspection over 1,000."""
    plan = Plan.objects.create(listing=listing, name="Standard", is_published=True)
    version = PlanVersion.objects.create(
        plan=plan, number=1, trial_days=14, recurring_amount=Decimal("499.00")
    )
    MeteredCharge.objects.create(
        version=version,
        metric=metrics["inspections"],
        unit_price=Decimal("0.02"),
        included_units=Decimal(1000),
    )
    return plan


@pytest.fixture
def buyer(db):
    return OrganizationFactory(name="Huaxin Precision", slug="huaxin", time_zone="Asia/Shanghai")


@pytest.fixture
def buyer_owner(buyer):
    return MembershipFactory(organization=buyer, role=Role.OWNER).user


@pytest.fixture
def subscription(plan, buyer, buyer_owner):
    return subscriptions.subscription_start(actor=buyer_owner, buyer=buyer, plan=plan)


@pytest.fixture
def issued(subscription, buyer_owner):
    return installations.installation_create(
        actor=buyer_owner, subscription=subscription, name="Plant 1, line 3"
    )


@pytest.fixture
def push(client, issued):
    """POST a batch of events with the installation's key; returns the response."""

    def push(events, *, key: str | None = None, raw: bytes | None = None):
        body = raw if raw is not None else json.dumps({"events": events}).encode()
        return client.post(
            "/api/v1/telemetry/events",
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key or issued.key}",
        )

    return push


def event(n: int, *, metric: str = "inspections", value="1", minutes_ago: int = 10, **extra):
    at = timezone.now() - timedelta(minutes=minutes_ago)
    return {
        "id": f"evt-{n}",
        "metric": metric,
        "value": value,
        "timestamp": at.isoformat(),
        **extra,
    }
