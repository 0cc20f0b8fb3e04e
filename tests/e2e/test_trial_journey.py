"""Try first, pay later, in a real browser at desktop and phone width: a buyer starts a free trial
from a listing's pricing, registers an installation and copies its key; the buyer's platform
pushes telemetry with that key over HTTP; the buyer sees the usage totals and the daily chart.
"""

import json
import re
import urllib.error
import urllib.request
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from billing.models import Metric, Subscription
from billing.services import plans
from billing.services.plans import MeteredTerms, OutcomeTerms, PlanTerms, TierTerms
from marketplace.accounts.models import Role
from tests.e2e.conftest import open_menu, sign_in
from tests.factories import (
    ListingFactory,
    MembershipFactory,
    OrganizationFactory,
    VendorFactory,
)

pytestmark = pytest.mark.usefixtures("migrated_data")

DAY = timedelta(days=1)


@pytest.fixture
def weave_eye():
    """A published listing with two metrics and two plans: a trial, and a yearly tiered plan."""
    vendor = VendorFactory(name="Loomwise", slug="loomwise")
    admin = MembershipFactory(organization=vendor, role=Role.ADMIN).user
    listing = ListingFactory(
        vendor=vendor,
        name="Weave Eye",
        tagline="Spots weaving faults before the roll is cut",
    )
    plans.metric_create(
        actor=admin, listing=listing, code="inspections", name="Inspections", unit="inspections"
    )
    plans.metric_create(
        actor=admin,
        listing=listing,
        code="defects",
        name="Defects caught",
        unit="defects",
        kind=Metric.Kind.OUTCOME,
    )
    standard = plans.plan_create(
        actor=admin,
        listing=listing,
        name="Standard",
        description="One loom line, camera and edge box included.",
        terms=PlanTerms(
            trial_days=14,
            recurring_amount=Decimal("499.00"),
            payment_terms_days=30,
            metered=(
                MeteredTerms(
                    metric="inspections",
                    unit_price=Decimal("0.02"),
                    included_units=Decimal(1000),
                ),
            ),
            outcomes=(
                OutcomeTerms(metric="defects", unit_price=Decimal("1.50"), cap=Decimal(800)),
            ),
        ),
    )
    plant_wide = plans.plan_create(
        actor=admin,
        listing=listing,
        name="Plant-wide",
        description="Every line of the plant, billed once a year.",
        terms=PlanTerms(
            recurring_amount=Decimal(4990),
            recurring_interval="year",
            payment_terms_days=30,
            metered=(
                MeteredTerms(
                    metric="inspections",
                    model="graduated",
                    tiers=(
                        TierTerms(up_to=Decimal(100000), unit_price=Decimal("0.01")),
                        TierTerms(up_to=None, unit_price=Decimal("0.005")),
                    ),
                ),
            ),
        ),
    )
    for plan in (standard, plant_wide):
        plans.plan_set_offered(actor=admin, plan=plan, offered=True)
    return listing


@pytest.fixture
def buyer_owner():
    buyer = OrganizationFactory(name="Huaxin Precision", slug="huaxin", time_zone="Asia/Shanghai")
    return MembershipFactory(organization=buyer, role=Role.OWNER).user


def as_if_started_days_ago(subscription_id: int, days: int) -> None:
    """Move a trial that just started back in time, as if the buyer had started it `days` ago,
    so that the chart has several days to show. Every date moves together."""
    shift = days * DAY
    subscription = Subscription.objects.get(pk=subscription_id)
    for field in ("started_at", "trial_ends_at", "current_period_start", "current_period_end"):
        setattr(subscription, field, getattr(subscription, field) - shift)
    subscription.save()


