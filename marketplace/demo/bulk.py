"""Many published listings at once, for benchmarks and query-count tests.

Written with bulk inserts (a few queries per thousand listings); each listing gets three facet
terms, an image row and a search document like those the services write.
"""

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


@transaction.atomic
def seed_bulk_listings(count: int, *, vendor_slug: str = "bulk-vendor", start: int = 0) -> int:
    vendor, _ = Organization.objects.get_or_create(
        slug=vendor_slug, defaults={"name": "Bulk Vendor", "is_vendor": True, "is_buyer": False}
    )
    terms = list(Term.objects.order_by("kind", "position"))
    now = timezone.now()
    created = 0
    for offset in range(start, start + count, 1000):
        size = min(1000, start + count - offset)
        listings = Listing.objects.bulk_create(
            _listing(vendor, offset + i, now) for i in range(size)
        )
        through = Listing.terms.through
        through.objects.bulk_create(
            through(listing_id=listing.pk, term_id=terms[(listing.pk * 7 + k * 11) % len(terms)].pk)
            for listing in listings
            for k in range(3)
        )
        ListingImage.objects.bulk_create(
            ListingImage(
                listing=listing, image=f"listings/bulk/{listing.pk}.png", width=8, height=8
            )
            for listing in listings
        )
        created += len(listings)
    # After a bulk load the planner's statistics are stale (a fresh PostgreSQL database has
    # none until autovacuum runs); refresh them as one would after any bulk import.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    catalog_changed()
    return created


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
