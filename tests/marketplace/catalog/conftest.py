import io

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from marketplace.accounts.models import Role
from marketplace.catalog import services
from marketplace.catalog.models import Term
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

MARKDOWN = "Counts parts.\n\n## Features\n\n- Fast\n- Small\n"


@pytest.fixture
def vendor(db):
    return OrganizationFactory(name="Lumen Edge", slug="lumen-edge", is_vendor=True, is_buyer=False)


@pytest.fixture
def vendor_user(vendor):
    user = MembershipFactory(organization=vendor, role=Role.OWNER).user
    TOTP.activate(user, generate_totp_secret())
    return user


@pytest.fixture
def staff(db):
    user = UserFactory(is_staff=True)
    TOTP.activate(user, generate_totp_secret())
    return user


@pytest.fixture
def rival_vendor_user(db):
    rival = OrganizationFactory(name="Rival", slug="rival", is_vendor=True, is_buyer=False)
    return MembershipFactory(organization=rival, role=Role.ADMIN).user


def term(kind: str, slug: str) -> Term:
    return Term.objects.get(kind=kind, slug=slug)


def make_listing(vendor_user, vendor, name="Lumen Count", *, publish_by=None, **fields):
    fields.setdefault("tagline", "Counts parts from any camera")
    fields.setdefault("description", MARKDOWN)
    listing = services.listing_create(actor=vendor_user, vendor=vendor, name=name, **fields)
    if publish_by is not None:
        services.listing_submit(actor=vendor_user, listing=listing)
        services.listing_approve(actor=publish_by, listing=listing)
        listing.refresh_from_db()
    return listing


def png_upload(name="shot.png", size=(64, 48)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (20, 120, 140)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def bulk_published(vendor, count: int, *, start: int = 0) -> None:
    """Many published listings with terms and an image row each, in a few queries."""
    from marketplace.demo.bulk import seed_bulk_listings

    seed_bulk_listings(count, vendor_slug=vendor.slug, start=start)
