"""Reviews of components by buyers, with the opt-in "used in production at N plants"."""

import pytest
from django.urls import reverse

from marketplace.community import services
from marketplace.errors import ServiceError
from tests.factories import MembershipFactory, OrganizationFactory


def buyer_member(name: str):
    organization = OrganizationFactory(name=name, is_buyer=True)
    return MembershipFactory(organization=organization).user, organization


def test_plants_show_only_for_buyers_who_opt_in(client, component):
    opted, opted_org = buyer_member("Delta Castings")
    quiet, quiet_org = buyer_member("Quiet Plastics")
    services.component_review(
        actor=opted, organization=opted_org, listing=component, rating=5,
        title="Solid", body="Runs on every line.", production_plants=3,
    )  # fmt: skip
    services.component_review(
        actor=quiet, organization=quiet_org, listing=component, rating=3,
        title="Fine", body="Works.",
    )  # fmt: skip
    component.refresh_from_db()
    assert (component.rating_count, component.rating_average) == (2, 4)

    page = client.get(reverse("community:component", args=[component.slug])).content.decode()
    assert "Used in production at 3 plants" in page
    assert "in production at 3 plants" in page
    assert page.count("in production at") == 2  # the badge and the one opted-in review


def test_a_review_through_the_page(client, component):
    user, _organization = buyer_member("Delta Castings")
    client.force_login(user)
    response = client.post(
        reverse("community:review", args=[component.slug]),
        {"rating": "4", "title": "Good", "body": "Stable.", "production_plants": "1"},
    )
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert "Used in production at 1 plant" in page


def test_the_plant_count_is_bounded(component):
    user, organization = buyer_member("Delta Castings")
    with pytest.raises(ServiceError, match="from 1 to 100,000"):
        services.component_review(
            actor=user, organization=organization, listing=component, rating=4,
            title="x", body="y", production_plants=0,
        )  # fmt: skip
