"""Verification in the vendor portal, on the staff pages, and as a badge on listing pages."""

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from marketplace.accounts import services
from marketplace.accounts.models import Organization, Role, VerificationEvent
from tests.factories import ListingFactory, MembershipFactory, VendorFactory

from .conftest import with_mfa

pytestmark = pytest.mark.django_db

Verification = Organization.Verification
USCC = "91310000MA1K4AB12C"
BAD_NUMBER = "Enter the business registration number as 5 to 32 letters, digits or hyphens"


def ask_data(**overrides) -> dict:
    data = {
        "verification-legal_name": "Lumen Edge (Suzhou) Co., Ltd.",
        "verification-registration_number": USCC.lower(),
    }
    data.update(overrides)
    return data


@pytest.fixture
def pending(vendor, vendor_owner) -> Organization:
    return services.organization_request_verification(
        actor=vendor_owner,
        organization=vendor,
        legal_name="Lumen Edge (Suzhou) Co., Ltd.",
        registration_number=USCC,
    )


def dashboard(client) -> str:
    return client.get(reverse("vendors:dashboard")).content.decode()


# --- Vendor portal ------------------------------------------------------------------------


def test_an_owner_asks_for_verification_from_the_dashboard(
    client, vendor, vendor_owner, django_capture_on_commit_callbacks
):
    client.force_login(vendor_owner)
    page = dashboard(client)
    assert "Not verified" in page
    assert 'data-testid="verification-form"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("vendors:verification_request", args=[vendor.slug]), ask_data()
        )
    assert response.status_code == 302
    assert response["Location"] == reverse("vendors:dashboard") + "#verification-lumen-edge"
    vendor.refresh_from_db()
    assert vendor.verification_status == Verification.PENDING
    assert vendor.registration_number == USCC
    assert mail.outbox[0].to == [vendor_owner.email]

    page = client.get(response["Location"], follow=True).content.decode()
    assert "Verification of Lumen Edge requested." in page
    assert "Verification pending" in page
    assert 'data-testid="verification-form"' not in page


