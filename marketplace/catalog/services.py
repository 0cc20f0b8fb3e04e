"""Writes for the catalog: listings and their life cycle, versions, images and reviews."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Avg, Count
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from marketplace.accounts.models import Organization, User
from marketplace.accounts.policies import Permission, has_permission
from marketplace.catalog.freshness import catalog_changed
from marketplace.catalog.images import validate_image_upload
from marketplace.catalog.markdown import markdown_to_text
from marketplace.catalog.models import (
    KpiClaim,
    Listing,
    ListingImage,
    ListingVersion,
    ModerationEvent,
    Review,
    Term,
)
from marketplace.catalog.validators import normalize_spdx_expression
from marketplace.errors import Conflict, ServiceError

EDITABLE_FIELDS = frozenset(
    {
        "kind", "name", "tagline", "description", "deploy_minutes", "min_ram_mb", "cpu_cores",
        "works_offline", "edge_hardware", "license", "repository_url", "website",
    }
)  # fmt: skip
Status = Listing.Status


@dataclass(frozen=True)
class KpiClaimInput:
    label: str
    value: str
    evidence_url: str = ""


def _ensure_vendor_member(actor: User, vendor: Organization) -> None:
    if not vendor.is_vendor:
        raise ServiceError(_("Only vendor organizations can publish listings."), status_code=403)
    if not has_permission(actor, vendor, Permission.PUBLISH):
        raise ServiceError(_("Your role does not allow publishing listings."), status_code=403)


def _validation_error(exc: ValidationError) -> ServiceError:
    messages = []
    for field, errors in exc.message_dict.items() if hasattr(exc, "error_dict") else []:
        label = "" if field == "__all__" else f"{field}: "
        messages.extend(f"{label}{error}" for error in errors)
    return ServiceError(" ".join(messages or exc.messages), code="invalid")


# Words that name storefront pages beside /catalog/<slug>/ (marketplace/storefront/urls.py).
RESERVED_SLUGS = frozenset({"compare"})


def listing_unique_slug(name: str, *, exclude_pk: int | None = None) -> str:
    base = slugify(name)[:80] or "listing"
    slug, n = base, 2
    taken = Listing.objects.exclude(pk=exclude_pk) if exclude_pk else Listing.objects.all()
    while slug in RESERVED_SLUGS or taken.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def listing_search_document(listing: Listing) -> str:
    """Everything a buyer might type to find the listing, as one lower-case text."""
    terms = " ".join(f"{t.name} {t.name_zh_hans}" for t in listing.terms.all())
    parts = [
        listing.name,
        listing.tagline,
        listing.vendor.name,
        terms,
        listing.edge_hardware,
        listing.license,
        markdown_to_text(listing.description),
    ]
    return " ".join(p for p in parts if p).lower()


def _save(listing: Listing, *, fields: Iterable[str] | None = None) -> Listing:
    """Validate and save; with `fields`, write only those (and never the status)."""
    if listing.license:
        listing.license = normalize_spdx_expression(listing.license)
    try:
        listing.full_clean(exclude=["search_document"])
    except ValidationError as exc:
        raise _validation_error(exc) from exc
    if fields is None:
        listing.save()
    else:
        listing.save(update_fields=[*fields, "license", "updated_at"])
    return listing


def _record(
    listing: Listing, *, actor: User | None, action: str, from_status: str, reason: str = ""
) -> None:
    ModerationEvent.objects.create(
        listing=listing,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=listing.status,
        reason=reason,
    )


def _set_relations(
    listing: Listing,
    *,
    terms: Iterable[Term] | None,
    components: Iterable[Listing] | None,
    kpi_claims: Iterable[KpiClaimInput] | None,
) -> None:
    if terms is not None:
        listing.terms.set(terms)
    if components is not None:
        components = list(components)
        if any(c.kind != Listing.Kind.COMPONENT or c.pk == listing.pk for c in components):
            raise ServiceError(_("Only open-source components can be linked as components."))
        listing.components.set(components)
    if kpi_claims is not None:
        listing.kpi_claims.all().delete()
        KpiClaim.objects.bulk_create(
            KpiClaim(listing=listing, position=i, **vars(claim))
            for i, claim in enumerate(kpi_claims)
        )
    listing.search_document = listing_search_document(listing)
    listing.save(update_fields=["search_document"])


@transaction.atomic
def listing_apply(*, listing: Listing, terms: Iterable[Term] | None = None, **fields) -> Listing:
    """Write content fields and terms of a listing (saving a new one) for a caller that has
    decided who may: community moderation accepting a proposal. Validated like any edit."""
    for field, value in fields.items():
        setattr(listing, field, value)
    _save(listing, fields=fields if listing.pk else None)
    _set_relations(listing, terms=terms, components=None, kpi_claims=None)
    catalog_changed()
    return listing


@transaction.atomic
def listing_create(
    *,
    actor: User,
    vendor: Organization,
    name: str,
    tagline: str,
    terms: Iterable[Term] = (),
    components: Iterable[Listing] = (),
    kpi_claims: Iterable[KpiClaimInput] = (),
    **fields,
) -> Listing:
    """Start a draft listing for a vendor organization."""
    _ensure_vendor_member(actor, vendor)
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise ServiceError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    listing = Listing(vendor=vendor, name=name.strip(), tagline=tagline.strip(), **fields)
    listing.slug = listing_unique_slug(listing.name)
    _save(listing)
    _set_relations(listing, terms=terms, components=components, kpi_claims=kpi_claims)
    _record(listing, actor=actor, action=ModerationEvent.Action.CREATED, from_status="")
    return listing


@transaction.atomic
def listing_update(
    *,
    actor: User,
    listing: Listing,
    terms: Iterable[Term] | None = None,
    components: Iterable[Listing] | None = None,
    kpi_claims: Iterable[KpiClaimInput] | None = None,
    **fields,
) -> Listing:
    """Change a listing's content. Published listings stay published; the change is public.

    Only content fields are written, so an edit racing a moderation step keeps the new status.
    """
    _ensure_vendor_member(actor, listing.vendor)
    listing.status = Listing.objects.values_list("status", flat=True).get(pk=listing.pk)
    if listing.status in (Status.SUSPENDED, Status.ARCHIVED):
        raise Conflict(_("A suspended or archived listing cannot be edited."))
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise ServiceError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    for field, value in fields.items():
        setattr(listing, field, value)
    _save(listing, fields=fields)
    _set_relations(listing, terms=terms, components=components, kpi_claims=kpi_claims)
    catalog_changed()
    return listing


def _transition(
    listing: Listing,
    *,
    actor: User,
    allowed_from: set[str],
    to: str,
    action: str,
    reason: str = "",
) -> Listing:
    listing = Listing.objects.select_for_update().select_related("vendor").get(pk=listing.pk)
    if listing.status not in allowed_from:
        raise Conflict(
            _("This listing is %(status)s; that step is not possible now.")
            % {"status": listing.get_status_display().lower()},
            code="status",
        )
    from_status = listing.status
    listing.status = to
    if to == Status.PUBLISHED and listing.published_at is None:
        listing.published_at = timezone.now()
    listing.save(update_fields=["status", "published_at", "updated_at"])
    _record(listing, actor=actor, action=action, from_status=from_status, reason=reason)
    transaction.on_commit(lambda: _notify_vendor(listing.pk, action))
    catalog_changed()
    return listing


def _notify_vendor(listing_id: int, action: str) -> None:
    from marketplace.catalog.tasks import listing_notify_vendor

    listing_notify_vendor.delay(listing_id, action)


def _ensure_staff(actor: User) -> None:
    if not actor.is_staff:
        raise ServiceError(_("Only Precis staff moderate listings."), status_code=403)


@transaction.atomic
def listing_submit(*, actor: User, listing: Listing) -> Listing:
    _ensure_vendor_member(actor, listing.vendor)
    if not listing.description.strip():
        raise ServiceError(_("Describe the listing before submitting it for review."))
    return _transition(
        listing,
        actor=actor,
        allowed_from={Status.DRAFT},
        to=Status.IN_REVIEW,
        action=ModerationEvent.Action.SUBMITTED,
    )


@transaction.atomic
def listing_approve(*, actor: User, listing: Listing) -> Listing:
    _ensure_staff(actor)
    return _transition(
        listing,
        actor=actor,
        allowed_from={Status.IN_REVIEW},
        to=Status.PUBLISHED,
        action=ModerationEvent.Action.APPROVED,
    )


@transaction.atomic
def listing_reject(*, actor: User, listing: Listing, reason: str) -> Listing:
    _ensure_staff(actor)
    if not reason.strip():
        raise ServiceError(_("Tell the vendor why: a reason is required to reject."))
    return _transition(
        listing,
        actor=actor,
        allowed_from={Status.IN_REVIEW},
        to=Status.DRAFT,
        action=ModerationEvent.Action.REJECTED,
        reason=reason.strip(),
    )


@transaction.atomic
def listing_suspend(*, actor: User, listing: Listing, reason: str) -> Listing:
    _ensure_staff(actor)
    if not reason.strip():
        raise ServiceError(_("A reason is required to suspend a listing."))
    return _transition(
        listing,
        actor=actor,
        allowed_from={Status.PUBLISHED},
        to=Status.SUSPENDED,
        action=ModerationEvent.Action.SUSPENDED,
        reason=reason.strip(),
    )


@transaction.atomic
def listing_reinstate(*, actor: User, listing: Listing) -> Listing:
    _ensure_staff(actor)
    return _transition(
        listing,
        actor=actor,
        allowed_from={Status.SUSPENDED},
        to=Status.PUBLISHED,
        action=ModerationEvent.Action.REINSTATED,
    )


@transaction.atomic
def listing_archive(*, actor: User, listing: Listing) -> Listing:
    _ensure_vendor_member(actor, listing.vendor)
    return _transition(
        listing,
        actor=actor,
        allowed_from={Status.DRAFT, Status.PUBLISHED},
        to=Status.ARCHIVED,
        action=ModerationEvent.Action.ARCHIVED,
    )


@transaction.atomic
def version_add(
    *,
    actor: User,
    listing: Listing,
    version: str,
    changelog: str = "",
    released_on=None,
    artifact_sha256: str = "",
) -> ListingVersion:
    _ensure_vendor_member(actor, listing.vendor)
    if listing.versions.filter(version=version).exists():
        raise Conflict(_("Version %(version)s already exists.") % {"version": version})
    item = ListingVersion(
        listing=listing,
        version=version.strip(),
        changelog=changelog,
        artifact_sha256=artifact_sha256.strip().lower(),
    )
    if released_on:
        item.released_on = released_on
    try:
        item.full_clean()
    except ValidationError as exc:
        raise _validation_error(exc) from exc
    item.save()
    catalog_changed()
    return item


MAX_IMAGES = 8


@transaction.atomic
def image_add(
    *, actor: User, listing: Listing, upload: UploadedFile, caption: str = ""
) -> ListingImage:
    """Attach a screenshot after checking its content; the stored name follows the content."""
    _ensure_vendor_member(actor, listing.vendor)
    if listing.images.count() >= MAX_IMAGES:
        raise Conflict(_("A listing has at most %(n)d images.") % {"n": MAX_IMAGES})
    try:
        checked = validate_image_upload(upload)
    except ValidationError as exc:
        raise ServiceError(exc.messages[0], code=exc.code or "invalid_image") from exc
    image = ListingImage(listing=listing, caption=caption.strip(), position=listing.images.count())
    image.image.save(f"{slugify(listing.slug)}.{checked.extension}", upload, save=False)
    # Assigning the file resets the dimension fields; the checked values are authoritative.
    image.width, image.height = checked.width, checked.height
    image.save()
    catalog_changed()
    return image


@transaction.atomic
def image_remove(*, actor: User, image: ListingImage) -> None:
    _ensure_vendor_member(actor, image.listing.vendor)
    image.image.delete(save=False)
    image.delete()
    catalog_changed()


def _refresh_rating(listing: Listing) -> None:
    summary = listing.reviews.aggregate(average=Avg("rating"), count=Count("pk"))
    listing.rating_average = summary["average"]
    listing.rating_count = summary["count"]
    listing.save(update_fields=["rating_average", "rating_count"])
    catalog_changed()


@transaction.atomic
def review_create(
    *,
    actor: User,
    organization: Organization,
    listing: Listing,
    rating: int,
    title: str,
    body: str,
) -> Review:
    """A buyer organization reviews a published listing once (it may edit it later)."""
    if not organization.is_buyer or not has_permission(actor, organization, Permission.VIEW):
        raise ServiceError(
            _("Reviews are written for a buyer organization you belong to."), status_code=403
        )
    if listing.vendor_id == organization.pk:
        raise ServiceError(_("A vendor cannot review its own listing."), status_code=403)
    if not listing.is_public:
        raise ServiceError(_("Only published listings can be reviewed."))
    if not 1 <= int(rating) <= 5:
        raise ServiceError(_("Rate from 1 to 5 stars."))
    review, _created = Review.objects.update_or_create(
        listing=listing,
        organization=organization,
        defaults={
            "author": actor,
            "rating": int(rating),
            "title": title.strip(),
            "body": body.strip(),
        },
    )
    _refresh_rating(listing)
    return review


@transaction.atomic
def review_reply(*, actor: User, review: Review, reply: str) -> Review:
    _ensure_vendor_member(actor, review.listing.vendor)
    review.vendor_reply = reply.strip()
    review.replied_at = timezone.now() if review.vendor_reply else None
    review.save(update_fields=["vendor_reply", "replied_at"])
    return review


def staff_emails() -> list[str]:
    return list(
        User.objects.filter(is_staff=True, is_active=True).values_list("email", flat=True)
    ) or [settings.SERVER_EMAIL]
