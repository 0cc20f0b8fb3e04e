"""Demo catalog: vendors, 40 listings with versions, screenshots and reviews.

Screenshots are drawn here with Pillow (nothing is downloaded); rows are found by natural keys
so that running seed_demo again changes nothing.
"""

import hashlib
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.core.files.base import ContentFile
from django.utils.text import slugify
from PIL import Image, ImageDraw, ImageFont

from marketplace.accounts.models import Membership, Organization, User, VerificationEvent
from marketplace.accounts.selectors import owners_and_admins_of
from marketplace.catalog import services
from marketplace.catalog.freshness import catalog_changed
from marketplace.catalog.models import (
    KpiClaim,
    Listing,
    ListingImage,
    ListingVersion,
    ModerationEvent,
    Term,
)
from marketplace.demo.catalog_data import LISTINGS, REVIEWS, VENDORS, DemoListing, DemoVendor

# Listings are published one day apart, ending here: stable dates make re-runs a no-op.
PUBLISHED_UNTIL = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
# Vendors asked for verification a day apart from here; staff verified each two days later.
VERIFICATION_ASKED_FROM = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
# The one vendor still waiting asked recently, so it heads the staff queue.
VERIFICATION_PENDING_SINCE = datetime(2026, 10, 30, 9, 0, tzinfo=UTC)


def _upsert(model, lookup: dict, fields: dict):
    """update_or_create that writes nothing when the row already holds these values."""
    row = model.objects.filter(**lookup).first()
    if row is None:
        return model.objects.create(**lookup, **fields), True
    if any(getattr(row, name) != value for name, value in fields.items()):
        for name, value in fields.items():
            setattr(row, name, value)
        row.save()
    return row, False


def seed_vendors() -> dict[str, Organization]:
    vendors = {}
    for spec in VENDORS:
        vendors[spec.slug], _ = _upsert(
            Organization,
            {"slug": spec.slug},
            {
                "name": spec.name,
                "website": spec.website,
                "is_vendor": True,
                "is_buyer": spec.slug == "opcbridge-labs",
                "time_zone": spec.time_zone,
            },
        )
    return vendors


def seed_verification(
    vendor: Organization, spec: DemoVendor, index: int, *, staff: User | None
) -> None:
    """Bring a demo vendor to its verification state, the first time only.

    A vendor that has any verification history is left as it is, so what demo users did on
    the verification pages survives the next seed_demo.
    """
    if vendor.verification_events.exists():
        return
    Verification = Organization.Verification
    verified = spec.verification == Verification.VERIFIED
    asked_at = (
        VERIFICATION_ASKED_FROM + timedelta(days=index) if verified else VERIFICATION_PENDING_SINCE
    )
    verified_at = asked_at + timedelta(days=2) if verified else None
    asker = owners_and_admins_of(vendor).order_by("pk").first()
    vendor.legal_name = spec.legal_name
    vendor.registration_number = spec.registration_number
    vendor.verification_status = Verification.VERIFIED if verified else Verification.PENDING
    vendor.verification_requested_at = asked_at
    vendor.verified_at = verified_at
    vendor.save()
    details = {"legal_name": spec.legal_name, "registration_number": spec.registration_number}
    VerificationEvent.objects.create(
        organization=vendor,
        actor=asker.user if asker else None,
        action=VerificationEvent.Action.REQUESTED,
        created_at=asked_at,
        **details,
    )
    if verified:
        VerificationEvent.objects.create(
            organization=vendor,
            actor=staff,
            action=VerificationEvent.Action.VERIFIED,
            created_at=verified_at,
            **details,
        )


def _terms(spec: DemoListing, terms: dict[tuple[str, str], Term]) -> list[Term]:
    wanted = [
        *(("industry", s) for s in spec.industries),
        *(("scenario", s) for s in spec.scenarios),
        *(("deployment", s) for s in spec.deployment),
        *(("protocol", s) for s in spec.protocols),
        *(("pricing", s) for s in spec.pricing),
    ]
    return [terms[key] for key in wanted]


def _description(spec: DemoListing) -> str:
    features = "\n".join(f"- {feature}" for feature in spec.features)
    requirements = [f"- Deploys in about {spec.deploy_minutes} minutes"]
    requirements.append(f"- {spec.min_ram_mb} MB of RAM and {spec.cpu_cores} CPU core(s)")
    if spec.edge_hardware:
        requirements.append(f"- Tested on: {spec.edge_hardware}")
    if spec.works_offline:
        requirements.append("- Keeps working without an internet connection")
    return (
        f"{spec.what}\n\n## What you get\n\n{features}\n\n## What it needs\n\n"
        + "\n".join(requirements)
        + "\n"
    )


