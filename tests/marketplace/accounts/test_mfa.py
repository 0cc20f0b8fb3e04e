"""MFA is available to everyone and required of staff and vendor owners."""

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.urls import reverse

from marketplace.accounts.models import Role
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def _is_sent_to_mfa_setup(client, url):
    response = client.get(url)
    return response.status_code == 302 and response["Location"].startswith(
        reverse("mfa_activate_totp")
    )


def test_staff_without_mfa_are_sent_to_set_it_up(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    for url in ("/orgs/", "/django-admin/", "/cms/", "/"):
        assert _is_sent_to_mfa_setup(client, url), url
    # The setup page itself and signing out stay reachable.
    assert client.get(reverse("mfa_activate_totp")).status_code in (200, 302)
    assert client.post(reverse("account_logout")).status_code == 302


def test_staff_with_an_authenticator_go_where_they_asked(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    TOTP.activate(staff, generate_totp_secret())
    client.force_login(staff)
    assert client.get("/django-admin/").status_code == 200


def test_vendor_owners_must_set_up_mfa_but_buyers_may_choose(client):
    vendor_owner = MembershipFactory(
        organization=OrganizationFactory(is_vendor=True, is_buyer=False), role=Role.OWNER
    ).user
    client.force_login(vendor_owner)
    assert _is_sent_to_mfa_setup(client, "/orgs/")

    buyer_owner = MembershipFactory(role=Role.OWNER).user
    client.force_login(buyer_owner)
    assert client.get("/orgs/").status_code == 200
    assert client.get(reverse("mfa_index")).status_code == 200
