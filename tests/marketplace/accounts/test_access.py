"""Object-level access: a member of one organization sees nothing of another."""

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token

from marketplace.accounts import services
from marketplace.accounts.models import Membership, Role
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def outsider(other_organization):
    """A person who owns another organization and belongs to nothing else."""
    return MembershipFactory(organization=other_organization, role=Role.OWNER).user


@pytest.fixture
def target(organization, owner):
    invitation = services.invitation_create(
        actor=owner, organization=organization, email="pending@plant.example"
    )
    membership = Membership.objects.get(user=owner)
    return organization, membership, invitation


def _pages(organization, membership, invitation):
    slug = organization.slug
    return {
        ("get", reverse("accounts:organization", args=[slug])),
        ("get", reverse("accounts:organization_settings", args=[slug])),
        ("post", reverse("accounts:organization_settings", args=[slug])),
        ("post", reverse("accounts:invitation_create", args=[slug])),
        ("post", reverse("accounts:invitation_revoke", args=[slug, invitation.pk])),
        ("post", reverse("accounts:membership_role", args=[slug, membership.pk])),
        ("post", reverse("accounts:membership_remove", args=[slug, membership.pk])),
        ("get", reverse("api:v1:organization", args=[slug])),
        ("get", reverse("api:v1:organization-members", args=[slug])),
    }


def test_every_page_and_endpoint_of_another_organization_is_404(client, outsider, target):
    client.force_login(outsider)
    for method, url in sorted(_pages(*target)):
        response = getattr(client, method)(url, {"role": "owner", "email": "x@y.example"})
        assert response.status_code == 404, (method, url, response.status_code)
    _, membership, invitation = target
    membership.refresh_from_db()
    invitation.refresh_from_db()
    assert membership.role == Role.OWNER
    assert invitation.status == "pending"


def test_another_organizations_objects_are_404_even_through_my_own_slug(
    client, outsider, other_organization, target
):
    """Mixing my organization's slug with another's member id finds nothing either."""
    _, membership, invitation = target
    client.force_login(outsider)
    mine = other_organization.slug
    for url in (
        reverse("accounts:membership_role", args=[mine, membership.pk]),
        reverse("accounts:membership_remove", args=[mine, membership.pk]),
        reverse("accounts:invitation_revoke", args=[mine, invitation.pk]),
    ):
        assert client.post(url, {"role": "member"}).status_code == 404, url
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_switching_to_another_organization_is_404(client, outsider, organization):
    client.force_login(outsider)
    response = client.post(
        reverse("accounts:organization_switch"), {"organization": organization.slug}
    )
    assert response.status_code == 404


def test_token_api_is_scoped_the_same_way(client, outsider, organization, other_organization):
    token = Token.objects.create(user=outsider)
    auth = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    listed = client.get(reverse("api:v1:organizations"), **auth).json()
    assert [o["slug"] for o in listed] == [other_organization.slug]
    response = client.get(reverse("api:v1:organization", args=[organization.slug]), **auth)
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found."}}


def test_a_member_without_the_role_gets_403_not_404(client, organization):
    member = MembershipFactory(organization=organization, role=Role.MEMBER).user
    client.force_login(member)
    assert client.get(reverse("accounts:organization", args=[organization.slug])).status_code == 200
    settings_url = reverse("accounts:organization_settings", args=[organization.slug])
    assert client.get(settings_url).status_code == 403


def test_owner_manages_members_from_the_organization_page(client, organization, owner):
    client.force_login(owner)
    page = client.get(reverse("accounts:organization", args=[organization.slug]))
    assert page.status_code == 200
    assert owner.email in page.content.decode()
    response = client.post(
        reverse("accounts:invitation_create", args=[organization.slug]),
        {"email": "new@plant.example", "role": "billing"},
    )
    assert response.status_code == 302
    assert organization.invitations.get().role == "billing"
