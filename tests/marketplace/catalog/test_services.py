"""Listings through their services: life cycle, validation, images, reviews."""

import struct
import zlib

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from marketplace.catalog import services
from marketplace.catalog.models import Listing, ModerationEvent
from marketplace.errors import ServiceError
from tests.factories import MembershipFactory, OrganizationFactory
from tests.marketplace.catalog.conftest import make_listing, png_upload, term

pytestmark = pytest.mark.django_db


def test_a_listing_goes_from_draft_to_review_to_published_with_history_and_emails(
    vendor, vendor_user, staff, django_capture_on_commit_callbacks
):
    listing = make_listing(vendor_user, vendor, terms=[term("industry", "electronics")])
    assert listing.status == Listing.Status.DRAFT
    assert "electronics" in listing.search_document
    with django_capture_on_commit_callbacks(execute=True):
        services.listing_submit(actor=vendor_user, listing=listing)
    assert staff.email in mail.outbox[-1].to
    with django_capture_on_commit_callbacks(execute=True):
        services.listing_reject(actor=staff, listing=listing, reason="Add a screenshot.")
    assert vendor_user.email in mail.outbox[-1].to
    assert "Add a screenshot." in mail.outbox[-1].body
    services.listing_submit(actor=vendor_user, listing=listing)
    listing = services.listing_approve(actor=staff, listing=listing)
    assert listing.status == Listing.Status.PUBLISHED
    assert listing.published_at is not None
    actions = list(listing.moderation.order_by("pk").values_list("action", "reason"))
    assert actions == [
        ("created", ""),
        ("submitted", ""),
        ("rejected", "Add a screenshot."),
        ("submitted", ""),
        ("approved", ""),
    ]


def test_only_staff_moderate_and_steps_follow_the_status(vendor, vendor_user, staff):
    listing = make_listing(vendor_user, vendor)
    with pytest.raises(ServiceError, match=r"not possible now"):
        services.listing_approve(actor=staff, listing=listing)
    services.listing_submit(actor=vendor_user, listing=listing)
    with pytest.raises(ServiceError, match="Only Precis staff"):
        services.listing_approve(actor=vendor_user, listing=listing)
    with pytest.raises(ServiceError, match="reason is required"):
        services.listing_reject(actor=staff, listing=listing, reason="  ")
    assert ModerationEvent.objects.filter(listing=listing).count() == 2


def test_buyers_and_outsiders_cannot_publish(vendor, rival_vendor_user):
    buyer = MembershipFactory(role="owner").user
    with pytest.raises(ServiceError, match="vendor organizations"):
        services.listing_create(
            actor=buyer, vendor=buyer.memberships.get().organization, name="X", tagline="Y"
        )
    with pytest.raises(ServiceError) as denied:
        services.listing_create(actor=rival_vendor_user, vendor=vendor, name="X", tagline="Y")
    assert denied.value.status_code == 403


def test_components_need_a_valid_spdx_licence(vendor, vendor_user):
    with pytest.raises(ServiceError, match="SPDX"):
        make_listing(vendor_user, vendor, "Modbus Poller", kind="component")
    with pytest.raises(ServiceError, match="not a valid SPDX"):
        make_listing(vendor_user, vendor, "Modbus Poller", kind="component", license="Apache-9")
    with pytest.raises(ServiceError, match="not a valid SPDX"):
        make_listing(vendor_user, vendor, "Modbus Poller", kind="component", license="MIT AND")
    listing = make_listing(
        vendor_user, vendor, "Modbus Poller", kind="component", license="apache-2.0 or mit"
    )
    assert listing.license == "Apache-2.0 OR MIT"


def test_versions_are_semantic_with_a_sha256(vendor, vendor_user):
    listing = make_listing(vendor_user, vendor)
    version = services.version_add(
        actor=vendor_user, listing=listing, version="2.0.0-rc.1", artifact_sha256="AB" * 32
    )
    assert version.artifact_sha256 == "ab" * 32
    with pytest.raises(ServiceError, match="semantic version"):
        services.version_add(actor=vendor_user, listing=listing, version="v2")
    with pytest.raises(ServiceError, match="SHA-256"):
        services.version_add(
            actor=vendor_user, listing=listing, version="2.0.1", artifact_sha256="abc"
        )
    with pytest.raises(ServiceError, match="already exists"):
        services.version_add(actor=vendor_user, listing=listing, version="2.0.0-rc.1")


def _png_declaring(width: int, height: int) -> bytes:
    """A valid 1x1 PNG whose header claims another size: a decompression bomb in 70 bytes."""
    data = png_upload(size=(1, 1)).read()
    ihdr = struct.pack(">II", width, height) + data[24:29]
    return data[:16] + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)) + data[33:]


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (SimpleUploadedFile("shot.png", b"not an image at all", "image/png"), "not an image"),
        (
            SimpleUploadedFile("huge.png", b"\0" * (5 * 1024 * 1024 + 1), "image/png"),
            "the limit is 5 MB",
        ),
        (SimpleUploadedFile("bomb.png", _png_declaring(50_000, 50_000), "image/png"), "pixels"),
        (SimpleUploadedFile("wide.png", _png_declaring(20_000, 10), "image/png"), "pixels"),
    ],
    ids=["text-named-png", "oversized", "decompression-bomb", "too-wide"],
)
def test_bad_images_are_refused_with_a_clear_message(vendor, vendor_user, upload, message):
    listing = make_listing(vendor_user, vendor)
    with pytest.raises(ServiceError, match=message):
        services.image_add(actor=vendor_user, listing=listing, upload=upload)
    assert not listing.images.exists()


def test_a_real_image_is_stored_under_a_name_that_matches_its_content(vendor, vendor_user):
    listing = make_listing(vendor_user, vendor)
    image = services.image_add(
        actor=vendor_user, listing=listing, upload=png_upload("evil.exe"), caption="Line view"
    )
    assert image.image.name.endswith(".png")
    assert (image.width, image.height) == (64, 48)


def test_reviews_come_from_buyers_and_update_the_rating(vendor, vendor_user, staff):
    listing = make_listing(vendor_user, vendor, publish_by=staff)
    buyers = [MembershipFactory(role="member") for _ in range(2)]
    for membership, rating in zip(buyers, (5, 2), strict=True):
        services.review_create(
            actor=membership.user,
            organization=membership.organization,
            listing=listing,
            rating=rating,
            title="Review",
            body="Body",
        )
    listing.refresh_from_db()
    assert (listing.rating_average, listing.rating_count) == (3.5, 2)
    seller = OrganizationFactory(is_vendor=True, is_buyer=True)
    MembershipFactory(user=vendor_user, organization=seller)
    listing.vendor = seller
    with pytest.raises(ServiceError, match="own listing"):
        services.review_create(
            actor=vendor_user, organization=seller, listing=listing, rating=5, title="t", body="b"
        )


def test_an_edit_from_a_stale_copy_keeps_the_new_status(vendor, vendor_user):
    stale = make_listing(vendor_user, vendor)
    services.listing_submit(actor=vendor_user, listing=Listing.objects.get(pk=stale.pk))
    services.listing_update(actor=vendor_user, listing=stale, tagline="Sharper tagline")
    fresh = Listing.objects.get(pk=stale.pk)
    assert (fresh.status, fresh.tagline) == (Listing.Status.IN_REVIEW, "Sharper tagline")


def test_a_listing_never_takes_the_slug_of_a_storefront_page(vendor, vendor_user):
    assert make_listing(vendor_user, vendor, "Compare").slug == "compare-2"
