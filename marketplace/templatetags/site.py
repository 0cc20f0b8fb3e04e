"""Tags every site template can use without loading them (TEMPLATES "builtins").

- `{% icon "star" "stars__on" %}`: a line icon from templates/components/icons.svg, inline.
  A tag rather than an include with a chain of {% if %}s: a catalog page shows some two
  hundred icons, and the include made them a third of its rendering time.
- `{% translated_url "zh-hans" %}`: this page's address in another language, query included,
  for the language links (plain links, so the pages they sit on can be cached whole).
- `{{ invoice.due_at|day_ended_by|date }}`: the last day of a deadline stored as the local
  midnight that ends it.
"""

import functools
import re
from pathlib import Path

from django import template
from django.conf import settings
from django.http import QueryDict
from django.urls import translate_url
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from billing import periods

register = template.Library()

ICONS_FILE = Path(settings.BASE_DIR) / "templates" / "components" / "icons.svg"
SYMBOL = re.compile(r'<symbol id="([a-z-]+)">(.*?)</symbol>', re.DOTALL)


@functools.cache
def icon_shapes() -> dict[str, str]:
    """Icon name -> the SVG shapes that draw it."""
    text = ICONS_FILE.read_text()
    return {name: " ".join(body.split()) for name, body in SYMBOL.findall(text)}


@register.simple_tag
def icon(name: str, css_class: str = "") -> SafeString:
    """A decorative icon in the current text colour, hidden from assistive technology."""
    shapes = icon_shapes()[name]  # an unknown name is a template bug: fail loudly
    classes = f"icon {css_class}".strip()
    return format_html(
        '<svg class="{}" viewBox="0 0 24 24" width="24" height="24" fill="none" '
        'stroke="currentColor" stroke-width="2" stroke-linecap="round" '
        'stroke-linejoin="round" aria-hidden="true" focusable="false">{}</svg>',
        classes,
        mark_safe(shapes),  # noqa: S308 - our own file, not user input
    )


@register.simple_tag(takes_context=True)
def translated_url(context, language: str) -> str:
    """The current page's address (with its query) in `language`, or that language's home."""
    request = context.get("request")
    if request is None:
        return translate_url("/", language)
    return translate_url(request.get_full_path(), language)


@register.simple_tag(takes_context=True)
def page_url(context, number: int, param: str = "page", query: QueryDict | None = None) -> str:
    """The query string of `query` (by default the request's) with `param` set to `number`:
    the address of one page of a paginated list, keeping its filters."""
    base = query if isinstance(query, QueryDict) else context["request"].GET
    base = base.copy()
    base[param] = number
    return "?" + base.urlencode()


@register.filter
def day_ended_by(instant):
    """billing.periods.day_ended_by in the current time zone (an invoice due on 9 December is
    due before 00:00 on the 10th)."""
    if not instant:
        return ""
    return periods.day_ended_by(instant, timezone.get_current_timezone())
