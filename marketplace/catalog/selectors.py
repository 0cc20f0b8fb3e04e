"""Reads for the catalog: search with facets, listing pages, comparison, vendor views.

Every read runs a fixed number of queries whatever the catalog's size (tests assert it).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.postgres.search import SearchVector
from django.db import connection
from django.db.models import Count, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL

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
# The search document as PostgreSQL's full-text vector; the GIN index of migration 0003 is built
# on exactly this expression.
SEARCH_VECTOR = SearchVector("search_document", config="simple")
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
    """Full text on PostgreSQL, word-by-word containment elsewhere; returns (qs, ranked).

    On PostgreSQL the match uses the GIN index on the search document (migration 0003); the
    rank is computed only for the rows that match.
    """
    words = q.lower().split()
    if not words:
        return queryset, False
    if connection.vendor == "postgresql" and q.isascii():
        from django.contrib.postgres.search import SearchQuery, SearchRank

        query = SearchQuery(q, config="simple", search_type="websearch")
        return (
            queryset.annotate(document=SEARCH_VECTOR)
            .filter(document=query)
            .annotate(rank=SearchRank(SEARCH_VECTOR, query)),
            True,
        )
    if connection.vendor == "sqlite":
        # The FTS5 trigram index of migration 0004 finds words of three or more characters;
        # shorter ones are matched by a scan.
        long_words = [w for w in words if len(w) >= 3]
        if long_words:
            match = " AND ".join('"{}"'.format(w.replace('"', '""')) for w in long_words)
            queryset = queryset.filter(
                pk__in=RawSQL(
                    "SELECT rowid FROM catalog_listing_fts WHERE catalog_listing_fts MATCH %s",
                    [match],
                )
            )
        words = [w for w in words if len(w) < 3]
    # Other databases, short words, and Chinese text on PostgreSQL (whose parsers do not split
    # it into words): containment, word by word.
    for word in words:
        queryset = queryset.filter(search_document__contains=word)
    return queryset, False


def _selected_term_ids(query: CatalogQuery, terms: list[Term]) -> dict[str, list[int]]:
    return {
        kind: [t.pk for t in terms if t.kind == kind and t.slug in slugs]
        for kind, slugs in query.terms.items()
        if slugs
    }


def _filtered(
    query: CatalogQuery, selected: dict[str, list[int]], *, skip_kind: str | None = None
) -> QuerySet[Listing]:
    queryset = published_listings()
    if query.kind in Listing.Kind.values:
        queryset = queryset.filter(kind=query.kind)
    for kind, term_ids in selected.items():
        if kind != skip_kind:
            # Values of one facet are alternatives (OR); different facets narrow (AND).
            queryset = queryset.filter(
                pk__in=Term.listings.through.objects.filter(term_id__in=term_ids).values(
                    "listing_id"
                )
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


def catalog_search(
    query: CatalogQuery, *, terms: list[Term] | None = None, with_facets: bool = True
) -> CatalogResult:
    """Listings matching the query and, unless asked not to, the facet counts.

    Pass the terms when the caller has loaded them already (the page needs them anyway).
    """
    terms = all_terms() if terms is None else terms
    selected = _selected_term_ids(query, terms)
    queryset, ranked = _search(_filtered(query, selected), query.q)
    if query.sort == "relevance":
        ordering = ["-rank", "-published_at", "-pk"] if ranked else SORTS["newest"]
    else:
        ordering = SORTS.get(query.sort) or SORTS["newest"]
    return CatalogResult(
        listings=with_card_data(queryset.order_by(*ordering)),
        facets=_facets(query, terms, selected, queryset) if with_facets else [],
        total=queryset.count() if with_facets else 0,
        ranked=ranked,
    )


def _facets(
    query: CatalogQuery,
    terms: list[Term],
    selected: dict[str, list[int]],
    matched: QuerySet[Listing],
) -> list[Facet]:
    """Counts for every facet value, where the values of one facet are alternatives (OR).

    A facet with nothing selected is counted over the listings matching every filter; a facet
    with a selection is counted with its own selection left out, so its other values stay on
    offer and each count is what adding that value would show. One grouped query for all
    facets without a selection, plus one per facet with a selection: simple queries that use
    the term index, rather than one query OR-ing them together.
    """
    through = Term.listings.through
    kinds_of = {t.pk: t.kind for t in terms}

    def count(listings: QuerySet[Listing], kinds: set[str]) -> dict[int, int]:
        # Grouped over the matching listings only (the listing index drives the join); terms
        # of other kinds are dropped here rather than in SQL, which would make the database
        # walk every row of those terms instead.
        rows = (
            through.objects.filter(listing_id__in=listings.values("pk"))
            .values_list("term_id")
            .annotate(n=Count("listing_id"))
            .values_list("term_id", "n")
        )
        return {term_id: n for term_id, n in rows if kinds_of.get(term_id) in kinds}

    counts = count(matched, {kind for kind in FACET_KINDS if kind not in selected})
    for kind in selected:
        without_own, _ranked = _search(_filtered(query, selected, skip_kind=kind), query.q)
        counts.update(count(without_own, {kind}))
    by_kind: dict[str, list[FacetValue]] = defaultdict(list)
    for term in terms:
        chosen = term.pk in selected.get(term.kind, ())
        if counts.get(term.pk) or chosen:
            by_kind[term.kind].append(FacetValue(term, counts.get(term.pk, 0), chosen))
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
