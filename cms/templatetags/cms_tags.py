"""`{% site_menus as menus %}`: the header links and footer columns editors keep in /cms/ (Menu
snippets), in the language being read. Cached, so most pages run no query for them.

`{% in_page_locale target as linked %}`: a page a block links, in the language of the page
being rendered (see selectors.page_in_locale)."""

from django import template
from django.utils.translation import get_language

from cms import selectors

register = template.Library()


@register.simple_tag
def site_menus() -> selectors.SiteMenus:
    return selectors.site_menus(get_language() or "en")


@register.simple_tag(takes_context=True)
def in_page_locale(context, target):
    page = context.get("page")
    if target is None or page is None:
        return target
    return selectors.page_in_locale(target, getattr(page, "locale_id", None))
