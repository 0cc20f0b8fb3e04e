"""The catalog in the Django admin: status and history are read-only there."""

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.urls import reverse

from marketplace.catalog.models import Listing, ModerationEvent
from tests.factories import UserFactory

from .conftest import make_listing

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(db):
    user = UserFactory(is_staff=True, is_superuser=True)
    TOTP.activate(user, generate_totp_secret())
    return user


def test_catalog_pages_open_in_the_admin(client, superuser, vendor, vendor_user):
    listing = make_listing(vendor_user, vendor)
    client.force_login(superuser)
    for model in ("term", "listing", "listingversion", "review", "moderationevent"):
        url = reverse(f"admin:catalog_{model}_changelist")
        assert client.get(url).status_code == 200, model
    page = client.get(reverse("admin:catalog_listing_change", args=[listing.pk])).content.decode()
    assert 'name="name"' in page
    assert 'name="status"' not in page  # changed on the moderation pages only


def test_status_cannot_be_changed_in_the_admin(client, superuser, vendor, vendor_user):
    listing = make_listing(vendor_user, vendor)
    client.force_login(superuser)
    url = reverse("admin:catalog_listing_change", args=[listing.pk])
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(
        {
            "name": "Renamed by support",
            "status": "published",
            "terms": [],
            "components": [],
            "works_offline": "",
        }
    )
    for prefix in ("kpi_claims", "versions", "moderation"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    listing.refresh_from_db()
    assert listing.name == "Renamed by support"
    assert listing.status == Listing.Status.DRAFT
    assert "renamed by support" in listing.search_document


def test_moderation_history_is_read_only(client, superuser, vendor, vendor_user):
    listing = make_listing(vendor_user, vendor)
    event = ModerationEvent.objects.get(listing=listing)
    client.force_login(superuser)
    assert client.get(reverse("admin:catalog_moderationevent_add")).status_code == 403
    change = client.get(reverse("admin:catalog_moderationevent_change", args=[event.pk]))
    assert change.status_code == 200  # viewable
    assert b'name="reason"' not in change.content
    delete = reverse("admin:catalog_moderationevent_delete", args=[event.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert ModerationEvent.objects.filter(pk=event.pk).exists()
    assert client.get(reverse("admin:catalog_listing_add")).status_code == 403
