"""What the storefront reads from a request: catalog filters, reviews and vendor replies.

Catalog filters come from a shareable GET address, so they are parsed leniently: a value the
catalog does not know is dropped (the page still answers 200), never turned into an error.
"""

from dataclasses import dataclass

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from marketplace.catalog.models import Listing, Review, Term
from marketplace.catalog.selectors import FACET_KINDS, FOOTPRINT_RANGES, SORTS, CatalogQuery

# What the filter controls offer, in the order shown; keys are those of selectors' tables.
KIND_CHOICES = [
    ("", _("Both")),
    (Listing.Kind.SOLUTION, _("Solutions")),
    (Listing.Kind.COMPONENT, _("Open-source components")),
]
DEPLOY_CHOICES = [
    ("15", _("Within 15 minutes")),
    ("60", _("Within an hour")),
    ("480", _("Within a working day")),
]
RAM_CHOICES = [("512", _("Up to 512 MB")), ("2048", _("Up to 2 GB")), ("8192", _("Up to 8 GB"))]
SORT_CHOICES = [
    ("relevance", _("Relevance")),
    ("newest", _("Newest")),
    ("rating", _("Best rated")),
    ("name", _("Name (A to Z)")),
]

MAX_QUERY_LENGTH = 200
MAX_VALUES_PER_FACET = 20
TRUE_VALUES = {"1", "true", "on", "yes"}


def _clean(value: str) -> str:
    # NUL bytes make PostgreSQL refuse the query; nothing legitimate contains them.
    return value.replace("\x00", "").strip()


@dataclass(frozen=True)
class CatalogRequest:
    """A catalog query parsed from GET parameters, with the page asked for."""

    query: CatalogQuery
    page: str

    @property
    def has_filters(self) -> bool:
        """Whether anything narrows the results besides the search text."""
        q = self.query
        return bool(q.kind or any(q.terms.values()) or q.deploy or q.ram or q.offline)

    def params(self) -> QueryDict:
        """The query as canonical GET parameters (known values only, no page)."""
        q = self.query
        params = QueryDict(mutable=True)
        if q.q:
            params["q"] = q.q
        if q.kind:
            params["kind"] = q.kind
        for kind in FACET_KINDS:
            if q.terms.get(kind):
                params.setlist(kind, list(q.terms[kind]))
        if q.deploy:
            params["deploy"] = q.deploy
        if q.ram:
            params["ram"] = q.ram
        if q.offline:
            params["offline"] = "1"
        if q.sort != "relevance":
            params["sort"] = q.sort
        return params


def catalog_request_from(params: QueryDict, terms: list[Term]) -> CatalogRequest:
    """Parse catalog GET parameters; `terms` are the known facet values (unknown ones are dropped).

    Facet parameters repeat (`?industry=electronics&industry=textiles`): values of one facet are
    alternatives, different facets narrow the results.
    """
    known = {(term.kind, term.slug) for term in terms}
    selected: dict[str, tuple[str, ...]] = {}
    for kind in FACET_KINDS:
        slugs = []
        for raw in params.getlist(kind)[:MAX_VALUES_PER_FACET]:
            slug = _clean(raw)
            if (kind, slug) in known and slug not in slugs:
                slugs.append(slug)
        if slugs:
            selected[str(kind)] = tuple(slugs)

    kind = _clean(params.get("kind", ""))
    deploy = _clean(params.get("deploy", ""))
    ram = _clean(params.get("ram", ""))
    sort = _clean(params.get("sort", ""))
    query = CatalogQuery(
        q=" ".join(_clean(params.get("q", ""))[:MAX_QUERY_LENGTH].split()),
        kind=kind if kind in Listing.Kind.values else "",
        terms=selected,
        deploy=deploy if deploy in FOOTPRINT_RANGES["deploy"] else "",
        ram=ram if ram in FOOTPRINT_RANGES["ram"] else "",
        offline=_clean(params.get("offline", "")).lower() in TRUE_VALUES,
        sort=sort if sort in SORTS else "relevance",
    )
    return CatalogRequest(query=query, page=_clean(params.get("page", "1"))[:10])


def compare_slugs_from(params: QueryDict) -> list[str]:
    """The listing slugs to compare, in the order given, without blanks or repeats."""
    slugs = [_clean(slug)[:90] for slug in params.getlist("slugs")[:20]]
    return list(dict.fromkeys(slug for slug in slugs if slug))


RATING_CHOICES = [(n, str(n)) for n in range(1, 6)]


class ReviewForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("Your rating"),
        choices=RATING_CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose a rating from 1 to 5 stars.")},
    )
    title = forms.CharField(label=_("Title"), max_length=Review._meta.get_field("title").max_length)
    body = forms.CharField(
        label=_("Your review"),
        max_length=Review._meta.get_field("body").max_length,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("What did it do on your line? What would you tell another plant?"),
    )


class ReplyForm(forms.Form):
    reply = forms.CharField(
        label=_("Your reply"),
        max_length=Review._meta.get_field("vendor_reply").max_length,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown under the review. Leave it empty to remove your reply."),
    )
