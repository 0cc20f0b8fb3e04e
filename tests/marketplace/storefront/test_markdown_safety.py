"""Vendor markdown never brings script, event handlers or dangerous URLs into a page."""

import re
from html.parser import HTMLParser

import pytest
from django.template import Context, Template

from marketplace.catalog.markdown import ALLOWED_TAGS
from tests.factories import KpiClaimFactory, ListingFactory, ListingVersionFactory, ReviewFactory

# Payloads from the usual XSS cheat sheets, in markdown and raw HTML.
CORPUS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.test/x.js></SCRIPT>",
    "<<script>script>alert(1)<</script>/script>",
    "[link](javascript:alert(1))",
    "[link](JaVaScRiPt:alert(1))",
    "[link](&#106;avascript:alert(1))",
    "[link](java\tscript:alert(1))",
    "[link]( javascript:alert(1) )",
    "[link][ref]\n\n[ref]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "[link](vbscript:msgbox(1))",
    "[link](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![img](javascript:alert(1))",
    "![img](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    '<img src=x onerror="alert(1)">',
    "<svg onload=alert(1)><circle r=1 /></svg>",
    "<svg><script>alert(1)</script></svg>",
    '<iframe src="https://evil.test"></iframe>',
    '<object data="https://evil.test/x.swf"></object>',
    '<embed src="https://evil.test/x.swf">',
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<a href="javascript:alert(1)" onclick="alert(1)">x</a>',
    '<div onmouseover="alert(1)">hover</div>',
    '<details open ontoggle="alert(1)">x</details>',
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    '<form action="javascript:alert(1)"><button>x</button></form>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '[x](https://example.com "title" onmouseover="alert(1)")',
    '<a href="https://example.com" style="position:fixed">x</a>',
    "```html\n<script>alert(1)</script>\n```",
    "`<img src=x onerror=alert(1)>`",
    "| a | b |\n|---|---|\n| <script>alert(1)</script> | [x](javascript:alert(1)) |",
    "<!-- <script>alert(1)</script> -->",
    '<base href="javascript:alert(1)//">',
    "<link rel=stylesheet href=https://evil.test/x.css>",
]
MARKDOWN = "\n\n".join(["## Safe heading", "**bold** and [a link](https://example.com)", *CORPUS])

DANGEROUS_TAGS = {"script", "iframe", "object", "embed", "style", "base", "math", "frame", "applet"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "srcset"}
DANGEROUS_SCHEMES = re.compile(r"^(?:javascript|vbscript|data):", re.I)


class Audit(HTMLParser):
    """Every tag and attribute of a piece of HTML, as a browser would parse them."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [(tag, name, value or "") for name, value in attrs]

    handle_startendtag = handle_starttag


def assert_safe(html: str, *, allowed_tags: set[str] | None = None) -> None:
    assert not re.search(r"<script", html, re.I)
    audit = Audit(html)
    assert not DANGEROUS_TAGS & set(audit.tags)
    if allowed_tags is not None:
        assert set(audit.tags) <= allowed_tags, set(audit.tags) - allowed_tags
    for tag, name, value in audit.attributes:
        assert not name.startswith("on"), f"<{tag} {name}=...>"
        if name in URL_ATTRIBUTES:
            # Browsers drop whitespace and control characters inside a scheme.
            squeezed = re.sub(r"[\x00-\x20]", "", value)
            assert not DANGEROUS_SCHEMES.match(squeezed), f"<{tag} {name}={value!r}>"


def test_markdown_filter_output_is_safe():
    html = Template("{% load catalog_tags %}{{ text|markdown }}").render(
        Context({"text": MARKDOWN})
    )
    assert_safe(html, allowed_tags=ALLOWED_TAGS)
    assert "<h3>Safe heading</h3>" in html  # the filter still renders markdown
    assert "<strong>bold</strong>" in html
    assert '<a href="https://example.com"' in html


def test_markdown_filter_accepts_nothing():
    template = Template("{% load catalog_tags %}[{{ text|markdown }}]")
    assert template.render(Context({"text": None})) == "[]"


@pytest.mark.django_db
def test_listing_page_with_hostile_content_is_safe(client, vendor):
    listing = ListingFactory(
        vendor=vendor,
        name="Hostile <script>alert(1)</script>",
        tagline='Tagline" onmouseover="alert(1)',
        description=MARKDOWN,
        website="javascript:alert(1)",
        repository_url="javascript:alert(1)",
    )
    ListingVersionFactory(listing=listing, changelog=MARKDOWN)
    KpiClaimFactory(listing=listing, evidence_url="javascript:alert(1)")
    ReviewFactory(listing=listing, title="<script>alert(1)</script>", body=MARKDOWN)

    html = client.get(f"/catalog/{listing.slug}/").content.decode()

    # The whole page: no script (the listing page loads none), handlers or dangerous URLs.
    assert_safe(html)
    assert "<svg onload" not in html
    assert "<img src=x" not in html
    # The vendor's description and changelog: only the markdown allow-list (not even SVG).
    description = re.search(
        r'data-testid="listing-description">(.*?)</div>', html, re.DOTALL
    ).group(1)
    assert "<h3>Safe heading</h3>" in description
    assert_safe(description, allowed_tags=ALLOWED_TAGS)
    changelog = re.search(r'class="prose changelog">(.*?)</div>', html, re.DOTALL).group(1)
    assert_safe(changelog, allowed_tags=ALLOWED_TAGS)
