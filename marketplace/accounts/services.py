"""Writes for accounts: organizations, their verification, memberships and invitations."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _

from marketplace.accounts.models import (
    Invitation,
    Membership,
    Organization,
    Role,
    User,
    VerificationEvent,
    normalize_registration_number,
    validate_registration_number,
)
from marketplace.accounts.policies import Permission, has_permission
from marketplace.errors import Conflict, ServiceError

# Words that name organization pages in marketplace/accounts/urls.py, and the listing steps
# that share /vendors/moderation/vendors/<word>/ with the staff verification pages.
RESERVED_SLUGS = frozenset(
    {"new", "switch", "invitations", "approve", "reject", "suspend", "reinstate"}
)


def _unique_slug(name: str) -> str:
    base = slugify(name)[:70] or "organization"
    slug, n = base, 2
    while slug in RESERVED_SLUGS or Organization.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def organization_create(
    *,
    owner: User,
    name: str,
    is_buyer: bool = True,
    is_vendor: bool = False,
    time_zone: str | None = None,
    language: str | None = None,
    website: str = "",
) -> Organization:
    """Create an organization with its creator as owner."""
    name = name.strip()
    if not name:
        raise ServiceError(_("An organization needs a name."), code="name_required")
    if not (is_buyer or is_vendor):
        raise ServiceError(
            _("An organization buys, sells, or both: choose at least one."), code="kind_required"
        )
    organization = Organization(
        name=name, slug=_unique_slug(name), is_buyer=is_buyer, is_vendor=is_vendor, website=website
    )
    if time_zone:
        organization.time_zone = time_zone
    if language:
        organization.language = language
    organization.full_clean()
    organization.save()
    Membership.objects.create(user=owner, organization=organization, role=Role.OWNER)
    return organization


@transaction.atomic
def organization_update(
    *, actor: User, organization: Organization, **fields: object
) -> Organization:
    if not has_permission(actor, organization, Permission.EDIT_ORGANIZATION):
        raise ServiceError(
            _("Your role does not allow editing this organization."), status_code=403
        )
    allowed = {"name", "is_buyer", "is_vendor", "time_zone", "language", "website"}
    for field, value in fields.items():
        if field not in allowed:
            raise ServiceError(f"Unknown field {field}.")
        setattr(organization, field, value)
    if not (organization.is_buyer or organization.is_vendor):
        raise ServiceError(
            _("An organization buys, sells, or both: choose at least one."), code="kind_required"
        )
    organization.full_clean()
    organization.save()
    return organization


# --- Verification of vendor organizations -------------------------------------------------

Verification = Organization.Verification


def _verification_step(
    organization: Organization,
    *,
    actor: User,
    allowed_from: set[str],
    to: str,
    action: str,
    reason: str = "",
    **details: str,
) -> Organization:
    """Move a locked organization's verification on, record the step, and email its people.

    Fails, changing nothing, if the organization is not in one of `allowed_from`.
    """
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    if organization.verification_status not in allowed_from:
        raise Conflict(_verification_not_now(organization), code="verification_status")
    now = timezone.now()
    for name, value in details.items():
        setattr(organization, name, value)
    organization.verification_status = to
    organization.verification_reason = reason
    if action == VerificationEvent.Action.REQUESTED:
        organization.verification_requested_at = now
    organization.verified_at = now if to == Verification.VERIFIED else None
    try:
        organization.full_clean()
    except ValidationError as exc:
        raise ServiceError(" ".join(exc.messages), code="invalid") from exc
    organization.save(
        update_fields=[
            *details,
            "verification_status",
            "verification_reason",
            "verification_requested_at",
            "verified_at",
        ]
    )
    event = VerificationEvent.objects.create(
        organization=organization,
        actor=actor,
        action=action,
        legal_name=organization.legal_name,
        registration_number=organization.registration_number,
        reason=reason,
        created_at=now,
    )
    transaction.on_commit(lambda: _notify_verification(event.pk))
    return organization


def _verification_not_now(organization: Organization) -> str:
    """Why a verification step does not fit the organization's state, in the person's words."""
    status = organization.verification_status
    if status == Verification.UNVERIFIED:
        where = _("%(name)s has not asked for verification.")
    elif status == Verification.PENDING:
        where = _("%(name)s is already waiting for verification.")
    elif status == Verification.VERIFIED:
        where = _("%(name)s is already verified.")
    else:
        where = _("The verification of %(name)s was rejected or revoked.")
    return " ".join([where % {"name": organization.name}, _("That step is not possible now.")])


def _notify_verification(event_id: int) -> None:
    from marketplace.accounts.tasks import organization_verification_notify

    organization_verification_notify.delay(event_id)


def _ensure_staff(actor: User) -> None:
    if not actor.is_staff:
        raise ServiceError(_("Only Precis staff verify organizations."), status_code=403)


def _required_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ServiceError(_("Tell the vendor why: a reason is required."), code="reason_required")
    return reason


@transaction.atomic
def organization_request_verification(
    *, actor: User, organization: Organization, legal_name: str, registration_number: str
) -> Organization:
    """Ask Precis staff to verify a vendor organization's legal name and registration number."""
    if not has_permission(actor, organization, Permission.EDIT_ORGANIZATION):
        raise ServiceError(
            _("Only owners and admins of the organization can ask for verification."),
            status_code=403,
        )
    if not organization.is_vendor:
        raise ServiceError(
            _("Only vendor organizations are verified."), code="not_a_vendor", status_code=403
        )
    legal_name = " ".join(legal_name.split())
    if not legal_name:
        raise ServiceError(
            _("Give the organization's legal name, as on its business licence."),
            code="legal_name_required",
        )
    registration_number = normalize_registration_number(registration_number)
    try:
        validate_registration_number(registration_number)
    except ValidationError as exc:
        raise ServiceError(exc.messages[0], code="registration_number_invalid") from exc
    return _verification_step(
        organization,
        actor=actor,
        allowed_from={Verification.UNVERIFIED, Verification.REJECTED},
        to=Verification.PENDING,
        action=VerificationEvent.Action.REQUESTED,
        legal_name=legal_name,
        registration_number=registration_number,
    )


