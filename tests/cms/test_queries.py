"""CMS pages run the same number of SQL queries with few and with many items on them."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cms.models import CaseStudyListing, CaseStudyPage, GuideIndexPage, GuidePage, HomePage
from tests.factories import ListingFactory, ListingImageFactory, VendorFactory, term

pytestmark = pytest.mark.django_db


def count_queries(client, url: str, params=None) -> int:
    client.get(url, params)  # warm what is filled once per process (translations, site roots)
    cache.clear()  # ...but render anew, menus included
    client.get(url, params)  # the menus are cached across pages: count the page itself
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(queries)


def add_listings(count: int, *, prefix: str = "Probe") -> list:
    vendor = VendorFactory()
    listings = []
    for n in range(count):
        listing = ListingFactory(
            vendor=vendor,
            name=f"{prefix} {vendor.pk}-{n}",
            rating_average="4.00",
            rating_count=1,
            terms=[term("industry", "textiles")],
        )
        ListingImageFactory(listing=listing)
        listings.append(listing)
    return listings


def choose(page, listings) -> None:
    """Point the page's chosen-listings blocks at these listings, and publish."""
    raw = page.body.get_prep_value()
    for block in raw:
        if block["type"] == "featured_listings" and block["value"]["source"] == "chosen":
            block["value"]["listings"] = [listing.pk for listing in listings]
    page.body = raw
    page.save_revision().publish()


def add_chosen_block(page, listings) -> None:
    raw = page.body.get_prep_value()
    raw.append(
        {
            "type": "featured_listings",
            "value": {"eyebrow": "", "heading": "Picked", "source": "chosen",
                      "listings": [listing.pk for listing in listings]},
        }
    )  # fmt: skip
    page.body = raw
    page.save_revision().publish()


def test_the_home_page(client, cms_content):
    home = HomePage.objects.get(locale__language_code="en")
    choose(home, add_listings(1))
    few = count_queries(client, "/")
    choose(home, add_listings(10))
    add_chosen_block(HomePage.objects.get(pk=home.pk), add_listings(5))
    many = count_queries(client, "/")
    assert many == few


def test_a_guide(client, cms_content):
    guide = GuidePage.objects.get(locale__language_code="en", slug="paying-for-outcomes")
    add_chosen_block(guide, add_listings(1))
    few = count_queries(client, "/guides/paying-for-outcomes/")
    guide = GuidePage.objects.get(pk=guide.pk)
    add_chosen_block(guide, add_listings(8))
    many = count_queries(client, "/guides/paying-for-outcomes/")
    assert many == few


def test_a_case_study(client, cms_content):
    url = "/case-studies/huaxin-compressed-air/"
    page = CaseStudyPage.objects.get(locale__language_code="en", slug="huaxin-compressed-air")
    few = count_queries(client, url)
    for listing in add_listings(8):
        CaseStudyListing.objects.create(page=page, listing=listing)
    html = client.get(url).content.decode()
    assert html.count('class="listing-card"') == 10
    assert count_queries(client, url) == few


def test_an_index_page(client, cms_content):
    index = GuideIndexPage.objects.get(locale__language_code="en")
    few = count_queries(client, "/guides/")
    for n in range(15):
        index.add_child(instance=GuidePage(title=f"Guide {n}", slug=f"guide-{n}", intro="How to."))
    html = client.get("/guides/").content.decode()
    assert 'href="?page=2"' in html
    assert count_queries(client, "/guides/") == few


def test_the_search_page(client, cms_content):
    add_listings(1)
    index = GuideIndexPage.objects.get(locale__language_code="en")
    index.add_child(instance=GuidePage(title="Probe guide", slug="probe-0", intro="Probe."))
    few = count_queries(client, "/search/", {"q": "probe"})
    add_listings(9)
    for n in range(1, 9):
        index.add_child(instance=GuidePage(title=f"Probe guide {n}", slug=f"probe-{n}", intro="x"))
    html = client.get("/search/", {"q": "probe"}).content.decode()
    assert html.count('class="cms-result"') == 9
    assert count_queries(client, "/search/", {"q": "probe"}) == few
