"""Many published listings at once, for benchmarks and query-count tests.

Written with bulk inserts (a few queries per thousand listings). Each listing is tagged as a real
one is: one industry, one or two scenarios, deployments and protocols, one pricing model, drawn
at random but the same every run; it gets an image row and a search document like those the
services write.
"""

import random

from django.db import connection, transaction
from django.utils import timezone

from marketplace.accounts.models import Organization
from marketplace.catalog.freshness import catalog_changed
from marketplace.catalog.models import Listing, ListingImage, Term

WORDS = (
    "vision", "inspection", "energy", "meter", "vibration", "spindle", "scheduling",
    "warehouse", "safety", "gateway", "historian", "andon", "label", "weld", "fabric", "pump",
    "compressor", "oee", "traceability", "dispatch",
)  # fmt: skip


# How many terms of each kind a listing carries, at least and at most.
TAGS = {
    Term.Kind.INDUSTRY: (1, 1),
    Term.Kind.SCENARIO: (1, 2),
    Term.Kind.DEPLOYMENT: (1, 2),
    Term.Kind.PROTOCOL: (1, 2),
    Term.Kind.PRICING: (1, 1),
}


def _tags(terms_by_kind: dict[str, list[Term]], rng: random.Random) -> list[Term]:
    return [
        term
        for kind, (low, high) in TAGS.items()
        if terms_by_kind[kind]
        for term in rng.sample(
            terms_by_kind[kind], min(rng.randint(low, high), len(terms_by_kind[kind]))
        )
    ]


@transaction.atomic
def seed_bulk_listings(count: int, *, vendor_slug: str = "bulk-vendor", start: int = 0) -> int:
    vendor, _ = Organization.objects.get_or_create(
        slug=vendor_slug, defaults={"name": "Bulk Vendor", "is_vendor": True, "is_buyer": False}
    )
    terms_by_kind = {
        kind: list(Term.objects.filter(kind=kind).order_by("position", "pk")) for kind in TAGS
    }
    now = timezone.now()
    created = 0
    for offset in range(start, start + count, 1000):
        size = min(1000, start + count - offset)
        listings = Listing.objects.bulk_create(
            _listing(vendor, offset + i, now) for i in range(size)
        )
        through = Listing.terms.through
        through.objects.bulk_create(
            through(listing_id=listing.pk, term_id=term.pk)
            for i, listing in enumerate(listings)
            for term in _tags(terms_by_kind, random.Random(offset + i))  # noqa: S311 - not secret
        )
        ListingImage.objects.bulk_create(
            ListingImage(
                listing=listing, image=f"listings/bulk/{listing.pk}.png", width=8, height=8
            )
            for listing in listings
        )
        created += len(listings)
    catalog_changed()
    return created


def refresh_statistics() -> None:
    """After a bulk load, do what autovacuum would do later, as one does after any import.

    The planner's statistics are stale (a fresh PostgreSQL database has none), and on
    PostgreSQL the new rows of the search index wait in the GIN index's pending list, which
    every search then scans row by row (VACUUM merges it). VACUUM runs outside a transaction.
    """
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def _listing(vendor: Organization, n: int, now) -> Listing:
    a, b = WORDS[n % len(WORDS)], WORDS[(n * 7 + 3) % len(WORDS)]
    return Listing(
        vendor=vendor,
        slug=f"{vendor.slug}-{n}",
        name=f"{a.title()} {b.title()} {n}",
        tagline=f"{a} and {b} for small plants",
        description=f"Does {a} and {b}.",
        status=Listing.Status.PUBLISHED,
        published_at=now,
        deploy_minutes=5 + n % 480,
        min_ram_mb=64 * (1 + n % 64),
        works_offline=n % 2 == 0,
        rating_average=None if n % 3 else 3 + (n % 3),
        rating_count=0 if n % 3 else 1 + n % 20,
        search_document=f"{a} {b} {n} {a} and {b} for small plants {vendor.name}".lower(),
    )


@transaction.atomic
def seed_bench_installation() -> str:
    """A buyer trialing a listing with two metrics, and one installation; returns its key."""
    from billing.models import Metric, Plan, PlanVersion
    from billing.services import installations, subscriptions
    from marketplace.accounts.models import Membership, Role, User

    vendor, _ = Organization.objects.get_or_create(
        slug="bench-vendor", defaults={"name": "Bench Vendor", "is_vendor": True, "is_buyer": False}
    )
    listing, _ = Listing.objects.get_or_create(
        slug="bench-line-monitor",
        defaults={
            "vendor": vendor,
            "name": "Bench Line Monitor",
            "status": Listing.Status.PUBLISHED,
            "published_at": timezone.now(),
        },
    )
    Metric.objects.get_or_create(
        listing=listing, code="inspections", defaults={"name": "Inspections", "unit": "inspections"}
    )
    Metric.objects.get_or_create(
        listing=listing,
        code="kwh",
        defaults={"name": "Energy", "unit": "kWh", "mode": Metric.Mode.CUMULATIVE},
    )
    plan, _ = Plan.objects.get_or_create(
        listing=listing, name="Bench", defaults={"is_published": True}
    )
    PlanVersion.objects.get_or_create(plan=plan, number=1, defaults={"trial_days": 30})
    buyer, _ = Organization.objects.get_or_create(
        slug="bench-buyer", defaults={"name": "Bench Buyer"}
    )
    user, _ = User.objects.get_or_create(email="bench-buyer@demo.test")
    Membership.objects.get_or_create(user=user, organization=buyer, defaults={"role": Role.OWNER})
    subscription = buyer.subscriptions.first() or subscriptions.subscription_start(
        actor=user, buyer=buyer, plan=plan
    )
    return installations.installation_create(
        actor=user, subscription=subscription, name="Bench plant"
    ).key
