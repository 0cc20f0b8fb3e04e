"""Vendor-written markdown to HTML that is safe to put in a page.

Two well-kept libraries, each doing one job: markdown-it-py parses CommonMark with raw HTML
turned off, and nh3 (Ammonia) then keeps only an allow-list of tags, attributes and URL
schemes, so that nothing executable survives whatever the parser lets through.
"""

import html

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

_parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    "table"
)

ALLOWED_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "strong", "em", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}
ALLOWED_SCHEMES = {"http", "https", "mailto"}


def render_markdown(text: str) -> SafeString:
    html = _parser.render(text or "")
    # Headings are demoted by one level: the page owns its <h1>.
    for level in (3, 2, 1):
        html = html.replace(f"<h{level}>", f"<h{level + 1}>").replace(
            f"</h{level}>", f"</h{level + 1}>"
        )
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_SCHEMES,
        link_rel="nofollow noopener noreferrer ugc",
    )
    return mark_safe(clean)  # noqa: S308 - sanitized by nh3 just above


def markdown_to_text(text: str) -> str:
    """Plain text of the markdown (for search documents and meta descriptions; escape it when
    putting it in HTML, as templates do)."""
    return html.unescape(nh3.clean(_parser.render(text or ""), tags=set())).strip()
