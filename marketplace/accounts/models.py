"""People, the organizations they act for, and how they join them."""

import re
import secrets
import zoneinfo
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

INVITATION_LIFETIME = timedelta(days=7)


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


# Loose on purpose: business registers differ by country. In China it is the 18-character
# unified social credit code; elsewhere a company or trade register number.
REGISTRATION_NUMBER = re.compile(r"[A-Za-z0-9-]{5,32}")


def normalize_registration_number(value: str) -> str:
    """A registration number as it is stored: without surrounding spaces, upper-case."""
    return value.strip().upper()


def validate_registration_number(value: str) -> None:
    if not REGISTRATION_NUMBER.fullmatch(value):
        raise ValidationError(
            _(
                "Enter the business registration number as 5 to 32 letters, digits or hyphens, "
                "without spaces: in China, the 18-character unified social credit code."
            ),
            code="registration_number_invalid",
        )


class UserManager(BaseUserManager["User"]):
    """Creates users keyed by email; there are no user names on Precis."""

    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra_fields) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields) -> "User":
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields) -> "User":
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    """A person who signs in with an email address.

    People never own anything themselves: they act for organizations through memberships.
    """

    username = None
    email = models.EmailField(_("email address"), unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.email


class Organization(models.Model):
    """A company on Precis: an SME that buys, a vendor that sells, or both.

    Listings, subscriptions, installations and invoices all belong to an organization, never to a
    person, so that staff can change while the business relationship stays. A vendor may ask
    Precis staff to verify that it is the registered business it claims to be; buyers then see
    it as a verified vendor.
    """

    class Verification(models.TextChoices):
        """How far Precis staff have checked that a vendor is the registered business it claims.

        Verification changes only through the services in services.py, each of which records
        a VerificationEvent and emails the organization's owners and admins.
        """

        UNVERIFIED = "unverified", _("Not verified")  # nothing asked yet
        PENDING = "pending", _("Verification pending")  # the vendor asked; staff to check
        VERIFIED = "verified", _("Verified")  # staff checked the details; buyers see a badge
        # Staff refused the request, or withdrew an earlier verification; the reason says why
        # and the vendor may ask again once the details are fixed.
        REJECTED = "rejected", _("Verification rejected")

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    is_buyer = models.BooleanField(_("buys solutions"), default=True)
    is_vendor = models.BooleanField(_("sells solutions"), default=False)
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        default=settings.PRECIS_DEFAULT_TIME_ZONE,
        validators=[validate_time_zone],
        help_text=_("Billing periods start and end at midnight in this time zone."),
    )
    website = models.URLField(_("website"), blank=True)
    language = models.CharField(
        _("email language"),
        max_length=16,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
        help_text=_("Invoices, reminders and other emails to this organization are written in it."),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    verification_status = models.CharField(
        _("verification"),
        max_length=16,
        choices=Verification.choices,
        default=Verification.UNVERIFIED,
    )
    # What staff check, as the vendor gave it with its latest request.
    legal_name = models.CharField(
        _("legal name"),
        max_length=200,
        blank=True,
        help_text=_("The name on the business licence or in the company register."),
    )
    registration_number = models.CharField(
        _("business registration number"),
        max_length=32,
        blank=True,
        validators=[validate_registration_number],
        help_text=_("In China, the 18-character unified social credit code."),
    )
    verification_requested_at = models.DateTimeField(
        _("verification requested"), null=True, blank=True
    )
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)
    # Why staff rejected the latest request or revoked the verification; shown to the vendor.
    verification_reason = models.TextField(_("verification reason"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        constraints = [
            models.CheckConstraint(
                condition=Q(is_buyer=True) | Q(is_vendor=True),
                name="organization_buys_or_sells",
                violation_error_message=_("Choose at least one: buy, sell, or both."),
            ),
            models.CheckConstraint(
                condition=Q(verification_status="unverified")
                | (~Q(legal_name="") & ~Q(registration_number="")),
                name="organization_verification_has_details",
                violation_error_message=_(
                    "Verification needs the legal name and the business registration number."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # The same number typed in lower case is the same number: store it as registers print it.
        self.registration_number = normalize_registration_number(self.registration_number)

    @property
    def is_verified(self) -> bool:
        return self.verification_status == self.Verification.VERIFIED


class Role(models.TextChoices):
    """What a member may do; the permissions of each role are in policies.py."""

    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    BILLING = "billing", _("Billing")
    MEMBER = "member", _("Member")


class Membership(models.Model):
    """A person's place in an organization, with the role that decides what they may do there."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["organization__name", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="one_membership_per_org"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}) in {self.organization}"


def _new_invitation_key() -> str:
    return secrets.token_urlsafe(32)


def _invitation_expiry():
    return timezone.now() + INVITATION_LIFETIME


class Invitation(models.Model):
    """An offer, sent by email, to join an organization with a role.

    Accepted only by a signed-in person whose verified email matches; it expires after a week.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")  # sent, can still be accepted
        ACCEPTED = "accepted", _("Accepted")  # a membership was created from it
        REVOKED = "revoked", _("Revoked")  # withdrawn by an admin before acceptance
        EXPIRED = "expired", _("Expired")  # not accepted within its lifetime

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField(_("email address"))
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.MEMBER)
    # The language the inviter was using: the email is written in it.
    language = models.CharField(max_length=16, choices=settings.LANGUAGES, default="en")
    key = models.CharField(max_length=64, unique=True, default=_new_invitation_key, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    invited_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, related_name="invitations_sent"
    )
    accepted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(default=_invitation_expiry)
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "email"],
                condition=Q(status="pending"),
                name="one_pending_invitation_per_email",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} to {self.organization}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.PENDING and self.expires_at > timezone.now()


class VerificationEvent(models.Model):
    """One step of an organization's verification (asked, verified, rejected, revoked).

    Rows are only ever added, never changed or deleted: the vendor and staff can always see who
    decided what, when, why, and on which details.
    """

    class Action(models.TextChoices):
        REQUESTED = "requested", _("Verification requested")
        VERIFIED = "verified", _("Verified")
        REJECTED = "rejected", _("Verification rejected")
        REVOKED = "revoked", _("Verification revoked")

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="verification_events"
    )
    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    action = models.CharField(max_length=16, choices=Action.choices)
    # The details as they stood at this step, so a decision stays tied to what was checked.
    legal_name = models.CharField(_("legal name"), max_length=200, blank=True)
    registration_number = models.CharField(
        _("business registration number"), max_length=32, blank=True
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.organization}: {self.get_action_display()}"
