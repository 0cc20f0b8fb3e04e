import re

import pytest
from django.urls import reverse

from marketplace.catalog.models import Listing
from marketplace.catalog.selectors import FOOTPRINT_RANGES, SORTS
from marketplace.storefront.forms import DEPLOY_CHOICES, RAM_CHOICES, SORT_CHOICES
from tests.factories import ListingFactory, term

pytestmark = pytest.mark.django_db

CATALOG = "/catalog/"


def result_names(html: str) -> list[str]:
    return re.findall(r'class="listing-card__name">\s*<a href="[^"]+">([^<]+)</a>', html)


def facet_count(html: str, kind: str, slug: str) -> int | None:
    match = re.search(
        rf'name="{kind}"\s+value="{slug}".*?class="facet__count">\s*(\d+)', html, re.DOTALL
    )
    return int(match.group(1)) if match else None


@pytest.fixture
def catalog(vendor):
    textiles, electronics = term("industry", "textiles"), term("industry", "electronics")
    visual, energy, oee = (
        term("scenario", "visual-quality-inspection"),
        term("scenario", "energy-management"),
        term("scenario", "oee-monitoring"),
    )
    ListingFactory(vendor=vendor, name="Loom Vision", description="A camera over the loom.",
                   terms=[textiles, visual])  # fmt: skip
    ListingFactory(vendor=vendor, name="Board Vision", description="A camera over the board.",
                   terms=[electronics, visual])  # fmt: skip
    ListingFactory(vendor=vendor, name="Dye Meter", description="Meters the dye house.",
                   terms=[textiles, energy])  # fmt: skip
    ListingFactory(vendor=vendor, name="Fabric Counter", description="A camera counts rolls.",
                   terms=[textiles, oee])  # fmt: skip
    ListingFactory(vendor=vendor, name="Hidden Camera Draft", description="A camera.",
                   status=Listing.Status.DRAFT, terms=[textiles, visual])  # fmt: skip


def test_keyword_and_two_facets_narrow_the_results(client, catalog):
    html = client.get(
        CATALOG, {"q": "camera", "industry": "textiles", "scenario": "visual-quality-inspection"}
    ).content.decode()
    assert result_names(html) == ["Loom Vision"]
    assert "1 result" in html


def test_facet_counts_offer_the_other_values_of_a_chosen_facet(client, catalog):
    html = client.get(
        CATALOG, {"q": "camera", "industry": "textiles", "scenario": "visual-quality-inspection"}
    ).content.decode()
    # Industry is counted under the keyword and the scenario: one textiles, one electronics.
    assert facet_count(html, "industry", "textiles") == 1
    assert facet_count(html, "industry", "electronics") == 1
    # Scenario is counted under the keyword and the industry: visual inspection and OEE.
    assert facet_count(html, "scenario", "visual-quality-inspection") == 1
    assert facet_count(html, "scenario", "oee-monitoring") == 1
    # Energy management has no camera listing: not offered.
    assert facet_count(html, "scenario", "energy-management") is None
    assert re.search(r'name="industry"\s+value="textiles"[^>]*checked', html)


def test_values_of_one_facet_are_alternatives(client, catalog):
    response = client.get(CATALOG + "?q=camera&industry=textiles&industry=electronics")
    assert sorted(result_names(response.content.decode())) == [
        "Board Vision",
        "Fabric Counter",
        "Loom Vision",
    ]


def test_counts_without_filters_cover_the_published_catalog(client, catalog):
    html = client.get(CATALOG).content.decode()
    assert "4 results" in html
    assert "Hidden Camera Draft" not in html
    assert facet_count(html, "industry", "textiles") == 3


def test_footprint_and_kind_filters(client, vendor):
    ListingFactory(vendor=vendor, name="Quick Light", deploy_minutes=10, min_ram_mb=256,
                   works_offline=True)  # fmt: skip
    ListingFactory(vendor=vendor, name="Slow Heavy", deploy_minutes=300, min_ram_mb=4096)
    ListingFactory(vendor=vendor, name="Open Driver", kind=Listing.Kind.COMPONENT,
                   deploy_minutes=5, min_ram_mb=128)  # fmt: skip
    assert sorted(result_names(client.get(CATALOG + "?deploy=15").content.decode())) == [
        "Open Driver",
        "Quick Light",
    ]
    assert result_names(client.get(CATALOG + "?ram=512&offline=1").content.decode()) == [
        "Quick Light"
    ]
    assert result_names(client.get(CATALOG + "?kind=component").content.decode()) == ["Open Driver"]


