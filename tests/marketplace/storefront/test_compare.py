import re

import pytest

from marketplace.catalog.models import Listing
from tests.factories import KpiClaimFactory, ListingFactory, term

pytestmark = pytest.mark.django_db

COMPARE = "/catalog/compare/"


def column_names(html: str) -> list[str]:
    return re.findall(r'class="compare-head__name"\s+href="[^"]+">([^<]+)</a>', html)


@pytest.fixture
def listings(vendor):
    names = ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]
    return {
        name: ListingFactory(vendor=vendor, name=name, terms=[term("protocol", "mqtt")])
        for name in names
    }


def test_compare_keeps_the_order_asked_and_caps_at_four(client, listings):
    query = "&".join(f"slugs={s}" for s in ["delta", "alpha", "echo", "alpha", "bravo", "charlie"])
    html = client.get(f"{COMPARE}?{query}").content.decode()
    assert column_names(html) == ["Delta", "Alpha", "Echo", "Bravo"]
    assert "Only the first 4 listings you chose fit side by side." in html


def test_compare_rows_and_remove_links(client, listings):
    KpiClaimFactory(listing=listings["Alpha"], value="-20%", label="Scrap")
    html = client.get(f"{COMPARE}?slugs=alpha&slugs=bravo&slugs=charlie").content.decode()
    rows = ["Vendor", "Kind", "Tagline", "Rating", "Time to deploy", "Minimum RAM", "CPU cores",
            "Works offline", "Edge hardware", "Industry", "Scenario", "Deployment", "Protocol",
            "Pricing model", "Licence", "Results claimed"]  # fmt: skip
    for row in rows:
        assert f'<th scope="row">{row}</th>' in html
    assert "MQTT" in html
    assert "-20%" in html
    # Removing Bravo keeps the others, in order.
    assert 'href="/catalog/compare/?slugs=alpha&amp;slugs=charlie"' in html


def test_fewer_than_two_listings_show_an_empty_state(client, listings):
    html = client.get(f"{COMPARE}?slugs=alpha").content.decode()
    assert "Choose at least two listings" in html
    assert "compare-table" not in html
    assert "Choose at least two listings" in client.get(COMPARE).content.decode()


def test_unpublished_and_unknown_slugs_are_left_out(client, listings, vendor):
    ListingFactory(vendor=vendor, name="Secret", status=Listing.Status.DRAFT)
    html = client.get(f"{COMPARE}?slugs=secret&slugs=alpha&slugs=nope&slugs=bravo").content.decode()
    assert column_names(html) == ["Alpha", "Bravo"]


def test_compare_seo_tags(client, listings):
    html = client.get(f"{COMPARE}?slugs=alpha&slugs=bravo&utm=1").content.decode()
    canonical = "http://testserver/catalog/compare/?slugs=alpha&amp;slugs=bravo"
    assert f'<link rel="canonical" href="{canonical}">' in html
    assert "Compare Alpha · Bravo" in html
    assert 'property="og:title"' in html
