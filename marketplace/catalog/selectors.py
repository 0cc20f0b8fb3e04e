"""Reads for the catalog: search with facets, listing pages, comparison, vendor views.

Every read runs a fixed number of queries whatever the catalog's size (tests assert it).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import Count, F, OuterRef, Prefetch, Q, QuerySet, Subquery

from marketplace.accounts.models import User
from marketplace.accounts.policies import scope
from marketplace.catalog.models import Listing, ListingVersion, ModerationEvent, Review, Term

SORTS = {
    "relevance": None,  # rank when searching, newest otherwise
    "newest": ["-published_at", "-pk"],
    "rating": [F("rating_average").desc(nulls_last=True), "-rating_count", "-pk"],
    "name": ["name", "pk"],
}
# Footprint ranges offered as facets: label key -> filter.
FOOTPRINT_RANGES = {
    "deploy": {
        "15": Q(deploy_minutes__lte=15),
        "60": Q(deploy_minutes__lte=60),
        "480": Q(deploy_minutes__lte=480),
    },
    "ram": {
        "512": Q(min_ram_mb__lte=512),
        "2048": Q(min_ram_mb__lte=2048),
        "8192": Q(min_ram_mb__lte=8192),
    },
}
FACET_KINDS = [
    Term.Kind.INDUSTRY,
    Term.Kind.SCENARIO,
    Term.Kind.DEPLOYMENT,
    Term.Kind.PROTOCOL,
    Term.Kind.PRICING,
]


@dataclass(frozen=True)
class CatalogQuery:
    """What a buyer asked the catalog: free text, facet values (slugs per kind), footprint."""

    q: str = ""
    kind: str = ""  # "solution", "component" or "" for both
    terms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    deploy: str = ""  # a key of FOOTPRINT_RANGES["deploy"]
    ram: str = ""
    offline: bool = False
    sort: str = "relevance"


@dataclass(frozen=True)
class FacetValue:
    term: Term
    count: int
    selected: bool


@dataclass(frozen=True)
class Facet:
    kind: str
    label: str
    values: list[FacetValue]


def published_listings() -> QuerySet[Listing]:
    return Listing.objects.filter(status=Listing.Status.PUBLISHED)


def _search(queryset: QuerySet[Listing], q: str) -> tuple[QuerySet[Listing], bool]:
    """Full text on PostgreSQL, word-by-word containment elsewhere; returns (qs, ranked)."""
    words = q.lower().split()
    if not words:
        return queryset, False
    if connection.vendor == "postgresql" and q.isascii():
        from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

        vector = SearchVector("search_document", config="simple")
        query = SearchQuery(q, config="simple", search_type="websearch")
        return (
            queryset.annotate(rank=SearchRank(vector, query)).filter(rank__gt=0),
            True,
        )
    # SQLite, and Chinese text (which PostgreSQL's parsers do not split into words).
    for word in words:
        queryset = queryset.filter(search_document__contains=word)
    return queryset, False


def _filtered(query: CatalogQuery, *, skip_kind: str | None = None) -> QuerySet[Listing]:
    queryset = published_listings()
    if query.kind in Listing.Kind.values:
        queryset = queryset.filter(kind=query.kind)
    for kind, slugs in query.terms.items():
        if slugs and kind != skip_kind:
            # Values of one facet are alternatives (OR); different facets narrow (AND).
            queryset = queryset.filter(
                pk__in=Term.listings.through.objects.filter(
                    term__kind=kind, term__slug__in=slugs
                ).values("listing_id")
            )
    for name in ("deploy", "ram"):
        key = getattr(query, name)
        if key in FOOTPRINT_RANGES[name]:
            queryset = queryset.filter(FOOTPRINT_RANGES[name][key])
    if query.offline:
        queryset = queryset.filter(works_offline=True)
    return queryset


@dataclass(frozen=True)
class CatalogResult:
    listings: QuerySet[Listing]
    facets: list[Facet]
    total: int
    ranked: bool


def catalog_search(query: CatalogQuery) -> CatalogResult:
    """Listings matching the query, with counts for every facet value under the other filters."""
    queryset = _filtered(query)
    queryset, ranked = _search(queryset, query.q)
    if query.sort == "relevance":
        ordering = ["-rank", "-published_at", "-pk"] if ranked else SORTS["newest"]
    else:
        ordering = SORTS.get(query.sort) or SORTS["newest"]
    listings = with_card_data(queryset.order_by(*ordering))
    return CatalogResult(
        listings=listings,
        facets=_facets(query, queryset),
        total=queryset.count(),
        ranked=ranked,
    )


def _facets(query: CatalogQuery, matched: QuerySet[Listing]) -> list[Facet]:
    """Facet counts in one query: each listing-term pair of the matching listings, grouped.

    Counts are for the listings matching every filter, so a value's count is what selecting it
    (in addition) would show.
    """
    counts = dict(
        Term.listings.through.objects.filter(listing_id__in=matched.values("pk"))
        .values_list("term_id")
        .annotate(n=Count("listing_id"))
        .values_list("term_id", "n")
    )
    by_kind: dict[str, list[FacetValue]] = defaultdict(list)
    for term in all_terms():
        selected = term.slug in query.terms.get(term.kind, ())
        if counts.get(term.pk) or selected:
            by_kind[term.kind].append(FacetValue(term, counts.get(term.pk, 0), selected))
    labels = dict(Term.Kind.choices)
    return [Facet(kind, labels[kind], by_kind[kind]) for kind in FACET_KINDS if by_kind[kind]]


def all_terms() -> list[Term]:
    return list(Term.objects.order_by("kind", "position", "name"))


def with_card_data(queryset: QuerySet[Listing]) -> QuerySet[Listing]:
    """What a listing card shows, loaded in a fixed number of queries."""
    return queryset.select_related("vendor").prefetch_related(
        "terms", Prefetch("images", to_attr="image_list")
    )


def listing_page(slug: str, *, viewer: User | None = None) -> Listing | None:
    """A listing for its public page: published, or any status for its vendor and staff."""
    queryset = (
        Listing.objects.filter(slug=slug)
        .select_related("vendor")
        .prefetch_related(
            "terms",
            "kpi_claims",
            "images",
            Prefetch("versions", queryset=ListingVersion.objects.order_by("-released_on", "-pk")),
            Prefetch(
                "components",
                queryset=published_listings().select_related("vendor"),
                to_attr="published_components",
            ),
            Prefetch(
                "used_by",
                queryset=published_listings().select_related("vendor"),
                to_attr="published_users",
            ),
            Prefetch(
                "reviews",
                queryset=Review.objects.select_related("organization").order_by("-created_at"),
            ),
        )
    )
    listing = queryset.first()
    if listing is None:
        return None
    if listing.is_public or (viewer is not None and can_preview(viewer, listing)):
        return listing
    return None


def can_preview(user: User, listing: Listing) -> bool:
    if not user.is_authenticated:
        return False
    return user.is_staff or listing.vendor.memberships.filter(user=user).exists()


MAX_COMPARE = 4


def compare(slugs: list[str]) -> list[Listing]:
    """Up to four published listings in the order asked."""
    slugs = list(dict.fromkeys(slugs))[:MAX_COMPARE]
    found = {
        listing.slug: listing
        for listing in with_card_data(published_listings().filter(slug__in=slugs)).prefetch_related(
            "kpi_claims"
        )
    }
    return [found[slug] for slug in slugs if slug in found]


def vendor_listings(user: User) -> QuerySet[Listing]:
    """Listings of every vendor organization the user belongs to."""
    return scope(Listing.objects.all(), user, via="vendor").select_related("vendor")


def moderation_queue() -> QuerySet[Listing]:
    return (
        Listing.objects.filter(status=Listing.Status.IN_REVIEW)
        .select_related("vendor")
        .order_by("updated_at")
    )


def home_sections(limit: int = 6) -> dict[str, list[Listing]]:
    """Featured (best rated), new, and per-industry counts for the storefront home."""
    base = with_card_data(published_listings())
    return {
        "featured": list(base.filter(rating_count__gt=0).order_by(*SORTS["rating"])[:limit]),
        "new": list(base.order_by(*SORTS["newest"])[:limit]),
    }


def industries_with_counts() -> list[tuple[Term, int]]:
    terms = (
        Term.objects.filter(kind=Term.Kind.INDUSTRY)
        .annotate(n=Count("listings", filter=Q(listings__status=Listing.Status.PUBLISHED)))
        .order_by("position", "name")
    )
    return [(term, term.n) for term in terms]


def rating_stars(average: Decimal | None) -> int:
    return round(average or 0)


# Added for the vendor portal (marketplace/vendors).


def component_choices(vendor, *, exclude: Listing | None = None) -> QuerySet[Listing]:
    """Components a vendor's listing may build on: any published one, and the vendor's own."""
    queryset = Listing.objects.filter(kind=Listing.Kind.COMPONENT).filter(
        Q(status=Listing.Status.PUBLISHED) | Q(vendor=vendor)
    )
    if exclude is not None and exclude.pk:
        queryset = queryset.exclude(pk=exclude.pk)
    return queryset.select_related("vendor").order_by("name", "pk")


def moderation_history(listing: Listing) -> QuerySet[ModerationEvent]:
    """Every step of a listing's life, newest first, with who took it."""
    return listing.moderation.select_related("actor").order_by("-created_at", "-pk")


