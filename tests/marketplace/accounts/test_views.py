"""Organization pages: create, switch, edit."""

import pytest
from django.urls import reverse

from marketplace.accounts.middleware import ACTIVE_ORGANIZATION_SESSION_KEY
from marketplace.accounts.models import Organization, Role
from tests.factories import MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def test_create_organization_from_the_form_makes_it_active(client, user):
    client.force_login(user)
    response = client.post(
        reverse("accounts:organization_create"),
        {"name": "Jiangnan Textiles", "is_buyer": "on", "time_zone": "Asia/Shanghai"},
    )
    organization = Organization.objects.get(name="Jiangnan Textiles")
    assert response["Location"] == reverse("accounts:organization", args=[organization.slug])
    assert client.session[ACTIVE_ORGANIZATION_SESSION_KEY] == organization.pk


def test_an_organization_chooses_the_language_of_its_emails(client, user):
    client.force_login(user)
    client.post(
        reverse("accounts:organization_create"),
        {
            "name": "Huaxin",
            "is_buyer": "on",
            "time_zone": "Asia/Shanghai",
            "language": "zh-hans",
        },
    )
    organization = Organization.objects.get(name="Huaxin")
    assert organization.language == "zh-hans"
    page = client.get(reverse("accounts:organization", args=[organization.slug]))
    assert "Simplified Chinese" in page.content.decode()


def test_form_errors_are_shown_and_nothing_is_created(client, user):
    client.force_login(user)
    response = client.post(
        reverse("accounts:organization_create"), {"name": "Idle", "time_zone": "Asia/Shanghai"}
    )
    assert response.status_code == 200
    assert "Choose at least one" in response.content.decode()
    assert not Organization.objects.exists()


def test_switching_organization_changes_the_active_one(client, user):
    first = MembershipFactory(user=user, role=Role.OWNER).organization
    second = MembershipFactory(user=user, role=Role.MEMBER).organization
    client.force_login(user)
    assert client.get(reverse("accounts:dashboard")).context["active_organization"] == first
    response = client.post(
        reverse("accounts:organization_switch"),
        {"organization": second.slug, "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("accounts:dashboard")
    assert client.get(reverse("accounts:dashboard")).context["active_organization"] == second


def test_leaving_an_organization_as_a_member(client, user):
    organization = OrganizationFactory()
    MembershipFactory(organization=organization, role=Role.OWNER)
    mine = MembershipFactory(user=user, organization=organization, role=Role.MEMBER)
    client.force_login(user)
    response = client.post(reverse("accounts:membership_remove", args=[organization.slug, mine.pk]))
    assert response["Location"] == reverse("accounts:dashboard")
    assert not organization.memberships.filter(user=user).exists()


def test_health_check(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_unknown_invitation_and_unknown_pages_explain_themselves(client):
    closed = client.get(reverse("accounts:invitation", args=["no-such-key"]))
    assert closed.status_code == 404
    assert "This invitation is no longer valid" in closed.content.decode()
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404
    assert "We could not find that page" in missing.content.decode()
