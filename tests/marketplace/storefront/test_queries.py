"""Pages run a fixed number of SQL queries whatever the catalog's size."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from marketplace.catalog.models import Listing
from tests.factories import (
    KpiClaimFactory,
    ListingFactory,
    ListingImageFactory,
    ListingVersionFactory,
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
