"""The public listings API and the vendor write API."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from marketplace.catalog.models import Listing
from tests.marketplace.catalog.conftest import bulk_published, make_listing, term

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(vendor, vendor_user, staff):
    energy = make_listing(
        vendor_user,
        vendor,
        "Voltwise Meter",
        tagline="Energy monitoring per machine",
        terms=[
            term("industry", "textiles"),
            term("scenario", "energy-management"),
            term("pricing", "outcome-based"),
        ],
        publish_by=staff,
    )
    vision = make_listing(
        vendor_user,
        vendor,
        "Lumen Inspect",
        tagline="Visual inspection with one camera",
        terms=[
            term("industry", "electronics"),
            term("scenario", "visual-quality-inspection"),
            term("pricing", "free-trial"),
        ],
        publish_by=staff,
    )
    draft = make_listing(vendor_user, vendor, "Secret Draft", terms=[term("industry", "textiles")])
    return energy, vision, draft


def _slugs(response):
    return [item["slug"] for item in response.json()["results"]]


def test_list_is_public_and_shows_published_listings_only(client, catalog):
    response = client.get("/api/v1/listings/")
    assert response.status_code == 200
    assert sorted(_slugs(response)) == ["lumen-inspect", "voltwise-meter"]


def test_filters_combine_keyword_and_facets(client, catalog):
    assert _slugs(client.get("/api/v1/listings/?q=energy")) == ["voltwise-meter"]
    both = "/api/v1/listings/?industry=textiles,electronics&pricing=free-trial"
    assert _slugs(client.get(both)) == ["lumen-inspect"]
    assert _slugs(client.get("/api/v1/listings/?scenario=energy-management&q=camera")) == []


def test_bad_filter_values_are_a_clear_400(client, catalog):
    response = client.get("/api/v1/listings/?kind=robot")
    assert response.status_code == 400
    assert "kind" in response.json()["error"]["fields"]


def test_detail_has_versions_claims_and_plans_but_drafts_are_404(client, catalog):
    energy, _, draft = catalog
    body = client.get(f"/api/v1/listings/{energy.slug}/").json()
    assert body["name"] == "Voltwise Meter"
    assert body["terms"]["industries"] == ["textiles"]
    assert body["plans"] == []
    assert "versions" in body
    assert client.get(f"/api/v1/listings/{draft.slug}/").status_code == 404


def test_vendor_api_creates_edits_versions_and_submits(client, vendor, vendor_user):
    token = Token.objects.create(user=vendor_user)
    auth = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    created = client.post(
        "/api/v1/vendor/listings/",
        {
            "vendor": vendor.slug,
            "name": "Lumen Label Check",
            "tagline": "Reads date codes",
            "description": "Checks labels.",
            "terms": ["industry:food-beverage", "protocol:opc-ua"],
            "kpi_claims": [{"label": "Mislabels", "value": "0"}],
        },
        content_type="application/json",
        **auth,
    )
    assert created.status_code == 201, created.json()
    slug = created.json()["slug"]
    assert created.json()["status"] == "draft"
    patched = client.patch(
        f"/api/v1/vendor/listings/{slug}/",
        {"min_ram_mb": 512},
        content_type="application/json",
        **auth,
    )
    assert patched.json()["min_ram_mb"] == 512
    version = client.post(
        f"/api/v1/vendor/listings/{slug}/versions/",
        {"version": "1.0.0"},
        content_type="application/json",
        **auth,
    )
    assert version.status_code == 201
    bad = client.post(
        f"/api/v1/vendor/listings/{slug}/versions/",
        {"version": "one"},
        content_type="application/json",
        **auth,
    )
    assert bad.status_code == 400
    assert "semantic version" in bad.json()["error"]["message"]
    submitted = client.post(f"/api/v1/vendor/listings/{slug}/submit/", **auth)
    assert submitted.json()["status"] == "in_review"


def test_another_vendor_gets_404_on_the_write_api(client, catalog, rival_vendor_user):
    _, _, draft = catalog
    token = Token.objects.create(user=rival_vendor_user)
    auth = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    base = f"/api/v1/vendor/listings/{draft.slug}/"
    assert client.get(base, **auth).status_code == 404
    assert (
        client.patch(base, {"name": "Mine"}, content_type="application/json", **auth).status_code
        == 404
    )
    assert client.post(base + "submit/", **auth).status_code == 404
    assert (
        client.post(
            base + "versions/", {"version": "9.9.9"}, content_type="application/json", **auth
        ).status_code
        == 404
    )
    assert client.get("/api/v1/vendor/listings/", **auth).json() == []
    created = client.post(
        "/api/v1/vendor/listings/",
        {"vendor": draft.vendor.slug, "name": "Mine", "tagline": "Mine"},
        content_type="application/json",
        **auth,
    )
    assert created.status_code == 404
    draft.refresh_from_db()
    assert (draft.name, draft.status, draft.versions.count()) == ("Secret Draft", "draft", 0)


def _queries(client, url: str) -> int:
    cache.clear()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    assert response.json()["count"] > 0
    return len(captured)


def test_list_api_runs_the_same_queries_for_10_and_1000_listings(client, vendor):
    bulk_published(vendor, 10)
    # A keyword and two facets that the first listing matches, so that both runs find some.
    first = Listing.objects.order_by("pk").prefetch_related("terms").first()
    industry = next(t.slug for t in first.terms.all() if t.kind == "industry")
    deployment = next(t.slug for t in first.terms.all() if t.kind == "deployment")
    url = (
        f"/api/v1/listings/?q={first.name.split()[0]}&industry={industry},electronics"
        f"&deployment={deployment},edge"
    )
    small = _queries(client, url)
    bulk_published(vendor, 990, start=10)
    assert Listing.objects.count() == 1000
    assert _queries(client, url) == small
