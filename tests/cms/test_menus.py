"""Header links and footer columns come from Menu snippets, per language, at a fixed cost."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from wagtail.models import Locale

from cms import selectors
from cms.models import Menu, MenuItem

pytestmark = pytest.mark.django_db


def nav(html: str, label: str) -> str:
    start = html.index(f'aria-label="{label}"')
    return html[start : html.index("</nav>", start)]


def test_the_header_and_footer_show_the_menus_of_the_language_read(client, cms_content):
    english = client.get("/").content.decode()
    main = nav(english, "Main")
    assert re.search(r"<summary>\s*Learn", main)
    assert re.search(r'<a href="/guides/"\s*>Guides</a>', main)
    assert re.search(r'<a href="/case-studies/"\s*>Case studies</a>', main)
    # The site's own links stay.
    assert 'href="/catalog/"' in main
    assert 'href="/search/"' in main
    footer = english[english.index('<footer class="site-footer">') :]
    assert ">Marketplace</h2>" in footer
    assert 'href="/news/">News</a>' in footer

    chinese = client.get("/zh-hans/").content.decode()
    header = chinese[: chinese.index("</header>")]
    assert re.search(r"<summary>\s*了解", header)
    assert 'href="/zh-hans/guides/"' in header
    assert ">指南</a>" in header
    footer = chinese[chinese.index('<footer class="site-footer">') :]
    assert ">市场</h2>" in footer
    assert 'href="/zh-hans/catalog/">产品目录</a>' in footer
    assert ">Marketplace</h2>" not in footer


def test_menus_are_cached_until_an_editor_changes_one(client, cms_content):
    client.get("/")
    with CaptureQueriesContext(connection) as queries:
        selectors.site_menus("en")
    assert len(queries) == 0
    menu = Menu.objects.get(locale__language_code="en", placement="footer", position=1)
    MenuItem.objects.create(menu=menu, label="Status page", link_url="https://status.example.com")
    selectors.menus_changed()  # what the snippet hooks do after an edit in /cms/
    assert "Status page" in client.get("/").content.decode()


def test_menus_run_the_same_queries_with_few_and_many_links(cms_content):
    def queries() -> int:
        selectors.site_menus("en")  # warm what is filled once (the site's root paths)
        selectors.menus_changed()
        with CaptureQueriesContext(connection) as captured:
            menus = selectors.site_menus("en")
        return len(captured), sum(len(column.links) for column in menus.footer)

    few, few_links = queries()
    locale = Locale.objects.get(language_code="en")
    menu = Menu.objects.create(locale=locale, title="More", placement="footer", position=5)
    pages = list(cms_content.values())
    for n in range(12):
        MenuItem.objects.create(menu=menu, label=f"Link {n}", link_url=f"/catalog/{pages[0].slug}/")
    many, many_links = queries()
    assert many_links == few_links + 12
    assert many == few


def test_a_menu_link_to_an_unpublished_page_is_left_out(client, cms_content):
    from cms.models import NewsIndexPage

    NewsIndexPage.objects.get(locale__language_code="en").unpublish()
    selectors.menus_changed()
    assert 'href="/news/"' not in client.get("/").content.decode()


def test_the_catalog_cached_for_visitors_shows_a_changed_menu(
    client, cms_content, django_capture_on_commit_callbacks
):
    assert "Status page" not in client.get("/catalog/").content.decode()  # cached whole now
    menu = Menu.objects.get(locale__language_code="en", placement="footer", position=1)
    MenuItem.objects.create(menu=menu, label="Status page", link_url="https://status.example.com")
    with django_capture_on_commit_callbacks(execute=True):
        selectors.menus_changed()
    assert "Status page" in client.get("/catalog/").content.decode()
