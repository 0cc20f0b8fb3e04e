"""The vendor portal's home: vendor organizations, their listings, and the way in for others."""

import pytest
from django.urls import reverse

from marketplace.accounts.models import Role
from marketplace.catalog import services
from marketplace.catalog.models import Listing
from tests.factories import MembershipFactory, OrganizationFactory

from .conftest import listing_data, with_mfa

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_are_asked_to_sign_in(client):
    response = client.get(reverse("vendors:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_people_without_a_vendor_organization_are_shown_how_to_start(client, user):
    MembershipFactory(user=user, role=Role.OWNER)  # a buyer organization only
    client.force_login(user)
    page = client.get(reverse("vendors:dashboard")).content.decode()
    assert "You do not sell on Precis yet" in page
    assert reverse("accounts:organization_create") in page


def test_vendors_see_their_profile_and_listings_with_actions(client, vendor, vendor_owner, draft):
    vendor.website = "https://lumen-edge.example"
    vendor.save()
    client.force_login(vendor_owner)
    page = client.get(reverse("vendors:dashboard")).content.decode()
    assert "Lumen Edge" in page
    assert "https://lumen-edge.example" in page
    assert "Not verified" in page
    assert reverse("vendors:verification_request", args=[vendor.slug]) in page
    assert "Lumen Count" in page
    assert "Draft" in page
    assert reverse("vendors:listing_edit", args=[draft.slug]) in page
    assert reverse("vendors:listing_submit", args=[draft.slug]) in page
    assert reverse("storefront:listing", args=[draft.slug]) in page
    assert f"{reverse('vendors:listing_create')}?organization=lumen-edge" in page


def test_published_listings_cannot_be_submitted_again(client, vendor_owner, in_review, staff):
    services.listing_approve(actor=staff, listing=in_review)
    client.force_login(vendor_owner)
    page = client.get(reverse("vendors:dashboard")).content.decode()
    assert "Published" in page
    assert reverse("vendors:listing_submit", args=[in_review.slug]) not in page


def test_other_vendors_listings_are_not_shown(client, rival_owner, draft):
    client.force_login(rival_owner)
    page = client.get(reverse("vendors:dashboard")).content.decode()
    assert "Rival Robotics" in page
    assert "Lumen Count" not in page


def test_a_buyer_only_organization_cannot_create_listings(client, user):
    buyer = OrganizationFactory(name="Huaxin Precision", is_buyer=True, is_vendor=False)
    MembershipFactory(user=user, organization=buyer, role=Role.OWNER)
    client.force_login(user)
    url = f"{reverse('vendors:listing_create')}?organization={buyer.slug}"
    response = client.get(url)
    assert response.status_code == 403
    assert "does not sell on Precis" in response.content.decode()
    assert client.post(url, listing_data()).status_code == 403
    assert not Listing.objects.exists()


def test_members_whose_role_cannot_publish_get_403(client, vendor, draft):
    member = with_mfa(MembershipFactory(organization=vendor, role=Role.MEMBER).user)
    client.force_login(member)
    create = f"{reverse('vendors:listing_create')}?organization={vendor.slug}"
    assert client.get(create).status_code == 403
    assert client.get(reverse("vendors:listing_edit", args=[draft.slug])).status_code == 403
    # They still see the listing on the dashboard, without the actions they cannot take.
    page = client.get(reverse("vendors:dashboard")).content.decode()
    assert "Lumen Count" in page
    assert reverse("vendors:listing_edit", args=[draft.slug]) not in page


def test_creating_for_an_organization_you_are_not_in_is_404(client, rival_owner, vendor):
    client.force_login(rival_owner)
    response = client.get(f"{reverse('vendors:listing_create')}?organization={vendor.slug}")
    assert response.status_code == 404