@transaction.atomic
def organization_verify(*, actor: User, organization: Organization) -> Organization:
    """Staff confirm the details of a pending request: buyers see the vendor as verified."""
    _ensure_staff(actor)
    return _verification_step(
        organization,
        actor=actor,
        allowed_from={Verification.PENDING},
        to=Verification.VERIFIED,
        action=VerificationEvent.Action.VERIFIED,
    )


@transaction.atomic
def organization_reject_verification(
    *, actor: User, organization: Organization, reason: str
) -> Organization:
    """Staff refuse a pending request, saying what the vendor should fix before asking again."""
    _ensure_staff(actor)
    return _verification_step(
        organization,
        actor=actor,
        allowed_from={Verification.PENDING},
        to=Verification.REJECTED,
        action=VerificationEvent.Action.REJECTED,
        reason=_required_reason(reason),
    )


@transaction.atomic
def organization_revoke_verification(
    *, actor: User, organization: Organization, reason: str
) -> Organization:
    """Staff withdraw a verification (the business closed, the details proved wrong...)."""
    _ensure_staff(actor)
    return _verification_step(
        organization,
        actor=actor,
        allowed_from={Verification.VERIFIED},
        to=Verification.REJECTED,
        action=VerificationEvent.Action.REVOKED,
        reason=_required_reason(reason),
    )


# --- Memberships and invitations -----------------------------------------------------------


def _ensure_can_grant(actor: User, organization: Organization, role: str) -> None:
    if not has_permission(actor, organization, Permission.MANAGE_MEMBERS):
        raise ServiceError(_("Your role does not allow managing members."), status_code=403)
    if role == Role.OWNER and not has_permission(actor, organization, Permission.MANAGE_OWNERS):
        raise ServiceError(_("Only owners can make someone an owner."), status_code=403)