def moderation_queue_entries() -> QuerySet[Listing]:
    """The moderation queue with the time of each listing's latest submission, oldest first.

    moderation_queue() orders by updated_at, which moves a listing to the back whenever its
    vendor edits it during review; the submission time is what staff work through.
    """
    submitted = ModerationEvent.objects.filter(
        listing=OuterRef("pk"), action=ModerationEvent.Action.SUBMITTED
    ).order_by("-created_at", "-pk")
    return (
        moderation_queue()
        .annotate(submitted_at=Subquery(submitted.values("created_at")[:1]))
        .order_by(F("submitted_at").asc(nulls_first=True), "pk")
    )


# --- Storefront: facet counts for OR-within-a-facet filters ---------------------------------
# Added by the storefront; the functions above are unchanged.


def catalog_facets(query: CatalogQuery) -> list[Facet]:
    """Facet counts for a filter sidebar where the values of one facet are alternatives (OR).

    catalog_search() counts every facet under all filters, so once a buyer picks one industry
    the other industries disappear (few listings have both). Here each facet is counted under
    the free text and every *other* filter, with its own selection left out: a value's count is
    what the results would hold if it were added to its facet. Two queries: terms and counts.
    """
    condition = Q()
    for kind in FACET_KINDS:
        matched, _ranked = _search(_filtered(query, skip_kind=kind), query.q)
        condition |= Q(term__kind=kind, listing_id__in=matched.values("pk"))
    counts = dict(
        Term.listings.through.objects.filter(condition)
        .values_list("term_id")
        .annotate(n=Count("listing_id"))
        .values_list("term_id", "n")
    )
    by_kind: dict[str, list[FacetValue]] = defaultdict(list)
    for term in all_terms():
        selected = term.slug in query.terms.get(term.kind, ())
        if counts.get(term.pk) or selected:
            by_kind[term.kind].append(FacetValue(term, counts.get(term.pk, 0), selected))
    labels = dict(Term.Kind.choices)
    return [Facet(kind, labels[kind], by_kind[kind]) for kind in FACET_KINDS if by_kind[kind]]
