"""What is for sale or for use on Precis: listings, their versions, images, taxonomy and reviews."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from marketplace.accounts.models import Organization
from marketplace.catalog.validators import (
    validate_semver,
    validate_sha256,
    validate_spdx_expression,
)


class Term(models.Model):
    """One value of a catalog facet (an industry, a scenario, a protocol...).

    Facets are data, not code, so staff can add an industry without a release; every term has
    an English and a Simplified Chinese name.
    """

    class Kind(models.TextChoices):
        INDUSTRY = "industry", _("Industry")
        SCENARIO = "scenario", _("Scenario")
        DEPLOYMENT = "deployment", _("Deployment")
        PROTOCOL = "protocol", _("Protocol")
        PRICING = "pricing", _("Pricing model")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    slug = models.SlugField(max_length=60)
    name = models.CharField(_("name (English)"), max_length=80)
    name_zh_hans = models.CharField(_("name (Simplified Chinese)"), max_length=80, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["kind", "position", "name"]
        constraints = [models.UniqueConstraint(fields=["kind", "slug"], name="term_kind_slug")]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        if translation.get_language() == "zh-hans" and self.name_zh_hans:
            return self.name_zh_hans
        return self.name


class Listing(models.Model):
    """A solution or an open-source component that a vendor organization offers.

    Only published listings are visible to the public; everything else is visible to the
    vendor's members and to staff.
    """

    class Kind(models.TextChoices):
        SOLUTION = "solution", _("Solution")
        COMPONENT = "component", _("Open-source component")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")  # being written by the vendor; rejected listings return here
        IN_REVIEW = "in_review", _("In review")  # submitted, waiting for staff
        PUBLISHED = "published", _("Published")  # public in the storefront and the API
        SUSPENDED = "suspended", _("Suspended")  # hidden by staff (a complaint, a security issue)
        ARCHIVED = "archived", _("Archived")  # withdrawn by the vendor for good

    vendor = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="listings")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.SOLUTION)
    slug = models.SlugField(max_length=90, unique=True)
    name = models.CharField(_("name"), max_length=120)
    tagline = models.CharField(_("tagline"), max_length=200)
    description = models.TextField(_("description"), help_text=_("Markdown."), blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    terms = models.ManyToManyField(Term, related_name="listings", blank=True)
    components = models.ManyToManyField(
        "self",
        symmetrical=False,
        related_name="used_by",
        blank=True,
        limit_choices_to={"kind": "component"},
        help_text=_("Open-source components this solution builds on."),
    )

    # Footprint: what makes "small, fast, light, precise" measurable.
    deploy_minutes = models.PositiveIntegerField(
        _("minutes to deploy"), null=True, blank=True, validators=[MaxValueValidator(100_000)]
    )
    min_ram_mb = models.PositiveIntegerField(
        _("minimum RAM (MB)"), null=True, blank=True, validators=[MaxValueValidator(10_000_000)]
    )
    cpu_cores = models.DecimalField(
        _("CPU cores"),
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    works_offline = models.BooleanField(_("works offline"), default=False)
    edge_hardware = models.CharField(
        _("edge hardware"),
        max_length=200,
        blank=True,
        help_text=_("For example: Raspberry Pi 4, Siemens IOT2050."),
    )

    # Components only.
    license = models.CharField(
        _("licence (SPDX)"),
        max_length=200,
        blank=True,
        validators=[validate_spdx_expression],
        help_text=_("An SPDX expression such as Apache-2.0 or MIT OR Apache-2.0."),
    )
    repository_url = models.URLField(_("repository"), blank=True)
    security_contact = models.CharField(
        _("security contact"),
        max_length=200,
        blank=True,
        help_text=_("Where to report a vulnerability privately: an email address or a URL."),
    )

    website = models.URLField(_("website"), blank=True)
    rating_average = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    rating_count = models.PositiveIntegerField(default=0)
    # Name, tagline, terms and description as plain text, kept by services for search.
    search_document = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-published_at", "name"]
        indexes = [
            models.Index(fields=["status", "-published_at"], name="listing_status_published"),
            models.Index(fields=["status", "-rating_average"], name="listing_status_rating"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="solution") | ~Q(license=""),
                name="component_has_licence",
                violation_error_message=_("An open-source component needs an SPDX licence."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_public(self) -> bool:
        return self.status == self.Status.PUBLISHED


class KpiClaim(models.Model):
    """A measurable result the vendor claims ("-38% defect escapes"), with its evidence."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="kpi_claims")
    label = models.CharField(_("what"), max_length=120)
    value = models.CharField(_("result"), max_length=60)
    evidence_url = models.URLField(_("evidence"), blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return f"{self.label}: {self.value}"


class ListingVersion(models.Model):
    """A release of a listing: what changed, when, and the checksum of what to install."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="versions")
    version = models.CharField(_("version"), max_length=60, validators=[validate_semver])
    changelog = models.TextField(_("changelog"), blank=True, help_text=_("Markdown."))
    released_on = models.DateField(_("release date"), default=timezone.localdate)
    artifact_sha256 = models.CharField(
        _("artifact SHA-256"), max_length=64, blank=True, validators=[validate_sha256]
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-released_on", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["listing", "version"], name="listing_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.listing} {self.version}"


def _image_path(instance: "ListingImage", filename: str) -> str:
    return f"listings/{instance.listing_id}/{filename}"


class ListingImage(models.Model):
    """A screenshot, checked by its content (catalog/images.py), never by its file name."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(upload_to=_image_path, width_field="width", height_field="height")
    width = models.PositiveIntegerField(editable=False)
    height = models.PositiveIntegerField(editable=False)
    caption = models.CharField(_("caption"), max_length=160, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.caption or self.image.name


class Review(models.Model):
    """A buyer organization's rating and review of a listing, with the vendor's reply."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="reviews")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="reviews")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    rating = models.PositiveSmallIntegerField(
        _("rating"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("review"), max_length=4000)
    vendor_reply = models.TextField(_("vendor reply"), max_length=4000, blank=True)
    # Opt-in by the buyer: shown as "used in production at N plants"; empty keeps it private.
    production_plants = models.PositiveIntegerField(
        _("plants using it in production"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(100_000)],
    )
    replied_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["listing", "organization"], name="one_review_per_org"),
            models.CheckConstraint(
                condition=Q(rating__gte=1) & Q(rating__lte=5), name="rating_one_to_five"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rating}/5 {self.listing} by {self.organization}"


class ModerationEvent(models.Model):
    """One step in a listing's life (submitted, approved, rejected...), kept for good."""

    class Action(models.TextChoices):
        CREATED = "created", _("Created")
        SUBMITTED = "submitted", _("Submitted for review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        SUSPENDED = "suspended", _("Suspended")
        REINSTATED = "reinstated", _("Reinstated")
        ARCHIVED = "archived", _("Archived")

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="moderation")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    from_status = models.CharField(max_length=16, choices=Listing.Status.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=Listing.Status.choices)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.listing}: {self.get_action_display()}"
