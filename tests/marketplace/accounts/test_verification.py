"""Verifying vendor organizations: who may ask and decide, from which state, with what trace."""

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core import mail
from django.urls import reverse

from marketplace.accounts import services
from marketplace.accounts.models import Organization, Role, VerificationEvent
from marketplace.errors import Conflict, ServiceError
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory, VendorFactory

pytestmark = pytest.mark.django_db

Verification = Organization.Verification
USCC = "91310000MA1K4AB12C"


@pytest.fixture
def vendor(db):
    return VendorFactory(name="Lumen Edge", slug="lumen-edge")


@pytest.fixture
def vendor_owner(vendor):
    return MembershipFactory(
        organization=vendor, role=Role.OWNER, user__email="owner@lumen.test"
    ).user


@pytest.fixture
def vendor_admin(vendor):
    return MembershipFactory(
        organization=vendor, role=Role.ADMIN, user__email="admin@lumen.test"
    ).user


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True, email="staff@precis.test")


def request(vendor, actor, **details):
    return services.organization_request_verification(
        actor=actor,
        organization=vendor,
        legal_name=details.get("legal_name", "Lumen Edge (Suzhou) Co., Ltd."),
        registration_number=details.get("registration_number", USCC),
    )


@pytest.fixture
def pending(vendor, vendor_owner):
    return request(vendor, vendor_owner)


def actions(organization) -> list[str]:
    return list(
        organization.verification_events.order_by("created_at", "pk").values_list(
            "action", flat=True
        )
    )


def test_a_new_vendor_is_unverified(vendor):
    assert vendor.verification_status == Verification.UNVERIFIED
    assert not vendor.is_verified


def test_an_owner_asks_and_owners_and_admins_are_emailed(
    vendor, vendor_owner, vendor_admin, django_capture_on_commit_callbacks
):
    MembershipFactory(organization=vendor, role=Role.MEMBER, user__email="member@lumen.test")
    MembershipFactory(organization=vendor, role=Role.BILLING, user__email="billing@lumen.test")
    with django_capture_on_commit_callbacks(execute=True):
        organization = request(
            vendor,
            vendor_owner,
            legal_name="  Lumen Edge   (Suzhou) Co., Ltd. ",
            registration_number=" 91310000ma1k4ab12c ",
        )
    organization.refresh_from_db()
    assert organization.verification_status == Verification.PENDING
    assert organization.legal_name == "Lumen Edge (Suzhou) Co., Ltd."
    assert organization.registration_number == USCC
    assert organization.verification_requested_at is not None
    assert organization.verified_at is None
    [event] = organization.verification_events.all()
    assert (event.action, event.actor, event.legal_name, event.registration_number) == (
        VerificationEvent.Action.REQUESTED,
        vendor_owner,
        "Lumen Edge (Suzhou) Co., Ltd.",
        USCC,
    )
    [email] = mail.outbox
    assert email.to == ["admin@lumen.test", "owner@lumen.test"]
    assert email.subject == "Lumen Edge: Verification requested"
    assert USCC in email.body
    assert reverse("vendors:dashboard") in email.body


def test_an_admin_may_ask_too(vendor, vendor_admin):
    assert request(vendor, vendor_admin).verification_status == Verification.PENDING


@pytest.mark.parametrize("role", [Role.MEMBER, Role.BILLING])
def test_members_without_the_role_cannot_ask(vendor, role):
    member = MembershipFactory(organization=vendor, role=role).user
    with pytest.raises(ServiceError, match="Only owners and admins") as exc:
        request(vendor, member)
    assert exc.value.status_code == 403
    vendor.refresh_from_db()
    assert vendor.verification_status == Verification.UNVERIFIED
    assert not VerificationEvent.objects.exists()


def test_outsiders_and_staff_cannot_ask_for_a_vendor(vendor, staff):
    outsider = MembershipFactory(role=Role.OWNER).user
    for actor in (outsider, staff):
        with pytest.raises(ServiceError) as exc:
            request(vendor, actor)
        assert exc.value.status_code == 403
    assert not VerificationEvent.objects.exists()


def test_only_vendor_organizations_are_verified(db):
    buyer = OrganizationFactory(is_buyer=True, is_vendor=False)
    owner = MembershipFactory(organization=buyer, role=Role.OWNER).user
    with pytest.raises(ServiceError, match="Only vendor organizations"):
        request(buyer, owner)


@pytest.mark.parametrize(
    "number",
    [
        "",
        "9131",  # too short
        "9131 0000 MA1K 4AB1 2C",  # spaces inside
        "91310000/MA1K4AB12C",  # other punctuation
        "统一社会信用代码12345",  # not letters and digits of the Latin alphabet
        "9" * 33,  # too long
    ],
)
def test_a_bad_registration_number_is_refused_clearly_and_nothing_is_saved(
    vendor, vendor_owner, number, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ServiceError) as exc:
        request(vendor, vendor_owner, registration_number=number)
    assert exc.value.message == (
        "Enter the business registration number as 5 to 32 letters, digits or hyphens, "
        "without spaces: in China, the 18-character unified social credit code."
    )
    assert exc.value.code == "registration_number_invalid"
    vendor.refresh_from_db()
    assert vendor.verification_status == Verification.UNVERIFIED
    assert (vendor.legal_name, vendor.registration_number) == ("", "")
    assert not VerificationEvent.objects.exists()
    assert mail.outbox == []


def test_registration_numbers_from_other_registers_are_accepted(vendor, vendor_owner):
    organization = request(vendor, vendor_owner, registration_number="hrb-214873-b")
    assert organization.registration_number == "HRB-214873-B"


def test_a_legal_name_is_required(vendor, vendor_owner):
    with pytest.raises(ServiceError, match="legal name"):
        request(vendor, vendor_owner, legal_name="   ")
    vendor.refresh_from_db()
    assert vendor.verification_status == Verification.UNVERIFIED


