"""Reads for accounts."""

from django.db.models import QuerySet

from marketplace.accounts.models import (
    Invitation,
    Membership,
    Organization,
    Role,
    User,
    VerificationEvent,
)


def memberships_of(user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("organization")


def members_of(organization: Organization) -> QuerySet[Membership]:
    return Membership.objects.filter(organization=organization).select_related("user")


def owners_and_admins_of(organization: Organization) -> QuerySet[Membership]:
    """The people who speak for an organization: they are emailed about its verification."""
    return members_of(organization).filter(role__in=[Role.OWNER, Role.ADMIN])


def organizations_to_verify() -> QuerySet[Organization]:
    """Organizations waiting for staff to check their verification request, oldest first."""
    return Organization.objects.filter(
        verification_status=Organization.Verification.PENDING
    ).order_by("verification_requested_at", "pk")


def verification_history(organization: Organization) -> QuerySet[VerificationEvent]:
    """Every step of an organization's verification, newest first, with who took it."""
    return organization.verification_events.select_related("actor").order_by("-created_at", "-pk")


def pending_invitations_of(organization: Organization) -> QuerySet[Invitation]:
    return Invitation.objects.filter(
        organization=organization, status=Invitation.Status.PENDING
    ).select_related("invited_by")


def open_invitation(key: str) -> Invitation | None:
    invitation = Invitation.objects.select_related("organization").filter(key=key).first()
    return invitation if invitation and invitation.is_open else None


def user_requires_mfa(user: User) -> bool:
    """Staff and owners of vendor organizations must protect their account with MFA."""
    if not user.is_authenticated:
        return False
    return (
        user.is_staff
        or Membership.objects.filter(user=user, role="owner", organization__is_vendor=True).exists()
    )


def user_has_mfa(user: User) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
