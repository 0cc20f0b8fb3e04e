"""The site-wide template tags: icons and the language links."""

import re
from pathlib import Path

import pytest
from django.conf import settings

from marketplace.templatetags.site import icon, icon_shapes

TEMPLATES = Path(settings.BASE_DIR) / "templates"


def test_every_icon_a_template_names_exists():
    named = {
        name
        for path in TEMPLATES.rglob("*.html")
        for name in re.findall(r'\{% icon "([a-z-]+)"', path.read_text())
    }
    assert named  # the pattern still finds the tags
    assert named - set(icon_shapes()) == set()


def test_an_icon_is_decorative_svg_with_its_class():
    html = icon("star", "stars__on")
    assert html.startswith('<svg class="icon stars__on"')
    assert 'aria-hidden="true"' in html
    assert "<path" in html


def test_an_unknown_icon_fails_loudly():
    with pytest.raises(KeyError):
        icon("no-such-icon")


@pytest.mark.django_db
def test_language_links_keep_the_page_and_its_query(client):
    page = client.get("/catalog/?q=pump&industry=textiles").content.decode()
    assert 'href="/zh-hans/catalog/?q=pump&amp;industry=textiles"' in page
    assert 'hreflang="zh-hans"' in page
    chinese = client.get("/zh-hans/catalog/?q=pump").content.decode()
    assert 'href="/catalog/?q=pump"' in chinese
    assert "csrfmiddlewaretoken" not in page  # nothing per visitor on an anonymous page
