"""The catalog's cached body changes as soon as the public catalog does."""

import pytest

from marketplace.catalog import services

pytestmark = pytest.mark.django_db


def _names(client, url="/catalog/?q=counter"):
    return client.get(url).content.decode()


def test_an_approved_listing_shows_at_once_despite_the_cache(
    client, vendor, vendor_admin, staff, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        listing = services.listing_create(
            actor=vendor_admin,
            vendor=vendor,
            name="Parts Counter",
            tagline="Counts parts",
            description="Counts parts.",
        )
        services.listing_submit(actor=vendor_admin, listing=listing)
    assert "Parts Counter" not in _names(client)
    assert "Parts Counter" not in _names(client)  # now served from the cache
    with django_capture_on_commit_callbacks(execute=True):
        services.listing_approve(actor=staff, listing=listing)
    assert "Parts Counter" in _names(client)
    with django_capture_on_commit_callbacks(execute=True):
        services.listing_suspend(actor=staff, listing=listing, reason="Complaint")
    assert "Parts Counter" not in _names(client)


def test_each_language_and_page_has_its_own_cached_body(client, vendor, vendor_admin):
    english = client.get("/catalog/").content.decode()
    chinese = client.get("/zh-hans/catalog/").content.decode()
    assert "产品目录" in chinese
    assert "产品目录" not in english
