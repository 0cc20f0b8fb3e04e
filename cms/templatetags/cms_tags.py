"""`{% site_menus as menus %}`: the header links and footer columns editors keep in /cms/ (Menu
snippets), in the language being read. Cached, so most pages run no query for them."""

from django import template
from django.utils.translation import get_language

from cms import selectors

register = template.Library()


@register.simple_tag
def site_menus() -> selectors.SiteMenus:
    return selectors.site_menus(get_language() or "en")
