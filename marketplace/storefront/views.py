"""Storefront pages: the catalog, a listing with its pricing plans, the comparison, and reviews.

Views parse the request, call one catalog selector or service, and render. Who may preview an
unpublished listing is decided by the catalog's listing_page(); who may review or reply is decided
by the catalog's services (their ServiceError becomes a form error).
"""

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from marketplace.accounts.policies import Permission, has_permission
from marketplace.catalog import selectors, services
from marketplace.catalog.freshness import catalog_generation
from marketplace.catalog.models import Listing, Review
from marketplace.errors import ServiceError
from marketplace.storefront.forms import (
    DEPLOY_CHOICES,
    KIND_CHOICES,
    RAM_CHOICES,
    SORT_CHOICES,
    CatalogRequest,
    ReplyForm,
    ReviewForm,
    catalog_request_from,
    compare_slugs_from,
)
from marketplace.storefront.pricing import pricing_for

PAGE_SIZE = 24
# Taxonomy rows and groups, in facet order; labels stay lazy and translate per request.
TERM_KINDS = [(kind, kind.label) for kind in selectors.FACET_KINDS]


@dataclass(frozen=True)
class ActiveFilter:
    """A filter in force, shown as a chip that removes it."""

    label: str
    remove_url: str


def _url_with(params: QueryDict) -> str:
    base = reverse("storefront:catalog")
    return f"{base}?{params.urlencode()}" if params else base


def _active_filters(parsed: CatalogRequest, terms_by_key: dict) -> list[ActiveFilter]:
    params = parsed.params()
    chips = []

    def without(key: str, value: str | None = None) -> str:
        rest = params.copy()
        if value is None:
            rest.pop(key, None)
        else:
            rest.setlist(key, [v for v in rest.getlist(key) if v != value])
        return _url_with(rest)

    query = parsed.query
    if query.kind:
        chips.append(ActiveFilter(dict(KIND_CHOICES)[query.kind], without("kind")))
    for kind, slugs in query.terms.items():
        for slug in slugs:
            chips.append(ActiveFilter(terms_by_key[kind, slug].label, without(kind, slug)))
    if query.deploy:
        label = _("Deploys: %(range)s") % {"range": dict(DEPLOY_CHOICES)[query.deploy]}
        chips.append(ActiveFilter(label, without("deploy")))
    if query.ram:
        label = _("RAM: %(range)s") % {"range": dict(RAM_CHOICES)[query.ram]}
        chips.append(ActiveFilter(label, without("ram")))
    if query.offline:
        chips.append(ActiveFilter(_("Works offline"), without("offline")))
    return chips


# The catalog is cached until the catalog changes (its generation number is part of every key)
# or this many seconds pass: whole pages for visitors who are not signed in, and the body
# below the header (which depends only on the query and the language) for everyone else.
CATALOG_CACHE_SECONDS = 300


def _shared_page_key(request: HttpRequest, generation: int) -> str | None:
    """The cache key of this page as every visitor without a session sees it, or None.

    Such a visitor has no account menu, messages or CSRF token on the page (the language
    switcher is links), so the page depends on its address alone.
    """
    cookies = request.COOKIES
    if cookies.get(settings.SESSION_COOKIE_NAME) or cookies.get(CookieStorage.cookie_name):
        return None
    digest = hashlib.sha256(request.build_absolute_uri().encode()).hexdigest()
    return f"catalog-page:{generation}:{digest}"


def catalog(request: HttpRequest) -> HttpResponse:
    generation = catalog_generation()
    page_key = _shared_page_key(request, generation)
    page = cache.get(page_key) if page_key else None
    if page is not None:
        response = HttpResponse(page)
    else:
        response = _render_catalog(request, generation, cache_body=page_key is None)
        if page_key:
            cache.set(page_key, response.content, CATALOG_CACHE_SECONDS)
    patch_vary_headers(response, ["Cookie"])
    return response


def _render_catalog(request: HttpRequest, generation: int, *, cache_body: bool) -> HttpResponse:
    terms = selectors.all_terms()
    parsed = catalog_request_from(request.GET, terms)
    canonical_query = f"{parsed.params().urlencode()}&page={parsed.page}"
    digest = hashlib.sha256(canonical_query.encode()).hexdigest()
    key = f"catalog-body:{generation}:{get_language()}:{digest}"
    body = cache.get(key) if cache_body else None
    if body is None:
        body = render_to_string(
            "storefront/_catalog_body.html", _catalog_body_context(parsed, terms), request
        )
        if cache_body:  # else the whole page is cached
            cache.set(key, body, CATALOG_CACHE_SECONDS)
    return render(
        request,
        "storefront/catalog.html",
        {
            "query": parsed.query,
            "body": mark_safe(body),  # noqa: S308 - rendered by our own template just above
            # Filtered and sorted views are versions of the one catalog page.
            "canonical_url": request.build_absolute_uri(request.path),
        },
    )


def _catalog_body_context(parsed, terms) -> dict:
    result = selectors.catalog_search(parsed.query, terms=terms)
    paginator = Paginator(result.listings, PAGE_SIZE)
    paginator.count = result.total  # counted by the search already: spare a second COUNT
    page = paginator.get_page(parsed.page)
    keep_search = QueryDict(mutable=True)
    if parsed.query.q:
        keep_search["q"] = parsed.query.q
    return {
        "query": parsed.query,
        "params": parsed.params(),
        "result": result,
        "facets": result.facets,
        "page_obj": page,
        "page_range": list(page.paginator.get_elided_page_range(page.number, on_each_side=1)),
        "active_filters": _active_filters(parsed, {(t.kind, t.slug): t for t in terms}),
        "has_filters": parsed.has_filters,
        "clear_url": _url_with(keep_search),
        "kind_choices": KIND_CHOICES,
        "deploy_choices": DEPLOY_CHOICES,
        "ram_choices": RAM_CHOICES,
        "sort_choices": SORT_CHOICES,
        "max_compare": selectors.MAX_COMPARE,
    }