@transaction.atomic
def invitation_create(
    *, actor: User, organization: Organization, email: str, role: str = Role.MEMBER
) -> Invitation:
    """Invite someone by email; the email is sent by a task once the invitation is committed."""
    from marketplace.accounts.tasks import invitation_send

    email = User.objects.normalize_email(email).strip().lower()
    if role not in Role.values:
        raise ServiceError(_("Unknown role."), code="role_invalid")
    _ensure_can_grant(actor, organization, role)
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise Conflict(_("%(email)s is already a member.") % {"email": email}, code="member")
    if Invitation.objects.filter(
        organization=organization, email=email, status=Invitation.Status.PENDING
    ).exists():
        raise Conflict(
            _("%(email)s already has a pending invitation.") % {"email": email}, code="invited"
        )
    language = translation.get_language()
    invitation = Invitation.objects.create(
        organization=organization,
        email=email,
        role=role,
        invited_by=actor,
        language=language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE,
    )
    transaction.on_commit(lambda: invitation_send.delay(invitation.pk))
    return invitation


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """Turn an open invitation into a membership for the person it was sent to."""
    from allauth.account.models import EmailAddress

    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_open:
        raise ServiceError(_("This invitation is no longer valid."), code="invitation_closed")
    if not EmailAddress.objects.filter(
        user=user, email__iexact=invitation.email, verified=True
    ).exists():
        raise ServiceError(
            _("This invitation was sent to %(email)s; sign in with that verified address.")
            % {"email": invitation.email},
            code="invitation_email_mismatch",
            status_code=403,
        )
    membership, _created = Membership.objects.get_or_create(
        user=user, organization=invitation.organization, defaults={"role": invitation.role}
    )
    invitation.status = Invitation.Status.ACCEPTED
    invitation.accepted_by = user
    invitation.responded_at = timezone.now()
    invitation.save(update_fields=["status", "accepted_by", "responded_at"])
    return membership


@transaction.atomic
def invitation_revoke(*, actor: User, invitation: Invitation) -> Invitation:
    _ensure_can_grant(actor, invitation.organization, invitation.role)
    if invitation.status != Invitation.Status.PENDING:
        raise Conflict(_("Only a pending invitation can be revoked."))
    invitation.status = Invitation.Status.REVOKED
    invitation.responded_at = timezone.now()
    invitation.save(update_fields=["status", "responded_at"])
    return invitation


def invitations_expire(*, now=None) -> int:
    """Mark pending invitations past their expiry as expired; returns how many changed."""
    now = now or timezone.now()
    return Invitation.objects.filter(status=Invitation.Status.PENDING, expires_at__lte=now).update(
        status=Invitation.Status.EXPIRED, responded_at=now
    )


def _other_owners(membership: Membership) -> bool:
    return (
        Membership.objects.filter(organization=membership.organization, role=Role.OWNER)
        .exclude(pk=membership.pk)
        .exists()
    )


@transaction.atomic
def membership_change_role(*, actor: User, membership: Membership, role: str) -> Membership:
    if role not in Role.values:
        raise ServiceError(_("Unknown role."), code="role_invalid")
    _ensure_can_grant(actor, membership.organization, role)
    if membership.role == Role.OWNER:
        _ensure_can_grant(actor, membership.organization, Role.OWNER)
        # Lock the owners so that two demotions at once cannot leave none.
        list(
            Membership.objects.select_for_update().filter(
                organization=membership.organization, role=Role.OWNER
            )
        )
        if role != Role.OWNER and not _other_owners(membership):
            raise Conflict(_("An organization needs at least one owner."), code="last_owner")
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, actor: User, membership: Membership) -> None:
    leaving = actor.pk == membership.user_id
    if not leaving:
        _ensure_can_grant(actor, membership.organization, membership.role)
    if membership.role == Role.OWNER:
        list(
            Membership.objects.select_for_update().filter(
                organization=membership.organization, role=Role.OWNER
            )
        )
        if not _other_owners(membership):
            raise Conflict(_("An organization needs at least one owner."), code="last_owner")
    membership.delete()
