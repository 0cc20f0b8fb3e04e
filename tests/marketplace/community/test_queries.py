"""The component list, component page and contributor page run the same number of SQL queries
with 2 items as with 20 (contributions, reviews, versions, solutions, components)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from marketplace.catalog.models import Listing
from marketplace.community.models import Comment, Contribution, Maintainer, Sbom
from tests.factories import (
    ListingFactory,
    ListingVersionFactory,
    OrganizationFactory,
    ReviewFactory,
    UserFactory,
    term,
)


def grow_component(component: Listing, n: int, staff) -> None:
    """n of everything the component page lists."""
    component.terms.add(term("protocol", "modbus-tcp"), term("protocol", "mqtt"))
    for i in range(n):
        author = UserFactory()
        Maintainer.objects.create(listing=component, user=author)
        version = ListingVersionFactory(listing=component, version=f"{n}.{i}.0")
        Sbom.objects.create(
            version=version,
            document=f"sboms/{i}.json",
            format="cyclonedx",
            spec_version="1.5",
            sha256="0" * 64,
            summary={"packages": [{"name": "a", "version": "1", "license": "MIT", "purl": ""}],
                     "licenses": [["MIT", 1]]},
            package_count=1,
        )  # fmt: skip
        ReviewFactory(
            listing=component, organization=OrganizationFactory(), production_plants=i + 1
        )
        ListingFactory(name=f"Solution {component.slug} {i}").components.add(component)
        for status in ("accepted", "open"):
            Contribution.objects.create(
                kind="edit",
                status=status,
                listing=component,
                author=author,
                decided_by=staff if status == "accepted" else None,
                summary="x",
                proposed={"tagline": f"Tagline {i}"},
                original={"tagline": "Old"},
            )


def count_queries(client, url: str) -> int:
    client.get(url)  # once first: per-process caches (site, locale) fill on the first request
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("signed_in", [False, True])
def test_component_page_queries_do_not_grow(client, staff, signed_in):
    small = ListingFactory(kind="component", name="Small Lib")
    large = ListingFactory(kind="component", name="Large Lib")
    grow_component(small, 2, staff)
    grow_component(large, 20, staff)
    if signed_in:
        client.force_login(UserFactory())
    small_count = count_queries(client, reverse("community:component", args=[small.slug]))
    large_count = count_queries(client, reverse("community:component", args=[large.slug]))
    assert small_count == large_count
    assert large_count <= 16


def test_component_list_queries_do_not_grow(client, staff):
    first = [ListingFactory(kind="component", name=f"Lib {i}") for i in range(2)]
    for component in first:
        grow_component(component, 1, staff)
    url = reverse("community:components")
    small_count = count_queries(client, url)
    for i in range(18):
        grow_component(ListingFactory(kind="component", name=f"More {i}"), 1, staff)
    large_count = count_queries(client, url)
    assert small_count == large_count
    assert b"More 17" in client.get(url).content


def test_contributor_page_queries_do_not_grow(client, staff):
    def contributor_with(n: int):
        person = UserFactory()
        for i in range(n):
            component = ListingFactory(kind="component", name=f"C{n}-{i}")
            Maintainer.objects.create(listing=component, user=person)
            for status in ("accepted", "rejected"):
                contribution = Contribution.objects.create(
                    kind="edit", status=status, listing=component, author=person,
                    summary="x", proposed={"name": f"C{n}-{i}!"}, original={"name": f"C{n}-{i}"},
                )  # fmt: skip
                Comment.objects.create(contribution=contribution, author=person, body="hi")
        return person

    small, large = contributor_with(2), contributor_with(20)
    small_count = count_queries(client, reverse("community:contributor", args=[small.pk]))
    large_count = count_queries(client, reverse("community:contributor", args=[large.pk]))
    assert small_count == large_count


def test_contribution_page_queries_do_not_grow(client, staff, contributor):
    def contribution_with(n: int) -> Contribution:
        contribution = Contribution.objects.create(
            kind="new", author=contributor, summary="x", proposed={"name": "N", "tagline": "T"}
        )
        for i in range(n):
            Comment.objects.create(contribution=contribution, author=UserFactory(), body=f"c{i}")
        return contribution

    client.force_login(staff)
    small, large = contribution_with(2), contribution_with(20)
    small_count = count_queries(client, reverse("community:contribution", args=[small.pk]))
    large_count = count_queries(client, reverse("community:contribution", args=[large.pk]))
    assert small_count == large_count
