"""Template filters for showing catalog content: `{% load catalog_tags %}`.

`markdown` is the only way vendor-written markdown reaches a page: render_markdown parses it
with raw HTML off and sanitizes the result with an allow-list.
"""

from decimal import Decimal
from urllib.parse import urlsplit

from django import template
from django.utils.safestring import SafeString

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
    """The listing's terms of one kind, from its prefetched terms (no query when prefetched)."""
    return [term for term in listing.terms.all() if term.kind == kind]


@register.filter
def stars(average: Decimal | None) -> int:
    """A rating average rounded to whole stars (0 to 5)."""
    return rating_stars(average)


@register.simple_tag
def star_icons(filled: int) -> SafeString:
    """Five star icons, the first `filled` of them on (one tag, not a loop of five includes)."""
    on, off = icon("star", "stars__on"), icon("star", "stars__off")
    return SafeString(on * filled + off * (5 - filled))


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
