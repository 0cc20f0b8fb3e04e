import re

import pytest

from marketplace.catalog.models import Listing
from tests.factories import ListingFactory, VendorFactory, term

pytestmark = pytest.mark.django_db


def test_home_page_shows_featured_new_and_industries(client):
    vendor = VendorFactory(name="Lumen Edge")
    ListingFactory(vendor=vendor, name="Rated Vision", rating_average="4.50", rating_count=2,
                   terms=[term("industry", "textiles")])  # fmt: skip
    ListingFactory(vendor=vendor, name="Fresh Counter")
    ListingFactory(vendor=vendor, name="Hidden Draft", status=Listing.Status.DRAFT)
    html = client.get("/").content.decode()
    featured = html[html.index("Featured solutions") : html.index("New on Precis")]
    assert "Rated Vision" in featured
    assert "Fresh Counter" not in featured
    new = html[html.index("New on Precis") : html.index("Browse by industry")]
    assert "Fresh Counter" in new
    assert "Rated Vision" in new
    assert "Hidden Draft" not in html
    assert 'href="/catalog/?industry=textiles"' in html
    assert re.search(r"Textiles and apparel</span>\s*<span[^>]*>\s*1 listing\s*</span>", html)
    # The industries sit above the payment models.
    assert html.index("Browse by industry") < html.index("Pay the way that fits your plant")


def test_home_page_search_box_goes_to_the_catalog(client):
    html = client.get("/").content.decode()
    assert re.search(
        r'<form class="hero-search"\s+role="search"\s+method="get"\s+action="/catalog/"', html
    )
    assert 'name="q"' in html


def test_home_page_without_listings_hides_the_empty_sections(client):
    html = client.get("/").content.decode()
    assert "Featured solutions" not in html
    assert "New on Precis" not in html
    assert "Browse by industry" in html