def test_a_bad_registration_number_is_shown_on_the_form_and_nothing_is_saved(
    client, vendor, vendor_owner
):
    client.force_login(vendor_owner)
    response = client.post(
        reverse("vendors:verification_request", args=[vendor.slug]),
        ask_data(**{"verification-registration_number": "9131 0000"}),
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert BAD_NUMBER in page
    assert 'value="Lumen Edge (Suzhou) Co., Ltd."' in page  # what was typed stays
    vendor.refresh_from_db()
    assert vendor.verification_status == Verification.UNVERIFIED
    assert vendor.registration_number == ""
    assert not VerificationEvent.objects.exists()


def test_both_details_are_required(client, vendor, vendor_owner):
    client.force_login(vendor_owner)
    response = client.post(reverse("vendors:verification_request", args=[vendor.slug]), {})
    assert response.status_code == 400
    assert response.content.decode().count("This field is required.") == 2
    vendor.refresh_from_db()
    assert vendor.verification_status == Verification.UNVERIFIED


def test_asking_again_while_pending_is_explained(client, pending, vendor_owner):
    client.force_login(vendor_owner)
    response = client.post(
        reverse("vendors:verification_request", args=[pending.slug]), ask_data(), follow=True
    )
    assert "already waiting for verification" in response.content.decode()
    assert VerificationEvent.objects.count() == 1


def test_members_see_the_state_but_only_owners_and_admins_may_ask(client, vendor):
    member = with_mfa(MembershipFactory(organization=vendor, role=Role.MEMBER).user)
    client.force_login(member)
    page = dashboard(client)
    assert "Not verified" in page
    assert "An owner or admin of the organization can ask for it." in page
    assert 'data-testid="verification-form"' not in page
    url = reverse("vendors:verification_request", args=[vendor.slug])
    assert client.post(url, ask_data()).status_code == 403

    admin = MembershipFactory(organization=vendor, role=Role.ADMIN).user
    client.force_login(admin)
    assert 'data-testid="verification-form"' in dashboard(client)
    assert client.post(url, ask_data()).status_code == 302


def test_another_organization_gets_404_and_nothing_changes(client, vendor, rival_owner):
    client.force_login(rival_owner)
    url = reverse("vendors:verification_request", args=[vendor.slug])
    assert client.post(url, ask_data()).status_code == 404
    vendor.refresh_from_db()
    assert vendor.verification_status == Verification.UNVERIFIED


def test_asking_takes_post_and_a_signed_in_person(client, vendor, vendor_owner):
    url = reverse("vendors:verification_request", args=[vendor.slug])
    assert client.post(url, ask_data())["Location"].startswith(reverse("account_login"))
    client.force_login(vendor_owner)
    assert client.get(url).status_code == 405


def test_after_a_rejection_the_vendor_sees_the_reason_and_its_details_to_fix(
    client, pending, staff, vendor_owner
):
    reason = "The legal name does not match the business register."
    services.organization_reject_verification(actor=staff, organization=pending, reason=reason)
    client.force_login(vendor_owner)
    page = dashboard(client)
    assert "Verification rejected" in page
    assert reason in page
    assert 'data-testid="verification-form"' in page
    assert f'value="{USCC}"' in page
    assert staff.email not in page


def test_a_verified_vendor_sees_its_badge_and_no_form(client, pending, staff, vendor_owner):
    services.organization_verify(actor=staff, organization=pending)
    client.force_login(vendor_owner)
    page = dashboard(client)
    assert 'data-testid="verification-status">Verified</span>' in page
    assert "buyers see a “Verified vendor” badge" in page
    assert 'data-testid="verification-form"' not in page


# --- Staff --------------------------------------------------------------------------------


def test_the_queue_lists_vendors_to_verify_oldest_first(client, staff, pending):
    newer = VendorFactory(name="Newer Robotics", slug="newer-robotics")
    owner = MembershipFactory(organization=newer, role=Role.OWNER).user
    services.organization_request_verification(
        actor=owner,
        organization=newer,
        legal_name="Newer Robotics Ltd.",
        registration_number="12345678",
    )
    VendorFactory(name="Quiet Works")  # never asked
    VendorFactory(name="Checked Already", verified=True)
    client.force_login(staff)
    response = client.get(reverse("vendors:moderation_queue"))
    section = response.content.decode().split('data-testid="vendors-to-verify"')[1]
    assert section.index("Lumen Edge") < section.index("Newer Robotics")
    assert USCC in section
    assert "Quiet Works" not in section
    assert "Checked Already" not in section
    assert reverse("vendors:moderation_vendor", args=[pending.slug]) in section
    # The portal's button counts vendors to verify with listings to review.
    assert response.context["vendors_to_verify"] == [pending, newer]


def test_an_empty_queue_says_so(client, staff):
    client.force_login(staff)
    page = client.get(reverse("vendors:moderation_queue")).content.decode()
    assert "No vendor is waiting for verification." in page


def test_staff_check_the_details_and_verify(
    client, staff, pending, vendor_owner, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    url = reverse("vendors:moderation_vendor", args=[pending.slug])
    page = client.get(url).content.decode()
    assert "Lumen Edge (Suzhou) Co., Ltd." in page
    assert USCC in page
    assert vendor_owner.email in page  # whom to contact
    assert "Verification requested" in page  # the history
    assert 'data-testid="verify"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("vendors:moderation_vendor_verify", args=[pending.slug]), follow=True
        )
    assert "Lumen Edge is verified." in response.content.decode()
    pending.refresh_from_db()
    assert pending.is_verified
    assert mail.outbox[-1].subject == "Lumen Edge: Verified"
    page = client.get(url).content.decode()
    assert 'data-testid="revoke"' in page
    assert 'data-testid="verify"' not in page


def test_staff_reject_with_a_reason(client, staff, pending):
    client.force_login(staff)
    url = reverse("vendors:moderation_vendor_reject", args=[pending.slug])
    response = client.post(url, {"reject-reason": "  "})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    pending.refresh_from_db()
    assert pending.verification_status == Verification.PENDING

    client.post(url, {"reject-reason": "Send the number from the business licence."})
    pending.refresh_from_db()
    assert pending.verification_status == Verification.REJECTED
    page = client.get(reverse("vendors:moderation_vendor", args=[pending.slug])).content.decode()
    assert "Send the number from the business licence." in page
    assert "Nothing to decide" in page


def test_staff_revoke_a_verification(client, staff):
    vendor = VendorFactory(name="Checked Already", slug="checked-already", verified=True)
    client.force_login(staff)
    url = reverse("vendors:moderation_vendor_revoke", args=[vendor.slug])
    assert client.post(url, {"revoke-reason": ""}).status_code == 400
    client.post(url, {"revoke-reason": "The business licence was cancelled."})
    vendor.refresh_from_db()
    assert vendor.verification_status == Verification.REJECTED
    assert vendor.verification_events.get().action == VerificationEvent.Action.REVOKED


def test_a_step_that_is_not_possible_now_is_explained(client, staff, vendor):
    client.force_login(staff)
    response = client.post(
        reverse("vendors:moderation_vendor_verify", args=[vendor.slug]), follow=True
    )
    assert "has not asked for verification" in response.content.decode()
    vendor.refresh_from_db()
    assert vendor.verification_status == Verification.UNVERIFIED


def test_verification_pages_are_404_for_everyone_but_staff(client, pending, vendor_owner):
    client.force_login(vendor_owner)
    slug = pending.slug
    assert client.get(reverse("vendors:moderation_vendor", args=[slug])).status_code == 404
    for name in ("verify", "reject", "revoke"):
        url = reverse(f"vendors:moderation_vendor_{name}", args=[slug])
        assert client.post(url, {"reject-reason": "x", "revoke-reason": "x"}).status_code == 404
    pending.refresh_from_db()
    assert pending.verification_status == Verification.PENDING
    assert VerificationEvent.objects.count() == 1


def test_an_unknown_organization_is_404_for_staff(client, staff):
    client.force_login(staff)
    assert client.get(reverse("vendors:moderation_vendor", args=["nobody"])).status_code == 404


def test_listing_moderation_keeps_its_addresses_beside_the_vendor_pages(client, staff):
    listing = ListingFactory(name="Vendors", status="in_review", published_at=None)
    client.force_login(staff)
    client.post(reverse("vendors:moderation_approve", args=[listing.slug]))
    listing.refresh_from_db()
    assert listing.status == "published"


# --- Storefront ---------------------------------------------------------------------------


def test_listing_pages_show_verified_vendors_without_another_query(client, db):
    verified = ListingFactory(vendor=VendorFactory(verified=True))
    other = ListingFactory(vendor=VendorFactory())
    warm_up = ListingFactory(vendor=VendorFactory())
    client.get(reverse("storefront:listing", args=[warm_up.slug]))  # fills the menus' cache
    counts = []
    for listing in (verified, other):
        with CaptureQueriesContext(connection) as queries:
            page = client.get(reverse("storefront:listing", args=[listing.slug])).content.decode()
        counts.append(len(queries))
        assert ("Verified vendor" in page) is (listing is verified)
    assert counts[0] == counts[1]


def test_a_revoked_vendor_loses_its_badge(client, staff):
    listing = ListingFactory(vendor=VendorFactory(verified=True))
    services.organization_revoke_verification(
        actor=staff, organization=listing.vendor, reason="Closed."
    )
    page = client.get(reverse("storefront:listing", args=[listing.slug])).content.decode()
    assert "Verified vendor" not in page
