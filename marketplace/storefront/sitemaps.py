"""The sitemap of published listings, in every language, with hreflang alternates."""

from django.contrib.sitemaps import Sitemap
from django.db.models import QuerySet
from django.urls import reverse

from marketplace.catalog.models import Listing
from marketplace.catalog.selectors import published_listings


class ListingSitemap(Sitemap):
    """One URL per published listing and language (/catalog/<slug>/, /zh-hans/catalog/<slug>/)."""

    i18n = True
    languages = ["en", "zh-hans"]
    alternates = True
    x_default = True
    changefreq = "weekly"

    def items(self) -> QuerySet[Listing]:
        return published_listings().only("slug", "updated_at").order_by("pk")

    def location(self, item: Listing) -> str:
        # Sitemap activates each language before calling this, so reverse() adds its prefix.
        return reverse("storefront:listing", args=[item.slug])

    def lastmod(self, item: Listing):
        return item.updated_at
