import re

import pytest
from django.contrib.sitemaps.views import sitemap
from django.contrib.sites.models import Site
from django.test import RequestFactory

from marketplace.catalog.models import Listing
from marketplace.storefront.sitemaps import ListingSitemap
from tests.factories import ListingFactory

pytestmark = pytest.mark.django_db


def test_sitemap_lists_published_listings_in_both_languages(vendor):
    ListingFactory(vendor=vendor, name="Loom Vision")
    ListingFactory(vendor=vendor, name="Quiet Draft", status=Listing.Status.DRAFT)
    response = sitemap(RequestFactory().get("/sitemap.xml"), sitemaps={"listings": ListingSitemap})
    xml = response.render().content.decode()
    site = f"http://{Site.objects.get_current().domain}"
    locations = re.findall(r"<loc>([^<]+)</loc>", xml)
    assert locations == [
        f"{site}/catalog/loom-vision/",
        f"{site}/zh-hans/catalog/loom-vision/",
    ]
    assert f'hreflang="zh-hans" href="{site}/zh-hans/catalog/loom-vision/"' in xml
    assert 'hreflang="x-default"' in xml
    assert "<lastmod>" in xml
    assert "quiet-draft" not in xml


def test_the_site_sitemap_has_cms_pages_and_listings(client, vendor):
    ListingFactory(vendor=vendor, name="Loom Vision")
    xml = client.get("/sitemap.xml").content.decode()
    assert "/catalog/loom-vision/" in xml
    assert "<loc>http://localhost/</loc>" in xml  # the home page, served by Wagtail
