"""Template filters for showing catalog content: `{% load catalog_tags %}`.

`markdown` is the only way vendor-written markdown reaches a page: render_markdown parses it
with raw HTML off and sanitizes the result with an allow-list.
"""

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlsplit

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from marketplace.catalog.markdown import render_markdown
from marketplace.catalog.models import Listing, Term
from marketplace.catalog.selectors import rating_stars
from marketplace.templatetags.site import icon

register = template.Library()


@register.filter(name="markdown")
def markdown(text: str | None) -> SafeString:
    """`{{ listing.description|markdown }}`: safe HTML from vendor markdown."""
    return render_markdown(text or "")


@register.filter
def terms_of(listing: Listing, kind: str) -> list[Term]:
    """The listing's terms of one kind, from its prefetched terms (no query when prefetched).

    Grouped once per listing object: a card asks for several kinds, and each `listing.terms`
    builds a new manager.
    """
    by_kind = listing.__dict__.get("_terms_by_kind")
    if by_kind is None:
        by_kind = defaultdict(list)
        for term in listing.terms.all():
            by_kind[term.kind].append(term)
        listing.__dict__["_terms_by_kind"] = by_kind
    return by_kind.get(kind, [])


@register.simple_tag
def footprint_badges(listing: Listing) -> SafeString:
    """The footprint of a listing as short badges: deploy time, RAM, offline.

    Built here rather than in a template: it is on every card of the catalog, where an include
    with three translated sentences cost a quarter of the card's rendering time.
    """
    items = []
    if listing.deploy_minutes is not None:
        if listing.deploy_minutes < 120:
            text = _("Deploys in %(minutes)s min") % {"minutes": listing.deploy_minutes}
        else:
            text = _("Deploys in %(hours)s h") % {"hours": round(listing.deploy_minutes / 60)}
        items.append(("clock", text))
    if listing.min_ram_mb is not None:
        items.append(("cpu", _("%(size)s RAM") % {"size": ram_size(listing.min_ram_mb)}))
    if listing.works_offline:
        items.append(("wifi-off", _("Offline")))
    if not items:
        return SafeString("")
    return format_html(
        '<ul class="footprint" aria-label="{}">{}</ul>',
        _("Footprint"),
        format_html_join(
            "", '<li class="footprint__item">{}{}</li>', ((icon(n), t) for n, t in items)
        ),
    )


@register.filter
def stars(average: Decimal | None) -> int:
    """A rating average rounded to whole stars (0 to 5)."""
    return rating_stars(average)


def _star_icons(filled: int) -> str:
    on, off = icon("star", "stars__on"), icon("star", "stars__off")
    return on * filled + off * (5 - filled)


@register.simple_tag
def rating(average: Decimal | None, count: int, bare: bool = False) -> SafeString:
    """A rating as five stars with its average and number of reviews ("No reviews yet").

    `{% rating listing.rating_average listing.rating_count %}`; bare=True shows the stars
    only (one review: `{% rating review.rating 1 bare=True %}`). Built here, not in a template:
    it is on every card of the catalog.
    """
    if not count:
        return format_html('<span class="rating rating--none">{}</span>', _("No reviews yet"))
    shown = f"{Decimal(average or 0).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}"
    stars = format_html(
        '<span class="stars" role="img" aria-label="{}">{}</span>',
        _("Rated %(average)s out of 5") % {"average": shown},
        SafeString(_star_icons(rating_stars(average))),
    )
    if bare:
        return format_html('<span class="rating">{}</span>', stars)
    reviews = ngettext("(%(counter)s review)", "(%(counter)s reviews)", count) % {"counter": count}
    return format_html(
        '<span class="rating">{}<span class="rating__value">{}</span>'
        '<span class="rating__count">{}</span></span>',
        stars,
        shown,
        reviews,
    )


@register.filter
def http_url(url: str | None) -> str:
    """The URL if it is an absolute http(s) address, else "" (never a javascript: link)."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
    except ValueError:  # a malformed address such as "http://[::1"
        return ""
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else ""


@register.filter
def ram_size(megabytes: int | None) -> str:
    """512 -> "512 MB", 2048 -> "2 GB", 1536 -> "1.5 GB"."""
    if megabytes is None:
        return ""
    if megabytes < 1024:
        return f"{megabytes} MB"
    gigabytes = Decimal(megabytes) / 1024
    return f"{gigabytes.quantize(Decimal('0.1')).normalize():f} GB"