def _listing_or_404(request: HttpRequest, slug: str) -> Listing:
    listing = selectors.listing_page(slug, viewer=request.user)
    if listing is None:
        raise Http404(_("No such listing."))
    return listing


def _review_state(request: HttpRequest, listing: Listing) -> str:
    """Why the review form is, or is not, offered to this visitor."""
    if not request.user.is_authenticated:
        return "sign_in"
    if not listing.is_public:
        return "not_public"
    organization = request.organization
    if not organization:
        return "no_organization"
    if organization.pk == listing.vendor_id:
        return "own_listing"
    if not organization.is_buyer:
        return "not_buyer"
    return "form"


def _render_listing(
    request: HttpRequest,
    listing: Listing,
    *,
    review_form: ReviewForm | None = None,
    reply: tuple[int, ReplyForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    reviews: list[Review] = list(listing.reviews.all())
    review_state = _review_state(request, listing)
    own_review = None
    if review_state == "form":
        own_review = next(
            (r for r in reviews if r.organization_id == request.organization.pk), None
        )
        if review_form is None:
            initial = (
                {"rating": own_review.rating, "title": own_review.title, "body": own_review.body}
                if own_review
                else None
            )
            review_form = ReviewForm(initial=initial)
    can_reply = request.user.is_authenticated and has_permission(
        request.user, listing.vendor, Permission.PUBLISH
    )
    if can_reply:
        for review in reviews:
            if reply and reply[0] == review.pk:
                review.reply_form = reply[1]
            else:
                review.reply_form = ReplyForm(
                    initial={"reply": review.vendor_reply}, auto_id=f"id_reply_{review.pk}_%s"
                )
    images = list(listing.images.all())
    return render(
        request,
        "storefront/listing.html",
        {
            "listing": listing,
            "is_preview": not listing.is_public,
            "images": images,
            "og_image": request.build_absolute_uri(images[0].image.url) if images else "",
            "canonical_url": request.build_absolute_uri(
                reverse("storefront:listing", args=[listing.slug])
            ),
            "reviews": reviews,
            "review_state": review_state,
            "review_form": review_form,
            "own_review": own_review,
            "can_reply": can_reply,
            "term_kinds": TERM_KINDS,
            "pricing": pricing_for(
                listing, user=request.user, organization=request.organization or None
            ),
        },
        status=status,
    )


def listing_detail(request: HttpRequest, slug: str) -> HttpResponse:
    return _render_listing(request, _listing_or_404(request, slug))


def _reviews_url(listing: Listing) -> str:
    return reverse("storefront:listing", args=[listing.slug]) + "#reviews"


@login_required
@require_POST
def review_create(request: HttpRequest, slug: str) -> HttpResponse:
    listing = _listing_or_404(request, slug)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        return _render_listing(request, listing, review_form=form, status=400)
    if not request.organization:
        form.add_error(None, _("Create or join a buyer organization to write a review."))
        return _render_listing(request, listing, review_form=form, status=400)
    try:
        services.review_create(
            actor=request.user,
            organization=request.organization,
            listing=listing,
            rating=form.cleaned_data["rating"],
            title=form.cleaned_data["title"],
            body=form.cleaned_data["body"],
        )
    except ServiceError as exc:
        form.add_error(None, exc.message)
        return _render_listing(request, listing, review_form=form, status=exc.status_code)
    messages.success(request, _("Thank you: your review is published."))
    return redirect(_reviews_url(listing))


@login_required
@require_POST
def review_reply(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    listing = _listing_or_404(request, slug)
    review = next((r for r in listing.reviews.all() if r.pk == pk), None)
    if review is None:
        raise Http404(_("No such review."))
    form = ReplyForm(request.POST, auto_id=f"id_reply_{pk}_%s")
    if not form.is_valid():
        return _render_listing(request, listing, reply=(pk, form), status=400)
    try:
        services.review_reply(actor=request.user, review=review, reply=form.cleaned_data["reply"])
    except ServiceError as exc:
        form.add_error(None, exc.message)
        return _render_listing(request, listing, reply=(pk, form), status=exc.status_code)
    if form.cleaned_data["reply"].strip():
        messages.success(request, _("Your reply is published under the review."))
    else:
        messages.success(request, _("Your reply is removed."))
    return redirect(_reviews_url(listing))


@dataclass(frozen=True)
class CompareColumn:
    listing: Listing
    remove_url: str


def _compare_url(slugs: list[str]) -> str:
    params = QueryDict(mutable=True)
    params.setlist("slugs", slugs)
    base = reverse("storefront:compare")
    return f"{base}?{params.urlencode()}" if slugs else base


def compare(request: HttpRequest) -> HttpResponse:
    asked = compare_slugs_from(request.GET)
    listings = selectors.compare(asked)
    slugs = [listing.slug for listing in listings]
    columns = [
        CompareColumn(listing, _compare_url([s for s in slugs if s != listing.slug]))
        for listing in listings
    ]
    return render(
        request,
        "storefront/compare.html",
        {
            "columns": columns,
            "listings": listings,
            "capped": len(asked) > selectors.MAX_COMPARE,
            "term_kinds": TERM_KINDS,
            "names": " · ".join(listing.name for listing in listings),
            "max_compare": selectors.MAX_COMPARE,
            "canonical_url": request.build_absolute_uri(_compare_url(slugs)),
        },
    )
