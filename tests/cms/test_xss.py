"""Rich text and FAQ answers, as the admin's editor submits them, carry nothing executable."""

import json
from html.parser import HTMLParser

import pytest

from cms.blocks import HomeBodyBlock
from cms.models import HomePage

pytestmark = pytest.mark.django_db

ATTACKS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(2)">',
    '<a href="javascript:alert(3)">click</a>',
    '"><svg onload=alert(4)>',
]


def editor_submission(text: str, url: str) -> str:
    """What Wagtail's rich text editor posts: its content state, text and a link entity."""
    return json.dumps(
        {
            "blocks": [
                {
                    "key": "a1b2c",
                    "type": "unstyled",
                    "text": text,
                    "depth": 0,
                    "inlineStyleRanges": [],
                    "entityRanges": [{"offset": 0, "length": 5, "key": 0}],
                }
            ],
            "entityMap": {"0": {"type": "LINK", "mutability": "MUTABLE", "data": {"url": url}}},
        }
    )


class Executable(HTMLParser):
    """Collects what a browser would run: script elements, event handlers, javascript: URLs."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.found.append(tag)
        for name, value in attrs:
            if name.startswith("on") or (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"{tag} {name}={value}")


def executable(html: str) -> list[str]:
    parser = Executable()
    parser.feed(html)
    return parser.found


def test_rich_text_and_faq_answers_cannot_carry_script(client):
    body_block = HomeBodyBlock()
    rich_text = body_block.child_blocks["rich_text"]
    answer = body_block.child_blocks["faq"].child_blocks["items"].child_block.child_blocks["answer"]
    text = " ".join(ATTACKS)
    posted = {"r": editor_submission(text, "javascript:alert(5)")}
    rich_value = rich_text.clean(rich_text.value_from_datadict(posted, {}, "r"))
    answer_value = answer.clean(
        answer.value_from_datadict({"a": editor_submission(text, "javascript:alert(6)")}, {}, "a")
    )
    home = HomePage.objects.get()
    home.body = [
        ("rich_text", rich_value),
        ("faq", {"heading": "FAQ", "items": [{"question": ATTACKS[0], "answer": answer_value}]}),
    ]
    home.save_revision().publish()

    html = client.get("/").content.decode()
    # Shown as text, in the rich text block, the question and the answer.
    assert html.count("alert(1)&lt;/script&gt;") == 3
    assert executable(html) == []