def test_sorting_by_name(client, vendor):
    for name in ["Beta", "Alpha", "Gamma"]:
        ListingFactory(vendor=vendor, name=name)
    html = client.get(CATALOG + "?sort=name").content.decode()
    assert result_names(html) == ["Alpha", "Beta", "Gamma"]


@pytest.mark.parametrize(
    "query",
    [
        "page=abc",
        "page=-1",
        "page=0",
        "page=99999",
        "page=1e9",
        "sort=drop%20table",
        "kind=alien",
        "deploy=5",
        "ram=lots",
        "offline=maybe",
        "industry=no-such-industry",
        "industry=" + "a" * 600,
        "protocol=opc-ua&protocol=opc-ua&protocol=%00",
        "q=" + "x" * 5000,
        "q=%00%00",
        "q=%F0%9F%98%80+%E4%B8%AD%E6%96%87+%C3%BC",
        "q=%25%27%22%3Cscript%3E",
        "industry[]=textiles&scenario=%FF",
        "&".join(f"industry=i{n}" for n in range(200)),
    ],
)
def test_invalid_parameters_are_ignored_not_an_error(client, catalog, query):
    response = client.get(f"{CATALOG}?{query}")
    assert response.status_code == 200


def test_unknown_facet_values_are_ignored(client, catalog):
    html = client.get(CATALOG + "?industry=no-such-industry&sort=bogus").content.decode()
    assert "4 results" in html


def test_no_match_shows_an_empty_state_with_a_clear_filters_link(client, catalog):
    response = client.get(CATALOG + "?q=camera&industry=textiles&scenario=energy-management")
    html = response.content.decode()
    assert response.status_code == 200
    assert "empty-state" in html
    assert "Clear filters" in html
    assert 'href="/catalog/?q=camera"' in html  # clearing keeps the search text


def test_pagination_keeps_the_other_parameters(client, vendor):
    textiles = term("industry", "textiles")
    for n in range(26):
        ListingFactory(vendor=vendor, name=f"Loom {n:02}", terms=[textiles])
    html = client.get(CATALOG + "?industry=textiles&sort=name&bogus=1").content.decode()
    assert len(result_names(html)) == 24
    assert "26 results" in html
    next_link = re.search(r'rel="next"\s+href="([^"]+)"', html).group(1)
    assert next_link == "?industry=textiles&amp;sort=name&amp;page=2"
    second = client.get(CATALOG + "?industry=textiles&sort=name&page=2").content.decode()
    assert result_names(second) == ["Loom 24", "Loom 25"]


def test_cards_show_vendor_footprint_and_compare_checkbox(client, vendor):
    ListingFactory(vendor=vendor, name="Quick Light", deploy_minutes=15, min_ram_mb=512,
                   works_offline=True, terms=[term("pricing", "free-trial")])  # fmt: skip
    html = client.get(CATALOG).content.decode()
    for text in ["Lumen Edge", "Deploys in 15 min", "512 MB RAM", "Offline", "Free trial"]:
        assert text in html
    assert re.search(r'name="slugs"\s+value="quick-light"\s+form="compare-form"', html)
    assert f'action="{reverse("storefront:compare")}"' in html


def test_catalog_page_seo_tags(client, catalog):
    html = client.get(CATALOG + "?industry=textiles&page=1").content.decode()
    assert '<link rel="canonical" href="http://testserver/catalog/">' in html
    assert '<meta property="og:url" content="http://testserver/catalog/">' in html
    assert 'property="og:title"' in html
    assert 'property="og:description"' in html


def test_catalog_in_chinese(client, catalog):
    html = client.get("/zh-hans/catalog/").content.decode()
    assert '<html lang="zh-hans"' in html
    assert "纺织服装" in html  # the textiles facet value, in Chinese


def test_filter_choices_match_the_catalog_ranges():
    assert {key for key, _label in DEPLOY_CHOICES} == set(FOOTPRINT_RANGES["deploy"])
    assert {key for key, _label in RAM_CHOICES} == set(FOOTPRINT_RANGES["ram"])
    assert {key for key, _label in SORT_CHOICES} == set(SORTS)


def test_main_navigation_links_to_the_catalog_before_vendors(client):
    html = client.get(CATALOG).content.decode()
    nav = html[html.index('class="site-nav"') :]
    catalog_link = nav.index(f'href="{reverse("storefront:catalog")}"')
    vendors_link = nav.index(f'href="{reverse("vendors:dashboard")}"')
    assert catalog_link < vendors_link
