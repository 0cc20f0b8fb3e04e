"""The catalog's cached body changes as soon as the public catalog does."""

import pytest
from django.contrib import messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test.utils import CaptureQueriesContext

from marketplace.catalog import services
from tests.factories import ListingFactory

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


def test_a_visitor_without_a_session_gets_the_whole_page_from_the_cache(client, vendor):
    ListingFactory(vendor=vendor, name="Parts Counter")
    first = client.get("/catalog/?q=counter")
    with CaptureQueriesContext(connection) as queries:
        again = client.get("/catalog/?q=counter")
    assert len(queries) == 0
    assert again.content == first.content
    assert "Parts Counter" in again.content.decode()
    assert "Cookie" in again["Vary"]


def test_signed_in_people_never_get_the_anonymous_page_nor_give_theirs(
    client, vendor, buyer_member
):
    ListingFactory(vendor=vendor, name="Parts Counter")
    anonymous = client.get("/catalog/").content.decode()
    client.force_login(buyer_member)
    signed_in = client.get("/catalog/").content.decode()
    assert buyer_member.email not in anonymous
    assert buyer_member.email in signed_in
    assert "csrfmiddlewaretoken" in signed_in  # the sign-out form
    client.logout()
    assert buyer_member.email not in client.get("/catalog/").content.decode()


def test_a_pending_message_is_shown_not_cached_away(client, vendor):
    ListingFactory(vendor=vendor, name="Parts Counter")
    client.get("/catalog/")  # cache the anonymous page
    storage = CookieStorage(HttpRequest())
    storage.add(messages.SUCCESS, "You have signed out.")
    response = HttpResponse()
    storage.update(response)
    client.cookies["messages"] = response.cookies["messages"].value
    assert "You have signed out." in client.get("/catalog/").content.decode()
