import re

import pytest
from django.urls import reverse

from marketplace.catalog.models import Listing
from tests.factories import (
    KpiClaimFactory,
    ListingFactory,
    ListingImageFactory,
    ListingVersionFactory,
    UserFactory,
    term,
)

pytestmark = pytest.mark.django_db

BANNER = "Preview: this listing is not public (status: Draft)."


@pytest.fixture
def draft(vendor):
    return ListingFactory(vendor=vendor, name="Quiet Draft", status=Listing.Status.DRAFT)


@pytest.fixture
def listing(vendor):
    listing = ListingFactory(
        vendor=vendor,
        name="Loom Vision",
        tagline="Finds weaving defects with one camera",
        description="## What it does\n\nWatches the **loom**.",
        cpu_cores="1.5",
        edge_hardware="Raspberry Pi 4",
        terms=[term("industry", "textiles"), term("protocol", "opc-ua")],
    )
    ListingImageFactory(listing=listing, caption="Defect map")
    ListingVersionFactory(listing=listing, version="2.1.0", changelog="- **Faster** start-up")
    KpiClaimFactory(listing=listing, label="Defect escapes", value="-38%")
    return listing


def test_draft_is_404_for_the_public(client, draft):
    assert client.get(f"/catalog/{draft.slug}/").status_code == 404


def test_draft_is_404_for_a_signed_in_outsider(client, draft, buyer_member):
    client.force_login(buyer_member)
    assert client.get(f"/catalog/{draft.slug}/").status_code == 404


def test_draft_is_previewed_by_a_vendor_member(client, draft, vendor_admin):
    client.force_login(vendor_admin)
    response = client.get(f"/catalog/{draft.slug}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert BANNER in html
    assert '<meta name="robots" content="noindex">' in html


def test_draft_is_previewed_by_staff(client, draft, staff):
    client.force_login(staff)
    response = client.get(f"/catalog/{draft.slug}/")
    assert response.status_code == 200
    assert BANNER in response.content.decode()


def test_published_listing_has_no_preview_banner(client, listing, vendor_admin):
    client.force_login(vendor_admin)
    html = client.get(f"/catalog/{listing.slug}/").content.decode()
    assert "Preview:" not in html
    assert "noindex" not in html


def test_listing_page_shows_what_a_buyer_needs(client, listing):
    html = client.get(f"/catalog/{listing.slug}/").content.decode()
    assert "<h1" in html
    assert "Loom Vision" in html
    assert "by Lumen Edge" in html
    assert "<h3>What it does</h3>" in html  # markdown, headings demoted below the page's own
    assert "<strong>loom</strong>" in html
    assert "Raspberry Pi 4" in html
    assert "1.5" in html
    assert "-38%" in html
    assert 'href="https://example.com/case-study" rel="nofollow noopener"' in html
    assert "2.1.0" in html
    assert "<strong>Faster</strong>" in html
    sha = "0123456789abcdef" * 4
    assert f'<code class="sha" title="{sha}">0123456789ab…</code>' in html
    assert 'id="pricing"' in html
    assert "Pricing plans" in html
    assert "The vendor has not published plans yet." in html
    assert 'alt="Defect map"' in html
    # Taxonomy badges lead to the catalog filtered by that value.
    assert 'href="/catalog/?industry=textiles"' in html
    assert 'href="/catalog/?protocol=opc-ua"' in html


def test_listing_page_seo_tags(client, listing):
    html = client.get(f"/catalog/{listing.slug}/?utm_source=x").content.decode()
    url = f"http://testserver/catalog/{listing.slug}/"
    assert "<title>\n    Loom Vision · Lumen Edge · Precis\n</title>" in html
    assert 'content="Finds weaving defects with one camera"' in html
    assert f'<link rel="canonical" href="{url}">' in html
    assert f'<meta property="og:url" content="{url}">' in html
    assert '<meta property="og:title" content="Loom Vision">' in html
    image = listing.images.get().image.url
    assert f'<meta property="og:image" content="http://testserver{image}">' in html
    assert re.search(
        rf'hreflang="zh-hans"\s+href="http://testserver/zh-hans/catalog/{listing.slug}/"', html
    )


def test_components_and_the_solutions_using_them(client, vendor, listing):
    component = ListingFactory(vendor=vendor, name="Open Loom Driver", kind=Listing.Kind.COMPONENT,
                               repository_url="https://example.com/driver.git")  # fmt: skip
    hidden = ListingFactory(vendor=vendor, name="Draft Driver", kind=Listing.Kind.COMPONENT,
                            status=Listing.Status.DRAFT)  # fmt: skip
    listing.components.set([component, hidden])
    solution_page = client.get(f"/catalog/{listing.slug}/").content.decode()
    assert "Built on these components" in solution_page
    assert "Open Loom Driver" in solution_page
    assert "Draft Driver" not in solution_page
    component_page = client.get(f"/catalog/{component.slug}/").content.decode()
    assert "Used by these solutions" in component_page
    assert "Loom Vision" in component_page
    assert "Apache-2.0" in component_page
    assert 'href="https://example.com/driver.git" rel="nofollow noopener"' in component_page
    assert f'href="/community/components/{component.slug}/"' in component_page
    assert 'data-testid="community-link"' not in solution_page


def test_unknown_listing_is_404(client):
    assert client.get("/catalog/no-such-listing/").status_code == 404


def test_listing_page_in_chinese(client, listing):
    html = client.get(f"/zh-hans/catalog/{listing.slug}/").content.decode()
    assert '<html lang="zh-hans"' in html
    assert "纺织服装" in html
    assert re.search(r'href="/zh-hans/catalog/\?industry=textiles"', html)


def test_review_form_is_offered_to_buyer_members_only(client, listing, buyer_member, vendor_admin):
    action = reverse("storefront:review_create", args=[listing.slug])
    assert action not in client.get(f"/catalog/{listing.slug}/").content.decode()
    client.force_login(buyer_member)
    assert action in client.get(f"/catalog/{listing.slug}/").content.decode()
    client.force_login(vendor_admin)
    assert action not in client.get(f"/catalog/{listing.slug}/").content.decode()
    client.force_login(UserFactory())  # no organization at all
    assert action not in client.get(f"/catalog/{listing.slug}/").content.decode()
