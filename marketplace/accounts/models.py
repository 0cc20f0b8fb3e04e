"""People, the organizations they act for, and how they join them."""

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
    person, so that staff can change while the business relationship stays.
    """

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
    created_at = models.DateTimeField(default=timezone.now, editable=False)

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
        ]

    def __str__(self) -> str:
        return self.name


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