def screenshot_png(title: str, subtitle: str, color: tuple[int, int, int], seed: int) -> bytes:
    """A plausible dashboard picture: header bar, KPI tiles and a bar chart."""
    width, height = 960, 600
    image = Image.new("RGB", (width, height), (244, 246, 248))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=26)
    small = ImageFont.load_default(size=16)
    draw.rectangle([0, 0, width, 72], fill=color)
    draw.text((28, 20), title, fill="white", font=font)
    draw.text((28, 92), subtitle, fill=(60, 72, 88), font=small)
    for i in range(3):
        x = 28 + i * 308
        draw.rounded_rectangle([x, 130, x + 288, 220], radius=10, fill="white")
        draw.text(
            (x + 16, 146),
            ("Availability", "Throughput", "Alerts")[i],
            fill=(90, 100, 115),
            font=small,
        )
        value = (80 + (seed * 7 + i * 13) % 19, 1200 + (seed * 37 + i * 91) % 800, (seed + i) % 9)
        draw.text((x + 16, 172), f"{value[i]}", fill=(20, 30, 45), font=font)
    draw.rounded_rectangle([28, 244, width - 28, height - 28], radius=10, fill="white")
    bars = 18
    for i in range(bars):
        h = 40 + ((seed * 31 + i * 47) % 230)
        x = 60 + i * 48
        shade = tuple(min(255, c + (i % 3) * 25) for c in color)
        draw.rectangle([x, height - 60 - h, x + 30, height - 60], fill=shade)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _seed_listing(
    spec: DemoListing,
    index: int,
    vendor: Organization,
    terms: dict[tuple[str, str], Term],
    color: tuple[int, int, int],
) -> Listing:
    slug = slugify(spec.name)
    published_at = PUBLISHED_UNTIL - timedelta(days=len(LISTINGS) - index)
    fields = {
        "vendor": vendor,
        "kind": spec.kind,
        "name": spec.name,
        "tagline": spec.tagline,
        "description": _description(spec),
        "status": Listing.Status.PUBLISHED,
        "deploy_minutes": spec.deploy_minutes,
        "min_ram_mb": spec.min_ram_mb,
        "cpu_cores": Decimal(spec.cpu_cores),
        "works_offline": spec.works_offline,
        "edge_hardware": spec.edge_hardware,
        "license": spec.license,
        "repository_url": spec.repository_url,
        "website": vendor.website,
        "published_at": published_at,
        "created_at": published_at - timedelta(days=3),
    }
    listing, created = _upsert(Listing, {"slug": slug}, fields)
    listing.terms.set(_terms(spec, terms))
    claims = [(label, value, f"{vendor.website}/case-studies/{slug}") for label, value in spec.kpis]
    if list(listing.kpi_claims.values_list("label", "value", "evidence_url")) != claims:
        listing.kpi_claims.all().delete()
        KpiClaim.objects.bulk_create(
            KpiClaim(listing=listing, label=label, value=value, evidence_url=url, position=i)
            for i, (label, value, url) in enumerate(claims)
        )
    for version, released_on, change in spec.versions:
        ListingVersion.objects.get_or_create(
            listing=listing,
            version=version,
            defaults={
                "released_on": date.fromisoformat(released_on),
                "changelog": change,
                "artifact_sha256": hashlib.sha256(f"{slug}@{version}".encode()).hexdigest(),
            },
        )
    if not listing.images.exists():
        for n, caption in enumerate(("Overview", "Details")):
            picture = ListingImage(listing=listing, caption=caption, position=n)
            picture.image.save(
                f"{slug}-{n + 1}.png",
                ContentFile(screenshot_png(spec.name, caption, color, index * 3 + n)),
                save=False,
            )
            picture.width, picture.height = 960, 600
            picture.save()
    if created:
        ModerationEvent.objects.create(
            listing=listing,
            action=ModerationEvent.Action.APPROVED,
            from_status=Listing.Status.IN_REVIEW,
            to_status=Listing.Status.PUBLISHED,
            created_at=published_at,
        )
    return listing


def seed_catalog(*, staff: User | None = None) -> None:
    """The demo catalog; `staff` is who verified the demo vendors."""
    vendors = seed_vendors()
    for index, spec in enumerate(VENDORS):
        seed_verification(vendors[spec.slug], spec, index, staff=staff)
    colors = {spec.slug: spec.color for spec in VENDORS}
    terms = {(t.kind, t.slug): t for t in Term.objects.all()}
    listings = {
        spec.name: _seed_listing(spec, i, vendors[spec.vendor], terms, colors[spec.vendor])
        for i, spec in enumerate(LISTINGS)
    }
    for spec in LISTINGS:
        listing = listings[spec.name]
        listing.components.set([listings[name] for name in spec.components])
        document = services.listing_search_document(listing)
        if listing.search_document != document:
            Listing.objects.filter(pk=listing.pk).update(search_document=document)
    catalog_changed()
    for name, organization_slug, rating, title, body in REVIEWS:
        organization = Organization.objects.get(slug=organization_slug)
        author = Membership.objects.filter(organization=organization).order_by("pk").first().user
        services.review_create(
            actor=author,
            organization=organization,
            listing=listings[name],
            rating=rating,
            title=title,
            body=body,
        )
