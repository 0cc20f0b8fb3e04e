"""One search over CMS pages (in the language read) and the catalog, grouped and paginated."""

import pytest

from tests.factories import ListingFactory, VendorFactory

pytestmark = pytest.mark.django_db


def group(html: str, testid: str) -> str:
    start = html.index(f'data-testid="{testid}"')
    return html[start : html.index("</section>", start)]


def test_search_finds_a_guide_and_a_listing(client, cms_content):
    html = client.get("/search/", {"q": "inspect"}).content.decode()
    pages = group(html, "search-pages")
    listings = group(html, "search-listings")
    assert "Tiangong Fabric Inspect" in listings
    assert "Lumen Inspect" in listings

    html = client.get("/search/", {"q": "edge software"}).content.decode()
    pages = group(html, "search-pages")
    assert 'href="/guides/choosing-edge-software/"' in pages
    assert "Choosing edge software for a small plant" in pages


def test_search_in_chinese_finds_the_chinese_pages_only(client, cms_content):
    html = client.get("/zh-hans/search/", {"q": "OPC"}).content.decode()
    pages = group(html, "search-pages")
    assert 'href="/zh-hans/guides/choosing-edge-software/"' in pages
    assert 'href="/guides/choosing-edge-software/"' not in pages


def test_search_without_a_query_shows_only_the_form(client, cms_content):
    html = client.get("/search/").content.decode()
    assert 'name="q"' in html
    assert 'data-testid="search-pages"' not in html


def test_search_results_are_paginated_per_group(client, cms_content):
    vendor = VendorFactory()
    for n in range(13):
        ListingFactory(vendor=vendor, name=f"Spindle Probe {n}")
    first = group(client.get("/search/", {"q": "spindle"}).content.decode(), "search-listings")
    assert "13 listings" in first
    assert first.count('class="listing-card"') == 10
    assert 'href="?q=spindle&amp;listings_page=2"' in first
    second = client.get("/search/", {"q": "spindle", "listings_page": 2}).content.decode()
    assert group(second, "search-listings").count('class="listing-card"') == 3
