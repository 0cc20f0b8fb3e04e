"""Reads for the community pages; each runs a fixed number of queries whatever the data's size
(tests assert it)."""

from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet

from marketplace.accounts.models import User
from marketplace.catalog.models import Listing, ListingVersion, Review, Term
from marketplace.catalog.selectors import published_listings
from marketplace.community.models import AbuseReport, Comment, Contribution, Maintainer

ACCEPTED = Contribution.Status.ACCEPTED


def components() -> QuerySet[Listing]:
    """Published components for the community list, with their number of contributors."""
    return (
        published_listings()
        .filter(kind=Listing.Kind.COMPONENT)
        .select_related("vendor")
        .prefetch_related(Prefetch("terms", queryset=Term.objects.filter(kind=Term.Kind.PROTOCOL)))
        .annotate(
            contributor_count=Count(
                "contributions__author",
                filter=Q(contributions__status=ACCEPTED),
                distinct=True,
            )
        )
        .order_by("name", "pk")
    )


def component_page(slug: str, *, viewer: User | None = None) -> Listing | None:
    """A component with everything its community page shows, or None if not visible."""
    listing = (
        Listing.objects.filter(slug=slug, kind=Listing.Kind.COMPONENT)
        .select_related("vendor")
        .prefetch_related(
            Prefetch("terms", queryset=Term.objects.filter(kind=Term.Kind.PROTOCOL)),
            Prefetch(
                "versions",
                queryset=ListingVersion.objects.select_related("sbom").order_by(
                    "-released_on", "-pk"
                ),
            ),
            Prefetch("maintainers", queryset=Maintainer.objects.select_related("user")),
            Prefetch(
                "used_by",
                queryset=published_listings()
                .filter(kind=Listing.Kind.SOLUTION)
                .select_related("vendor")
                .order_by("name"),
                to_attr="published_solutions",
            ),
            Prefetch(
                "reviews",
                queryset=Review.objects.select_related("organization").order_by("-created_at"),
            ),
            Prefetch(
                "contributions",
                queryset=Contribution.objects.filter(status=ACCEPTED)
                .select_related("author")
                .order_by("-decided_at", "-pk"),
                to_attr="accepted_contributions",
            ),
            Prefetch(
                "contributions",
                queryset=Contribution.objects.filter(status=Contribution.Status.OPEN)
                .select_related("author")
                .order_by("-created_at", "-pk"),
                to_attr="open_contributions",
            ),
        )
        .first()
    )
    if listing is None:
        return None
    if listing.is_public or (viewer is not None and viewer.is_staff):
        return listing
    return None


@dataclass(frozen=True)
class Credit:
    user: User
    count: int


def credits(contributions: list[Contribution]) -> list[Credit]:
    """Authors of accepted contributions, the most prolific first (from loaded rows)."""
    by_user: dict[int, Credit] = {}
    for contribution in contributions:
        seen = by_user.get(contribution.author_id)
        by_user[contribution.author_id] = Credit(
            contribution.author, (seen.count if seen else 0) + 1
        )
    return sorted(by_user.values(), key=lambda c: (-c.count, c.user.pk))


def plants_in_production(reviews: list[Review]) -> int:
    """How many plants reviewers said run the component in production (opted-in reviews)."""
    return sum(r.production_plants or 0 for r in reviews)


def contribution_page(pk: int) -> Contribution | None:
    return (
        Contribution.objects.filter(pk=pk)
        .select_related("listing", "author", "decided_by")
        .prefetch_related(
            Prefetch("comments", queryset=Comment.objects.select_related("author")),
            "events__actor",
        )
        .first()
    )


def protocol_terms() -> list[Term]:
    return list(Term.objects.filter(kind=Term.Kind.PROTOCOL).order_by("position", "name"))


@dataclass(frozen=True)
class ContributorProfile:
    user: User
    accepted: list[Contribution]
    others: list[Contribution]  # open or rejected; hidden ones are not shown
    components: list[Listing]  # components the person maintains


def contributor_profile(user_id: int) -> ContributorProfile | None:
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return None
    contributions = list(
        Contribution.objects.filter(author=user)
        .exclude(status=Contribution.Status.HIDDEN)
        .select_related("listing")
        .order_by("-created_at", "-pk")
    )
    maintained = list(published_listings().filter(maintainers__user=user).order_by("name"))
    if not contributions and not maintained:
        return None
    return ContributorProfile(
        user=user,
        accepted=[c for c in contributions if c.status == ACCEPTED],
        others=[c for c in contributions if c.status != ACCEPTED],
        components=maintained,
    )


def moderation_queue() -> QuerySet[Contribution]:
    """Open contributions, the longest waiting first."""
    return (
        Contribution.objects.filter(status=Contribution.Status.OPEN)
        .select_related("author", "listing")
        .order_by("created_at", "pk")
    )


def open_reports() -> QuerySet[AbuseReport]:
    return (
        AbuseReport.objects.filter(status=AbuseReport.Status.OPEN)
        .select_related("contribution", "comment", "comment__author", "reporter")
        .order_by("created_at", "pk")
    )
