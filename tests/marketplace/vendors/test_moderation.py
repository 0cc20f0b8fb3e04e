"""Submitting for review, and staff approving, rejecting, suspending and reinstating."""

import pytest
from django.core import mail
from django.urls import reverse

from marketplace.accounts.models import Role
from marketplace.catalog import services
from marketplace.catalog.models import Listing, ModerationEvent
from tests.factories import MembershipFactory

from .conftest import with_mfa

pytestmark = pytest.mark.django_db


def test_submit_for_review(client, vendor_owner, draft, staff, django_capture_on_commit_callbacks):
    client.force_login(vendor_owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("vendors:listing_submit", args=[draft.slug]), follow=True)
    assert "is submitted for review" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == Listing.Status.IN_REVIEW
    # Staff hear about it with the vendor's owners.
    assert staff.email in mail.outbox[0].to


def test_submit_needs_a_description(client, vendor, vendor_owner):
    listing = services.listing_create(
        actor=vendor_owner, vendor=vendor, name="Bare", tagline="Nothing yet"
    )
    client.force_login(vendor_owner)
    response = client.post(reverse("vendors:listing_submit", args=[listing.slug]), follow=True)
    assert "Describe the listing before submitting it for review." in response.content.decode()
    listing.refresh_from_db()
    assert listing.status == Listing.Status.DRAFT


def test_the_queue_lists_listings_in_review_oldest_first(client, staff, vendor, vendor_owner):
    first = services.listing_create(
        actor=vendor_owner, vendor=vendor, name="First", tagline="t", description="d"
    )
    second = services.listing_create(
        actor=vendor_owner, vendor=vendor, name="Second", tagline="t", description="d"
    )
    services.listing_create(
        actor=vendor_owner, vendor=vendor, name="Still a draft", tagline="t", description="d"
    )
    first = services.listing_submit(actor=vendor_owner, listing=first)
    services.listing_submit(actor=vendor_owner, listing=second)
    # Editing during review does not send a listing to the back of the queue.
    services.listing_update(actor=vendor_owner, listing=first, tagline="changed")
    client.force_login(staff)
    page = client.get(reverse("vendors:moderation_queue")).content.decode()
    assert page.index("First") < page.index("Second")
    assert "Still a draft" not in page
    assert "Lumen Edge" in page
    assert reverse("vendors:moderation_detail", args=[first.slug]) in page
    assert reverse("storefront:listing", args=[first.slug]) in page


def test_staff_approve_and_the_vendor_is_emailed(
    client, staff, vendor_owner, in_review, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    page = client.get(reverse("vendors:moderation_detail", args=[in_review.slug])).content
    assert b"Counts parts on a conveyor." in page
    assert b"Submitted for review" in page  # the history
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("vendors:moderation_approve", args=[in_review.slug]), follow=True
        )
    assert "is published" in response.content.decode()
    in_review.refresh_from_db()
    assert in_review.status == Listing.Status.PUBLISHED
    assert in_review.published_at is not None
    [email] = mail.outbox
    assert email.to == [vendor_owner.email]
    assert "Approved" in email.subject
    assert reverse("vendors:listing_edit", args=[in_review.slug]) in email.body


def test_staff_reject_with_a_reason_the_vendor_sees(
    client, staff, vendor_owner, in_review, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    reason = "The KPI claims need evidence links."
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("vendors:moderation_reject", args=[in_review.slug]),
            {"reject-reason": reason},
        )
    in_review.refresh_from_db()
    assert in_review.status == Listing.Status.DRAFT
    event = in_review.moderation.first()
    assert (event.action, event.reason, event.actor) == ("rejected", reason, staff)
    assert reason in mail.outbox[0].body
    page = client.get(reverse("vendors:moderation_detail", args=[in_review.slug])).content
    assert reason.encode() in page

    client.force_login(vendor_owner)
    page = client.get(reverse("vendors:listing_edit", args=[in_review.slug])).content.decode()
    assert "Precis staff sent this listing back to you." in page
    assert reason in page
    assert "Precis staff" in page
    assert staff.email not in page  # vendors do not see who moderated


def test_rejecting_needs_a_reason(client, staff, in_review):
    client.force_login(staff)
    response = client.post(
        reverse("vendors:moderation_reject", args=[in_review.slug]), {"reject-reason": "  "}
    )
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    in_review.refresh_from_db()
    assert in_review.status == Listing.Status.IN_REVIEW


def test_suspend_and_reinstate(client, staff, in_review):
    services.listing_approve(actor=staff, listing=in_review)
    client.force_login(staff)
    client.post(
        reverse("vendors:moderation_suspend", args=[in_review.slug]),
        {"suspend-reason": "A security advisory for the bundled driver."},
    )
    in_review.refresh_from_db()
    assert in_review.status == Listing.Status.SUSPENDED
    page = client.get(reverse("vendors:moderation_detail", args=[in_review.slug])).content
    assert b"A security advisory for the bundled driver." in page
    assert b"Reinstate" in page

    client.post(reverse("vendors:moderation_reinstate", args=[in_review.slug]))
    in_review.refresh_from_db()
    assert in_review.status == Listing.Status.PUBLISHED
    assert in_review.moderation.first().action == ModerationEvent.Action.REINSTATED


def test_a_step_that_is_not_possible_now_is_explained(client, staff, draft):
    client.force_login(staff)
    response = client.post(reverse("vendors:moderation_approve", args=[draft.slug]), follow=True)
    assert "that step is not possible now" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == Listing.Status.DRAFT


def test_moderation_pages_are_404_for_everyone_but_staff(client, vendor, in_review):
    owner = with_mfa(MembershipFactory(organization=vendor, role=Role.OWNER).user)
    client.force_login(owner)
    slug = in_review.slug
    for name in ("moderation_queue",):
        assert client.get(reverse(f"vendors:{name}")).status_code == 404
    assert client.get(reverse("vendors:moderation_detail", args=[slug])).status_code == 404
    for name in ("approve", "reject", "suspend", "reinstate"):
        url = reverse(f"vendors:moderation_{name}", args=[slug])
        assert client.post(url, {"reject-reason": "x", "suspend-reason": "x"}).status_code == 404
    in_review.refresh_from_db()
    assert in_review.status == Listing.Status.IN_REVIEW


def test_staff_following_the_email_link_land_on_the_moderation_page(client, staff, in_review):
    client.force_login(staff)
    response = client.get(reverse("vendors:listing_edit", args=[in_review.slug]))
    assert response["Location"] == reverse("vendors:moderation_detail", args=[in_review.slug])
