import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.authtoken.models import Token

from marketplace.accounts.models import Role
from marketplace.accounts.policies import organization_for
from tests.factories import MembershipFactory, OrganizationFactory
from tests.perf.conftest import measure

pytestmark = pytest.mark.django_db


def test_home_page():
    call_command("seed_demo")
    client = Client()
    measure("GET / (home page, English)", lambda: client.get("/"))
    measure("GET /zh-hans/ (home page, Chinese)", lambda: client.get("/zh-hans/"))


def test_organization_page_queries_stay_flat_as_members_grow():
    queries = []
    for members in (10, 200):
        organization = OrganizationFactory()
        owner = MembershipFactory(organization=organization, role=Role.OWNER).user
        MembershipFactory.create_batch(members - 1, organization=organization)
        client = Client()
        client.force_login(owner)
        url = f"/orgs/{organization.slug}/"
        result = measure(
            f"GET /orgs/<slug>/ ({members} members)",
            lambda client=client, url=url: client.get(url),
            repeat=50,
        )
        queries.append(result["queries"])
    assert queries[0] == queries[1]


def test_api_organizations_with_token():
    owner = MembershipFactory(role=Role.OWNER).user
    token = Token.objects.create(user=owner)
    client = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    measure("GET /api/v1/organizations/ (token)", lambda: client.get("/api/v1/organizations/"))


def test_policy_lookup():
    membership = MembershipFactory(role=Role.MEMBER)
    measure(
        "policies.organization_for (one membership lookup)",
        lambda: organization_for(membership.user, membership.organization.slug),
        repeat=2000,
    )
