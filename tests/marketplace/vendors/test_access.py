"""Nothing of one vendor is reachable by another: 404 on every page, and nothing changes."""

import pytest
from django.urls import reverse

from marketplace.catalog import services
from marketplace.catalog.models import Listing

from .conftest import listing_data, png_upload

pytestmark = pytest.mark.django_db


def test_another_vendor_gets_404_everywhere_and_changes_nothing(
    client, vendor_owner, rival_owner, draft
):
    image = services.image_add(actor=vendor_owner, listing=draft, upload=png_upload())
    slug = draft.slug
    client.force_login(rival_owner)
    for name in ("listing_edit", "listing_versions", "listing_media"):
        url = reverse(f"vendors:{name}", args=[slug])
        assert client.get(url).status_code == 404, name
    posts = {
        "listing_edit": listing_data(name="Hijacked"),
        "listing_versions": {"version": "6.6.6"},
        "listing_media": {"image": png_upload()},
        "listing_submit": {},
        "listing_archive": {},
    }
    for name, data in posts.items():
        assert client.post(reverse(f"vendors:{name}", args=[slug]), data).status_code == 404, name
    remove = reverse("vendors:listing_image_remove", args=[slug, image.pk])
    assert client.post(remove).status_code == 404

    draft.refresh_from_db()
    assert draft.name == "Lumen Count"
    assert draft.status == Listing.Status.DRAFT
    assert not draft.versions.exists()
    assert list(draft.images.all()) == [image]


def test_anonymous_visitors_are_asked_to_sign_in_on_listing_pages(client, draft):
    response = client.get(reverse("vendors:listing_edit", args=[draft.slug]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_submit_and_archive_only_take_post(client, vendor_owner, draft):
    client.force_login(vendor_owner)
    assert client.get(reverse("vendors:listing_submit", args=[draft.slug])).status_code == 405
    assert client.get(reverse("vendors:listing_archive", args=[draft.slug])).status_code == 405
