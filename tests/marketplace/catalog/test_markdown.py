"""Vendor markdown renders with nothing executable in it."""

from html.parser import HTMLParser

import pytest

from marketplace.catalog.markdown import markdown_to_text, render_markdown

XSS_CORPUS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '<img src=x onerror="alert(1)">',
    '<a href="#" onclick="alert(1)">click</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](javascript:alert(1))",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    '<svg onload="alert(1)"><circle r="10"/></svg>',
    "<svg><script>alert(1)</script></svg>",
    "<iframe src=//evil.example></iframe>",
    '<object data="x.swf"></object><embed src="x.swf">',
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<form action="javascript:alert(1)"><button>x</button></form>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "[x](vbscript:msgbox(1))",
    '<a href="&#106;avascript:alert(1)">x</a>',
    "[x](&#106;avascript:alert(1))",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "<base href=javascript:alert(1)//>",
    '"><img src=x onerror=alert(1)>',
]

ALLOWED_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "h5", "strong", "em", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip


class _Elements(HTMLParser):
    """The real elements and attributes of a document (escaped text is not markup)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, {name: value or "" for name, value in attrs}))


def assert_inert(html: str) -> None:
    """No element outside a harmless list, no event handler or style, only web/mail links."""
    parser = _Elements()
    parser.feed(html)
    for tag, attrs in parser.found:
        assert tag in ALLOWED_TAGS, (tag, html)
        for name, value in attrs.items():
            assert not name.startswith("on"), (name, html)
            assert name != "style", html
            if name in {"href", "src", "action", "formaction"}:
                scheme = value.strip().split(":", 1)[0].lower() if ":" in value else ""
                assert scheme in {"", "http", "https", "mailto"}, (value, html)


@pytest.mark.parametrize("payload", XSS_CORPUS)
def test_xss_corpus_renders_inert(payload):
    assert_inert(str(render_markdown(f"Intro\n\n{payload}\n\nOutro")))


def test_ordinary_markdown_keeps_its_formatting():
    html = str(
        render_markdown(
            "# Title\n\n**Fast** [docs](https://example.com)\n\n- a\n- b\n\n"
            "| k | v |\n|---|---|\n| 1 | 2 |"
        )
    )
    assert "<h2>Title</h2>" in html
    assert "<strong>Fast</strong>" in html
    assert 'href="https://example.com"' in html
    assert 'rel="nofollow noopener noreferrer ugc"' in html
    assert "<li>a</li>" in html
    assert "<table>" in html


def test_plain_text_has_no_markup():
    text = markdown_to_text("**Bold** <script>x</script> text")
    assert text == "Bold <script>x</script> text"
