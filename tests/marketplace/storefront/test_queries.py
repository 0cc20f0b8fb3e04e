"""Pages run a fixed number of SQL queries whatever the catalog's size."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import (
    MeteredCharge,
    Metric,
    OutcomeCharge,
    Plan,
    PlanVersion,
    PriceTier,
    UsageEvent,
)
from billing.services import installations, subscriptions
from marketplace.accounts.models import Role
from marketplace.catalog.models import Listing
from tests.factories import (
    KpiClaimFactory,
    ListingFactory,
    ListingImageFactory,
    ListingVersionFactory,
    MembershipFactory,
    OrganizationFactory,
    ReviewFactory,
    VendorFactory,
    term,
)

pytestmark = pytest.mark.django_db

TERMS = [("industry", "textiles"), ("scenario", "oee-monitoring"), ("pricing", "free-trial"),
         ("deployment", "edge"), ("protocol", "mqtt")]  # fmt: skip


def add_listings(count: int, featured: Listing) -> None:
    """Listings with terms and a screenshot each; every third is a component `featured` uses."""
    terms = [term(kind, slug) for kind, slug in TERMS]
    for _ in range(count):
        vendor = VendorFactory()
        kind = Listing.Kind.COMPONENT if Listing.objects.count() % 3 == 0 else "solution"
        listing = ListingFactory(vendor=vendor, kind=kind, terms=terms)
        ListingImageFactory(listing=listing)
        if kind == Listing.Kind.COMPONENT:
            featured.components.add(listing)
        ReviewFactory(listing=featured, organization=OrganizationFactory())


def count_queries(client, url: str) -> int:
    client.get(url)  # warm what is filled once per process (content types, translations)
    cache.clear()  # ...but render the page anew: a cached catalog page runs no query at all
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.fixture
def featured(vendor):
    listing = ListingFactory(
        vendor=vendor, name="Loom Vision", terms=[term("industry", "textiles")]
    )
    ListingImageFactory(listing=listing)
    ListingVersionFactory(listing=listing)
    KpiClaimFactory(listing=listing)
    return listing


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "buyer"])
@pytest.mark.parametrize(
    "url",
    [
        "/catalog/",
        "/catalog/?q=line&industry=textiles&scenario=oee-monitoring&deploy=60&sort=rating",
        "/catalog/loom-vision/",
        "/catalog/compare/?slugs=loom-vision&slugs=line-monitor-1&slugs=line-monitor-2",
    ],
)
def test_same_number_of_queries_with_10_and_60_listings(
    client, featured, buyer_member, signed_in, url
):
    if signed_in:
        client.force_login(buyer_member)
    add_listings(9, featured)
    with_10 = count_queries(client, url)
    add_listings(50, featured)
    assert Listing.objects.count() == 60
    assert count_queries(client, url) == with_10


# --- Pricing plans and a buyer's subscriptions ----------------------------------------------------


def add_plans(listing: Listing, count: int) -> list[Plan]:
    """Plans with a usage allowance, a tiered charge and an outcome charge each."""
    inspections, _ = Metric.objects.get_or_create(
        listing=listing, code="inspections", defaults={"name": "Inspections", "unit": "parts"}
    )
    defects, _ = Metric.objects.get_or_create(
        listing=listing,
        code="defects",
        defaults={"name": "Defects", "unit": "defects", "kind": Metric.Kind.OUTCOME},
    )
    plans = []
    for _ in range(count):
        plan = Plan.objects.create(listing=listing, name="Plan", is_published=True)
        PlanVersion.objects.create(plan=plan, number=1, recurring_amount=Decimal(100))
        version = PlanVersion.objects.create(
            plan=plan,
            number=2,
            trial_days=14,
            trial_allowance=Decimal(500),
            trial_allowance_metric=inspections,
            recurring_amount=Decimal(200),
        )
        charge = MeteredCharge.objects.create(
            version=version, metric=inspections, model=MeteredCharge.Model.GRADUATED
        )
        PriceTier.objects.create(charge=charge, up_to=Decimal(1000), unit_price=Decimal("0.02"))
        PriceTier.objects.create(charge=charge, up_to=None, unit_price=Decimal("0.01"))
        OutcomeCharge.objects.create(
            version=version, metric=defects, unit_price=Decimal(1), cap=Decimal(50)
        )
        plans.append(plan)
    return plans


@pytest.fixture
def buyer_owner(buyer):
    return MembershipFactory(organization=buyer, role=Role.OWNER).user


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "buyer"])
def test_listing_page_queries_do_not_grow_with_plans(
    client, featured, buyer, buyer_owner, signed_in
):
    if signed_in:
        client.force_login(buyer_owner)
    first = add_plans(featured, 1)
    subscriptions.subscription_start(actor=buyer_owner, buyer=buyer, plan=first[0])
    url = f"/catalog/{featured.slug}/"
    with_1 = count_queries(client, url)
    for plan in add_plans(featured, 5):
        subscriptions.subscription_start(actor=buyer_owner, buyer=buyer, plan=plan)
    assert count_queries(client, url) == with_1


def test_subscription_list_queries_do_not_grow(client, featured, buyer, buyer_owner):
    client.force_login(buyer_owner)
    for plan in add_plans(featured, 1):
        subscriptions.subscription_start(actor=buyer_owner, buyer=buyer, plan=plan)
    with_1 = count_queries(client, "/subscriptions/")
    for plan in add_plans(featured, 8):
        subscriptions.subscription_start(actor=buyer_owner, buyer=buyer, plan=plan)
    assert count_queries(client, "/subscriptions/") == with_1


def add_installations(subscription, actor, count: int) -> None:
    for n in range(count):
        issued = installations.installation_create(
            actor=actor, subscription=subscription, name=f"Line {n}", kind="line"
        )
        installations.installation_key_rotate(actor=actor, installation=issued.installation)


@pytest.mark.parametrize("subpage", ["", "usage/"])
def test_subscription_pages_queries_do_not_grow(client, featured, buyer, buyer_owner, subpage):
    client.force_login(buyer_owner)
    (plan,) = add_plans(featured, 1)
    subscription = subscriptions.subscription_start(actor=buyer_owner, buyer=buyer, plan=plan)
    add_installations(subscription, buyer_owner, 1)
    url = f"/subscriptions/{subscription.pk}/{subpage}"
    with_1 = count_queries(client, url)
    add_installations(subscription, buyer_owner, 8)
    installation = subscription.installations.first()
    start = subscription.current_period_start
    UsageEvent.objects.bulk_create(
        UsageEvent(
            installation=installation,
            subscription=subscription,
            metric=metric,
            client_id=f"{metric.code}-{n}",
            value=Decimal(n),
            occurred_at=start + timedelta(hours=n),
            received_at=start + timedelta(hours=n),
            content_hash=f"{n:032d}",
        )
        for metric in Metric.objects.filter(listing=featured)
        for n in range(5)
    )
    assert count_queries(client, url) == with_1