def test_asking_twice_is_refused(pending, vendor_owner):
    with pytest.raises(Conflict, match="already waiting for verification"):
        request(pending, vendor_owner)
    assert actions(pending) == ["requested"]


def test_staff_verify_a_pending_request(
    pending, staff, vendor_owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        organization = services.organization_verify(actor=staff, organization=pending)
    organization.refresh_from_db()
    assert organization.is_verified
    assert organization.verified_at is not None
    assert actions(organization) == ["requested", "verified"]
    assert organization.verification_events.first().actor == staff
    [email] = mail.outbox
    assert email.to == [vendor_owner.email]
    assert email.subject == "Lumen Edge: Verified"
    assert "Verified vendor" in email.body


def test_only_staff_decide(pending, vendor_owner):
    steps = [
        lambda: services.organization_verify(actor=vendor_owner, organization=pending),
        lambda: services.organization_reject_verification(
            actor=vendor_owner, organization=pending, reason="No."
        ),
        lambda: services.organization_revoke_verification(
            actor=vendor_owner, organization=pending, reason="No."
        ),
    ]
    for step in steps:
        with pytest.raises(ServiceError, match="Only Precis staff") as exc:
            step()
        assert exc.value.status_code == 403
    pending.refresh_from_db()
    assert pending.verification_status == Verification.PENDING
    assert actions(pending) == ["requested"]


def test_staff_cannot_verify_what_nobody_asked_for(vendor, staff):
    with pytest.raises(Conflict, match="has not asked for verification"):
        services.organization_verify(actor=staff, organization=vendor)
    with pytest.raises(Conflict):
        services.organization_reject_verification(actor=staff, organization=vendor, reason="x")
    vendor.refresh_from_db()
    assert vendor.verification_status == Verification.UNVERIFIED
    assert not VerificationEvent.objects.exists()


def test_a_rejection_needs_a_reason(pending, staff):
    with pytest.raises(ServiceError, match="reason is required"):
        services.organization_reject_verification(actor=staff, organization=pending, reason=" ")
    pending.refresh_from_db()
    assert pending.verification_status == Verification.PENDING


def test_rejected_with_a_reason_the_vendor_may_ask_again(
    pending, staff, vendor_owner, django_capture_on_commit_callbacks
):
    reason = "The registration number belongs to another company."
    with django_capture_on_commit_callbacks(execute=True):
        services.organization_reject_verification(
            actor=staff, organization=pending, reason=f"  {reason}\n"
        )
    pending.refresh_from_db()
    assert pending.verification_status == Verification.REJECTED
    assert pending.verification_reason == reason
    assert pending.verification_events.first().reason == reason
    [email] = mail.outbox
    assert email.subject == "Lumen Edge: Verification rejected"
    assert reason in email.body

    again = request(pending, vendor_owner, registration_number="91310000MA1K4AB12D")
    assert again.verification_status == Verification.PENDING
    assert again.verification_reason == ""  # the reason stays in the history
    assert actions(again) == ["requested", "rejected", "requested"]


def test_staff_revoke_a_verification_with_a_reason(
    pending, staff, vendor_owner, django_capture_on_commit_callbacks
):
    services.organization_verify(actor=staff, organization=pending)
    with pytest.raises(ServiceError, match="reason is required"):
        services.organization_revoke_verification(actor=staff, organization=pending, reason="")
    with django_capture_on_commit_callbacks(execute=True):
        services.organization_revoke_verification(
            actor=staff, organization=pending, reason="The business licence was cancelled."
        )
    pending.refresh_from_db()
    assert pending.verification_status == Verification.REJECTED
    assert not pending.is_verified
    assert pending.verified_at is None
    assert pending.verification_reason == "The business licence was cancelled."
    assert actions(pending) == ["requested", "verified", "revoked"]
    [email] = mail.outbox
    assert email.subject == "Lumen Edge: Verification revoked"
    assert "The business licence was cancelled." in email.body
    # It may ask again, like after a rejection.
    assert request(pending, vendor_owner).verification_status == Verification.PENDING


def test_only_a_verified_organization_can_be_revoked(pending, staff):
    with pytest.raises(Conflict, match="already waiting"):
        services.organization_revoke_verification(actor=staff, organization=pending, reason="x")
    assert actions(pending) == ["requested"]


def test_a_verified_organization_cannot_ask_again(pending, staff, vendor_owner):
    services.organization_verify(actor=staff, organization=pending)
    with pytest.raises(Conflict, match="already verified"):
        request(pending, vendor_owner)


def test_nothing_is_emailed_before_the_step_commits(pending, staff):
    # Outside django_capture_on_commit_callbacks the test transaction never commits.
    services.organization_verify(actor=staff, organization=pending)
    assert mail.outbox == []


def test_the_admin_shows_and_filters_by_verification_but_leaves_it_to_the_services(client, pending):
    superuser = UserFactory(is_staff=True, is_superuser=True)
    TOTP.activate(superuser, generate_totp_secret())
    VendorFactory(name="Quiet Works")
    client.force_login(superuser)
    changelist = reverse("admin:accounts_organization_changelist")
    page = client.get(changelist, {"verification_status__exact": "pending"}).content.decode()
    assert "Lumen Edge" in page
    assert "Quiet Works" not in page
    assert "Verification pending" in page
    page = client.get(reverse("admin:accounts_organization_change", args=[pending.pk]))
    page = page.content.decode()
    assert USCC in page
    assert 'name="registration_number"' not in page  # read-only: decided on the staff page
    assert reverse("vendors:moderation_vendor", args=[pending.slug]) in page
    assert "Verification requested" in page  # the history inline