def push_telemetry(base_url: str, key: str, events: list[dict]) -> dict:
    """What the buyer's industrial platform does: POST a batch with the installation key."""
    request = urllib.request.Request(  # noqa: S310 - the live server's own http:// address
        base_url + "/api/v1/telemetry/events",
        data=json.dumps({"events": events}).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 202
        return json.load(response)


def test_buyer_starts_a_trial_installs_and_sees_usage(
    live_server, page, shoot, weave_eye, buyer_owner
):
    sign_in(page, live_server, buyer_owner)

    # The listing's pricing, in words.
    page.goto(f"{live_server.url}/catalog/{weave_eye.slug}/#pricing")
    standard = page.get_by_test_id("plan").filter(has_text="Standard")
    for words in (
        "14 days free",
        "No card needed",
        "499.00 CNY a month, billed in advance",
        "0.02 CNY per unit after the first 1,000 inspections",
        "1.50 CNY per outcome (defects)",
        "At most 800.00 CNY per period.",
        "Pay within 30 days of the invoice",
    ):
        expect(standard).to_contain_text(words)
    plant_wide = page.get_by_test_id("plan").filter(has_text="Plant-wide")
    expect(plant_wide).to_contain_text("4,990.00 CNY a year")
    expect(plant_wide.get_by_role("table")).to_contain_text("Over 100,000")
    expect(plant_wide.get_by_role("button", name="Subscribe")).to_be_visible()
    shoot("01-listing-pricing")

    # Start the trial: no card, one click.
    standard.get_by_role("button", name="Start free trial").click()
    expect(page).to_have_url(re.compile(r"/subscriptions/\d+/$"))
    expect(page.get_by_role("status").first).to_contain_text("Your trial of Weave Eye has started")
    expect(page.get_by_test_id("status")).to_have_text("Trial · 14 days left")
    subscription_url = page.url
    subscription_id = int(re.search(r"/subscriptions/(\d+)/$", page.url).group(1))

    # Register an installation: its key is shown once, with a copy button.
    page.get_by_role("link", name="Register an installation").click()
    page.get_by_label("Name").fill("Plant 1, line 3")
    page.get_by_label("Line").check()
    page.get_by_role("button", name="Register and show the key").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("The key of Plant 1, line 3")
    key_field = page.get_by_test_id("installation-key")
    key = key_field.input_value()
    assert re.fullmatch(r"prc_[a-z0-9]{8}_[\w-]{43}", key)
    expect(key_field).to_have_attribute("readonly", "")
    expect(page.get_by_test_id("curl-example")).to_contain_text(f"Authorization: Bearer {key}")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy key").click()
    expect(page.get_by_test_id("copy-status")).to_have_text("Key copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == key
    key_url = page.url
    shoot("02-key")

    # The key is never shown again, not even at the same address.
    page.get_by_role("link", name="Done: back to the subscription").click()
    expect(page.locator("main")).not_to_contain_text(key)
    page.goto(key_url)
    expect(page).to_have_url(subscription_url + "#installations")
    expect(page.locator(".messages")).to_contain_text("A key is shown only once")
    expect(page.locator("main")).not_to_contain_text(key)

    # The buyer's platform pushes telemetry of the trial's days with that key.
    as_if_started_days_ago(subscription_id, 3)
    now = timezone.now()

    def at(days_ago: int, n: int) -> str:
        # Seconds apart; on the first day after the moment the trial started, today before now.
        step = timedelta(seconds=n + 1)
        return (now - days_ago * DAY + (step if days_ago else -step)).isoformat()

    per_day = {0: [120, 80, 95], 1: [310, 200], 2: [150, 150, 150, 40], 3: [60]}
    events = [
        {
            "id": f"line-3-{days_ago}-{n}",
            "metric": "inspections",
            "value": value,
            "timestamp": at(days_ago, n),
            "properties": {"camera": f"cam-{n}"},
        }
        for days_ago, values in per_day.items()
        for n, value in enumerate(values)
    ]
    events += [
        {"id": "defects-1", "metric": "defects", "value": "7", "timestamp": at(0, 9)},
        {"id": "defects-2", "metric": "defects", "value": "5", "timestamp": at(1, 9)},
    ]
    answer = push_telemetry(live_server.url, key, events)
    assert answer == {"accepted": len(events), "duplicates": 0, "rejected": []}
    inspections = sum(sum(values) for values in per_day.values())
    assert inspections == 1355

    # The subscription page: the installation has been used, and the trial's would-be bill.
    page.goto(subscription_url)
    expect(page.get_by_test_id("status")).to_have_text("Trial · 11 days left")
    installation = page.get_by_test_id("installation")
    expect(installation).to_contain_text("Plant 1, line 3")
    expect(installation).to_contain_text(key[:13])
    expect(installation).not_to_contain_text("Never")
    # 499.00 + (1,355 - 1,000) x 0.02 + 12 defects x 1.50 = 499.00 + 7.10 + 18.00
    expect(page.get_by_test_id("would-have-paid-total")).to_have_text("524.10\u00a0CNY")
    shoot("03-subscription")

    # The usage page: totals of the period and a bar per day.
    page.get_by_role("link", name="Usage", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Usage of Weave Eye")
    totals = page.get_by_test_id("usage-totals")
    expect(totals.locator("[data-metric=inspections]")).to_contain_text("1,355")
    expect(totals.locator("[data-metric=defects]")).to_contain_text("12")
    chart = page.locator("[data-testid=usage-chart][data-metric=inspections]")
    expect(chart.locator("svg[role=img]")).to_have_attribute(
        "aria-label", re.compile(r"the highest was 510 inspections")
    )
    expect(chart.locator("rect.usage-chart__bar")).to_have_count(4)  # the days so far
    chart.get_by_text("Show the numbers").click()
    numbers = chart.get_by_role("table")
    for value in ("295", "510", "490", "60"):
        expect(numbers).to_contain_text(value)
    shoot("04-usage")

    # The account menu lists the organization's subscriptions.
    open_menu(page)
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Subscriptions").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Subscriptions")
    listed = page.get_by_test_id("subscription")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text("Weave Eye")
    expect(listed.get_by_test_id("status")).to_have_text("Trial · 11 days left")
    shoot("05-subscriptions")

    # Revoking the key, after a confirmation, stops the platform's telemetry.
    listed.get_by_role("link", name="Weave Eye").click()
    page.get_by_test_id("installation").get_by_role("link", name="Revoke").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Revoke the key of Plant 1, line 3?")
    shoot("06-revoke")
    page.get_by_role("button", name="Revoke key").click()
    expect(page.locator(".messages")).to_contain_text("The key of Plant 1, line 3 is revoked")
    expect(page.get_by_test_id("installation")).to_contain_text("Revoked")
    with pytest.raises(urllib.error.HTTPError) as refused:
        push_telemetry(live_server.url, key, [{**events[0], "id": "after-revoke"}])
    refused.value.close()
    assert refused.value.code == 401
