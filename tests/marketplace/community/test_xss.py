"""Whatever people type into proposals, descriptions, comments and reviews, the rendered pages
carry nothing a browser would execute."""

from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from marketplace.catalog.models import Listing
from marketplace.community import services
from tests.factories import MembershipFactory

CORPUS = [
    "<script>alert(1)</script>",
    '"><script>alert(1)</script>',
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<iframe src=javascript:alert(1)></iframe>",
    "<details open ontoggle=alert(1)>x</details>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<a href="javascript:alert(1)">x</a>',
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](javas&#99;ript:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](java\tscript:alert(1))",
    "[click](<javascript:alert(1)>)",
    "[ref link][r]\n\n[r]: javascript:alert(1)",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![pic](javascript:alert(1))",
    "![pic](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "[x](vbscript:msgbox(1))",
    '[x](https://example.com "t" onmouseover=alert(1))',
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;img src=x onerror=alert(1)&#62;",
    "`<script>alert(1)</script>`",
    "<<script>script>alert(1)<</script>/script>",
]
SAFE_SCHEMES = {"", "http", "https", "mailto"}
FORBIDDEN_TAGS = {"script", "iframe", "object", "embed", "svg", "math", "base", "frame", "meta"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "poster", "srcset"}


class ExecutableFinder(HTMLParser):
    """Collects what a browser could run: script-like tags, event handlers, unsafe URLs.

    The site's own icons (`{% icon %}`: <svg class="icon ...">) are the one SVG allowed.
    """

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.in_head = False

    def handle_starttag(self, tag, attrs):
        if tag == "head":
            self.in_head = True
        site_icon = tag == "svg" and dict(attrs).get("class", "").startswith("icon")
        if tag in FORBIDDEN_TAGS and not (self.in_head and tag == "meta") and not site_icon:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                self.found.append(f"{tag}[{name}]")
            if name == "style" and ("url(" in value or "expression" in value):
                self.found.append(f"{tag}[style={value}]")
            if name in URL_ATTRIBUTES:
                compact = "".join(value.split()).lower()
                scheme = urlsplit(compact).scheme if ":" in compact.split("/")[0] else ""
                if scheme not in SAFE_SCHEMES:
                    self.found.append(f"{tag}[{name}={value}]")

    def handle_endtag(self, tag):
        if tag == "head":
            self.in_head = False


def executable_parts(page: str) -> list[str]:
    finder = ExecutableFinder()
    finder.feed(page)
    return finder.found


def test_the_finder_finds_what_it_looks_for():
    page = '<p onclick="x"><a href=" JavaScript:alert(1)">x</a><svg></svg><script></script></p>'
    assert executable_parts(page) == [
        "p[onclick]",
        "a[href= JavaScript:alert(1)]",
        "<svg>",
        "<script>",
    ]


@pytest.mark.parametrize("payload", CORPUS)
def test_nothing_executable_reaches_the_pages(client, contributor, staff, payload):
    long_ago = timezone.now() - timedelta(days=90)  # past the new-account rule on links
    contributor.date_joined = long_ago
    contributor.save(update_fields=["date_joined"])
    contribution = services.contribution_propose_new(
        actor=contributor,
        summary=payload,
        values={
            "name": f"Tool {payload[:40]}",
            "tagline": payload,
            "description": f"Intro\n\n{payload}\n\nOutro",
            "license": "MIT",
            "edge_hardware": payload,
            "security_contact": payload[:200],
        },
    )
    services.comment_add(actor=contributor, contribution=contribution, body=payload)
    contribution_url = reverse("community:contribution", args=[contribution.pk])
    before = client.get(contribution_url).content.decode()  # the diff of an open proposal
    services.contribution_accept(actor=staff, contribution=contribution)
    listing = Listing.objects.get(contributions=contribution)
    buyer = MembershipFactory(organization__is_buyer=True, user__date_joined=long_ago).user
    services.component_review(
        actor=buyer,
        organization=buyer.memberships.get().organization,
        listing=listing,
        rating=4,
        title=payload[:120],
        body=payload,
        production_plants=2,
    )
    client.force_login(staff)  # staff see hidden content and moderation forms too
    pages = {
        "proposal": before,
        "contribution": client.get(contribution_url).content.decode(),
        "component": client.get(
            reverse("community:component", args=[listing.slug])
        ).content.decode(),
        "list": client.get(reverse("community:components")).content.decode(),
        "contributor": client.get(
            reverse("community:contributor", args=[contributor.pk])
        ).content.decode(),
    }
    assert "Outro" in pages["component"]  # the description is there, made harmless
    for name, page in pages.items():
        assert executable_parts(page) == [], name
