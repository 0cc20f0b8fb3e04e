"""Reads for the catalog: search with facets, listing pages, comparison, vendor views.

Every read runs a fixed number of queries whatever the catalog's size (tests assert it).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.postgres.search import SearchVector
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Count, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL

from marketplace.accounts.models import User
from marketplace.accounts.policies import scope
from marketplace.catalog.freshness import catalog_generation
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
        # alias(), not annotate(): the vector and the rank are for filtering and ordering,
        # not columns to fetch.
        return (
            queryset.alias(document=SEARCH_VECTOR)
            .filter(document=query)
            .alias(rank=SearchRank(SEARCH_VECTOR, query)),
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


def _with_terms(queryset: QuerySet[Listing], selected: dict[str, list[int]]) -> QuerySet[Listing]:
    for term_ids in selected.values():
        # Values of one facet are alternatives (OR); different facets narrow (AND).
        queryset = queryset.filter(
            pk__in=Term.listings.through.objects.filter(term_id__in=term_ids).values("listing_id")
        )
    return queryset


def _filtered(query: CatalogQuery) -> QuerySet[Listing]:
    """Published listings of the asked kind and footprint; facet terms are _with_terms()."""
    queryset = published_listings()
    if query.kind in Listing.Kind.values:
        queryset = queryset.filter(kind=query.kind)
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
    """Listings matching the query and, unless asked not to, the facet counts and the total.

    Pass the terms when the caller has loaded them already (the page needs them anyway).
    """
    terms = all_terms() if terms is None else terms
    selected = _selected_term_ids(query, terms)
    unfaceted, ranked = _search(_filtered(query), query.q)
    queryset = _with_terms(unfaceted, selected)
    if query.sort == "relevance":
        ordering = ["-rank", "-published_at", "-pk"] if ranked else SORTS["newest"]
    else:
        ordering = SORTS.get(query.sort) or SORTS["newest"]
    facets, total = _facets(terms, selected, unfaceted) if with_facets else ([], 0)
    return CatalogResult(
        listings=with_card_data(queryset.order_by(*ordering)),
        facets=facets,
        total=total,
        ranked=ranked,
    )


def _facets(
    terms: list[Term], selected: dict[str, list[int]], unfaceted: QuerySet[Listing]
) -> tuple[list[Facet], int]:
    """Counts for every facet value, and the number of listings matching every filter.

    The values of one facet are alternatives (OR): a facet is counted with its own selection
    left out, so its other values stay on offer and each count is what adding that value would
    show. One query does it all: for each listing matching the search and the footprint
    filters, a flag per faceted kind says whether it matches that kind's selection; a term of
    kind K counts the listings whose flags of every other kind hold.

    Written in SQL by hand because the ORM would need one query per selected facet, and at
    10,000 listings building and running those was most of the catalog page's time.
    """
    kinds = list(selected)
    through = Term.listings.through._meta.db_table
    kind_term_ids = {kind: [t.pk for t in terms if t.kind == kind] for kind in kinds}
    try:
        base_sql, base_params = unfaceted.order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:  # a filter that can match nothing, known before asking
        return [], 0
    flag_sql, flag_params = [], []
    for i, kind in enumerate(kinds):
        if not selected[kind]:  # asked for values that do not exist: nothing matches
            flag_sql.append(f"1 = 0 AS f{i}")
            continue
        marks = ", ".join(["%s"] * len(selected[kind]))
        tagged = f"s.listing_id = b.id AND s.term_id IN ({marks})"
        flag_sql.append(f"EXISTS (SELECT 1 FROM {through} s WHERE {tagged}) AS f{i}")  # noqa: S608
        flag_params += selected[kind]

    def all_flags(but: int | None = None) -> str:
        return " AND ".join(f"f.f{i}" for i in range(len(kinds)) if i != but) or "1 = 1"

    counted_when, when_params = [], []
    for i, kind in enumerate(kinds):
        marks = ", ".join(["%s"] * len(kind_term_ids[kind]))
        counted_when.append(f"WHEN lt.term_id IN ({marks}) THEN {all_flags(but=i)}")
        when_params += kind_term_ids[kind]
    counted = f"CASE {' '.join(counted_when)} ELSE {all_flags()} END" if counted_when else "1 = 1"
    flags = ", ".join(["b.id", *flag_sql])
    # A listing that misses two selections counts for no term: skip its tags altogether.
    misses = " + ".join(f"CASE WHEN f.f{i} THEN 0 ELSE 1 END" for i in range(len(kinds)))
    near_misses = f"({misses}) <= 1" if kinds else "1 = 1"
    if connection.vendor == "postgresql":
        # Look up each matching listing's terms by index; a plain join makes PostgreSQL hash
        # the whole table of tags, several times slower at 10,000 listings. OFFSET 0 keeps
        # the planner from flattening the subquery back into that join.
        own_tags = f"SELECT term_id FROM {through} WHERE listing_id = f.id OFFSET 0"  # noqa: S608
        tags = f"CROSS JOIN LATERAL ({own_tags}) lt"
    else:  # SQLite looks them up by index anyway (and has no LATERAL)
        tags = f"JOIN {through} lt ON lt.listing_id = f.id"
    sql = f"""
        WITH base (id) AS ({base_sql}),
        flags AS (SELECT {flags} FROM base b)
        SELECT lt.term_id, COUNT(*) FROM flags f {tags}
        WHERE {near_misses} AND {counted}
        GROUP BY lt.term_id
        UNION ALL
        SELECT NULL, COUNT(*) FROM flags f WHERE {all_flags()}
    """  # noqa: S608 - here and above, only placeholders and our own SQL are interpolated
    with connection.cursor() as cursor:
        cursor.execute(sql, [*base_params, *flag_params, *when_params])
        rows = cursor.fetchall()
    counts = {term_id: n for term_id, n in rows if term_id is not None}
    total = next(n for term_id, n in rows if term_id is None)
    by_kind: dict[str, list[FacetValue]] = defaultdict(list)
    for term in terms:
        chosen = term.pk in selected.get(term.kind, ())
        if counts.get(term.pk) or chosen:
            by_kind[term.kind].append(FacetValue(term, counts.get(term.pk, 0), chosen))
    labels = dict(Term.Kind.choices)
    facets = [Facet(kind, labels[kind], by_kind[kind]) for kind in FACET_KINDS if by_kind[kind]]
    return facets, total


TERMS_CACHE_SECONDS = 3600


def all_terms() -> list[Term]:
    """Every facet value in facet order; cached until the catalog changes (terms rarely do)."""
    key = f"catalog-terms:{catalog_generation()}"
    terms = cache.get(key)
    if terms is None:
        terms = list(Term.objects.order_by("kind", "position", "name"))
        cache.set(key, terms, TERMS_CACHE_SECONDS)
    return terms


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
