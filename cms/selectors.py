"""Reads for the CMS pages: catalog data their blocks show, child lists, menus, site search.

Every read runs a fixed number of queries whatever the number of pages, blocks or listings
(tests/cms/test_queries.py asserts it). The catalog is read through its own selectors.
"""

from dataclasses import dataclass

from django.core.cache import cache
from django.core.paginator import Page as PaginatorPage
from django.core.paginator import Paginator
from django.db.models import Prefetch, QuerySet
from wagtail.models import Locale, Page

from cms.blocks import catalog_sources
from marketplace.catalog import selectors as catalog
from marketplace.catalog.freshness import catalog_changed
from marketplace.catalog.models import Listing


def stream_context(stream) -> dict:
    """The catalog sections a page's blocks show, each read once for the whole page."""
    sources = catalog_sources(stream)
    context: dict = {"catalog_sections": {}}
    if sources & {"featured", "new"}:
        context["catalog_sections"] = catalog.home_sections()
    if "industries" in sources:
        context["industries"] = catalog.industries_with_counts()
    return context


def first_hero(stream):
    """The value of the stream's first hero block, or None."""
    for block in stream:
        if block.block_type == "hero":
            return block.value
    return None


def _paginate(queryset: QuerySet, number, per_page: int) -> dict:
    paginator = Paginator(queryset, per_page)
    page_obj = paginator.get_page(number)
    return {
        "page_obj": page_obj,
        "page_range": paginator.get_elided_page_range(page_obj.number, on_each_side=1, on_ends=1),
    }


def children_page(parent: Page, model: type[Page], *, number, per_page: int) -> dict:
    """One page of the parent's live children of one type (news newest first)."""
    queryset = model.objects.child_of(parent).live()
    if "date" in {field.name for field in model._meta.get_fields()}:
        queryset = queryset.order_by("-date", "-pk")
    else:
        queryset = queryset.order_by("path")
    return _paginate(queryset, number, per_page)


def case_study_listings(page) -> list[Listing]:
    """The published listings a case study links, in the editor's order, ready for cards."""
    ids = [link.listing_id for link in page.listing_links.all()]
    found = {
        listing.pk: listing
        for listing in catalog.with_card_data(catalog.published_listings().filter(pk__in=ids))
    }
    return [found[pk] for pk in ids if pk in found]


# --- Menus -----------------------------------------------------------------------------------

MENUS_CACHE_SECONDS = 600
MENUS_VERSION_KEY = "cms-menus-version"


@dataclass(frozen=True)
class MenuLink:
    label: str
    url: str


@dataclass(frozen=True)
class MenuColumn:
    title: str
    links: tuple[MenuLink, ...]


@dataclass(frozen=True)
class SiteMenus:
    header: tuple[MenuColumn, ...] = ()  # each a drop-down of the main navigation
    footer: tuple[MenuColumn, ...] = ()  # each a column of the footer


def menus_changed() -> None:
    """Forget the cached menus (called when a menu or a page changes), and the catalog pages
    cached whole for visitors, which show them (on commit)."""
    try:
        cache.incr(MENUS_VERSION_KEY)
    except ValueError:
        cache.set(MENUS_VERSION_KEY, 1, None)
    catalog_changed()


def site_menus(language: str) -> SiteMenus:
    """The header drop-downs and footer columns in a language: from the cache, or two queries."""
    from cms.models import Menu, MenuItem  # cms.models imports this module

    version = cache.get_or_set(MENUS_VERSION_KEY, 1, None)
    key = f"cms-menus:{version}:{language}"
    menus = cache.get(key)
    if menus is not None:
        return menus
    rows = Menu.objects.filter(locale__language_code=language).prefetch_related(
        Prefetch(
            "items",
            queryset=MenuItem.objects.select_related("link_page").order_by("sort_order", "pk"),
        )
    )
    header: list[MenuColumn] = []
    footer: list[MenuColumn] = []
    for menu in rows:
        links = tuple(
            MenuLink(item.label, url)
            for item in menu.items.all()
            if (url := _item_url(item, menu.locale_id))
        )
        placement = header if menu.placement == Menu.Placement.HEADER else footer
        placement.append(MenuColumn(menu.title, links))
    menus = SiteMenus(header=tuple(header), footer=tuple(footer))
    cache.set(key, menus, MENUS_CACHE_SECONDS)
    return menus


def _item_url(item, locale_id: int) -> str:
    if item.link_page is not None:
        page = page_in_locale(item.link_page, locale_id)
        if not page.live:
            return ""
        return page.get_url() or ""
    return item.link_url


def page_in_locale(page: Page, locale_id: int | None) -> Page:
    """The live translation of `page` in a locale, or the page itself when it has none.

    A menu or a block translated with its page ("Translate" in /cms/) still links the pages of
    the language it was copied from. No query when the page is in that locale already.
    """
    if locale_id is None or page.locale_id == locale_id:
        return page
    translation = page.get_translation_or_none(locale_id)
    return translation if translation is not None and translation.live else page


# --- Site search -----------------------------------------------------------------------------

SEARCH_PER_PAGE = 10
MAX_QUERY_LENGTH = 200


@dataclass(frozen=True)
class SiteSearchResult:
    q: str
    pages: PaginatorPage | None
    pages_range: list
    listings: PaginatorPage | None
    listings_range: list


def site_search(q: str, *, language: str, pages_number=None, listings_number=None):
    """Live CMS pages in the language being read and published catalog listings matching q.

    Pages are searched with Wagtail's search backend; listings with the catalog's own search.
    """
    q = " ".join(q.split())[:MAX_QUERY_LENGTH]
    if not q:
        return SiteSearchResult(q, None, [], None, [])
    locale = Locale.objects.filter(language_code=language).first()
    pages_qs = Page.objects.live().public().exclude(depth__lte=1)
    if locale is not None:
        pages_qs = pages_qs.filter(locale=locale)
    pages = _paginate(pages_qs.specific().search(q), pages_number, SEARCH_PER_PAGE)
    found = catalog.catalog_search(catalog.CatalogQuery(q=q), with_facets=False).listings
    listings = _paginate(found, listings_number, SEARCH_PER_PAGE)
    return SiteSearchResult(
        q,
        pages["page_obj"],
        list(pages["page_range"]),
        listings["page_obj"],
        list(listings["page_range"]),
    )
