"""Writing a listing in the editor: create a draft, edit it, see the model's own errors."""

import pytest
from django.urls import reverse

from marketplace.catalog import services
from marketplace.catalog.models import Listing, ModerationEvent, Term

from .conftest import listing_data

pytestmark = pytest.mark.django_db


def _term(kind: str, slug: str) -> Term:
    return Term.objects.get(kind=kind, slug=slug)


def _create_url(organization) -> str:
    return f"{reverse('vendors:listing_create')}?organization={organization.slug}"


def test_create_a_draft_through_the_editor(client, vendor, vendor_owner):
    client.force_login(vendor_owner)
    page = client.get(_create_url(vendor)).content.decode()
    assert "Industries" in page
    assert "Automotive parts" in page
    assert "You can use:" in page  # the markdown help

    edge, mqtt = _term("deployment", "edge"), _term("protocol", "mqtt")
    response = client.post(
        _create_url(vendor),
        listing_data(
            deployments=[edge.pk],
            protocols=[mqtt.pk],
            **{
                "kpi-0-label": "Defect escapes",
                "kpi-0-value": "-38%",
                "kpi-0-evidence_url": "https://lumen-edge.example/case",
            },
        ),
    )
    listing = Listing.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("vendors:listing_edit", args=[listing.slug])
    assert listing.vendor == vendor
    assert listing.status == Listing.Status.DRAFT
    assert listing.min_ram_mb == 512
    assert set(listing.terms.all()) == {edge, mqtt}
    assert [(c.label, c.value) for c in listing.kpi_claims.all()] == [("Defect escapes", "-38%")]

    page = client.get(response["Location"]).content.decode()
    assert "Draft saved" in page
    assert "Created" in page  # the history, read-only, on the edit page
    assert 'value="Defect escapes"' in page


def test_the_active_organization_is_used_without_a_parameter(client, vendor, vendor_owner):
    client.force_login(vendor_owner)
    response = client.post(reverse("vendors:listing_create"), listing_data())
    assert response.status_code == 302
    assert Listing.objects.get().vendor == vendor


def test_a_component_needs_a_valid_licence(client, vendor, vendor_owner):
    client.force_login(vendor_owner)
    response = client.post(_create_url(vendor), listing_data(kind="component"))
    assert response.status_code == 200
    assert "An open-source component needs an SPDX licence." in response.content.decode()

    response = client.post(
        _create_url(vendor), listing_data(kind="component", license="Apache-2.0 OR Nonsense")
    )
    assert "is not a valid SPDX licence expression" in response.content.decode()
    assert not Listing.objects.exists()

    response = client.post(
        _create_url(vendor),
        listing_data(
            kind="component",
            license="apache-2.0",
            repository_url="github.com/lumen/count",
        ),
    )
    listing = Listing.objects.get()
    assert response.status_code == 302
    assert listing.license == "Apache-2.0"
    assert listing.repository_url == "https://github.com/lumen/count"


def test_required_fields_and_half_filled_claims_are_marked(client, vendor, vendor_owner):
    client.force_login(vendor_owner)
    response = client.post(
        _create_url(vendor), listing_data(name="", **{"kpi-1-value": "12 minutes"})
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "This field is required." in page
    assert "Say what was measured." in page
    assert not Listing.objects.exists()


def test_edit_a_draft(client, vendor, vendor_owner, draft):
    services.listing_update(
        actor=vendor_owner,
        listing=draft,
        terms=[_term("industry", "electronics")],
        kpi_claims=[
            services.KpiClaimInput("Setup time", "12 min"),
            services.KpiClaimInput("Defects", "-20%"),
        ],
    )
    component = services.listing_create(
        actor=vendor_owner,
        vendor=vendor,
        name="Lumen Driver",
        tagline="An OPC UA driver",
        kind="component",
        license="MIT",
    )
    client.force_login(vendor_owner)
    url = reverse("vendors:listing_edit", args=[draft.slug])
    page = client.get(url).content.decode()
    assert 'value="Setup time"' in page
    assert "Lumen Driver" in page  # own components can be linked

    textiles = _term("industry", "textiles")
    response = client.post(
        url,
        listing_data(
            name="Lumen Count Pro",
            industries=[textiles.pk],
            components=[component.pk],
            **{
                "kpi-INITIAL_FORMS": "2",
                "kpi-0-label": "Setup time",
                "kpi-0-value": "10 min",
                # The second row is emptied: that claim goes.
            },
        ),
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.name == "Lumen Count Pro"
    assert draft.slug == "lumen-count"  # addresses do not change with the name
    assert list(draft.terms.all()) == [textiles]
    assert list(draft.components.all()) == [component]
    assert [(c.label, c.value) for c in draft.kpi_claims.all()] == [("Setup time", "10 min")]


def test_an_archived_listing_is_shown_read_only(client, vendor_owner, draft):
    services.listing_archive(actor=vendor_owner, listing=draft)
    client.force_login(vendor_owner)
    url = reverse("vendors:listing_edit", args=[draft.slug])
    page = client.get(url).content.decode()
    assert "can no longer change" in page
    assert "disabled" in page

    response = client.post(url, listing_data(name="Changed"))
    assert response.status_code == 200
    assert "cannot be edited" in response.content.decode()
    draft.refresh_from_db()
    assert draft.name == "Lumen Count"


def test_archive_from_the_edit_page(client, vendor_owner, draft):
    client.force_login(vendor_owner)
    response = client.post(reverse("vendors:listing_archive", args=[draft.slug]), follow=True)
    assert "is archived" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == Listing.Status.ARCHIVED
    assert draft.moderation.filter(action=ModerationEvent.Action.ARCHIVED).exists()


def test_the_edit_page_links_to_the_storefront_preview(client, vendor_owner, draft):
    client.force_login(vendor_owner)
    page = client.get(reverse("vendors:listing_edit", args=[draft.slug])).content.decode()
    assert f'href="{reverse("storefront:listing", args=[draft.slug])}"' in page
