"""Every extracted string has a Simplified Chinese translation that keeps its placeholders."""

import re

from babel.messages.pofile import read_po
from django.conf import settings

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def test_simplified_chinese_catalog_is_complete():
    path = settings.BASE_DIR / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    with path.open("rb") as po:
        catalog = read_po(po)
    missing, broken = [], []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings) or message.fuzzy:
            missing.append(ids[0])
        elif sorted(PLACEHOLDER.findall(ids[0])) != sorted(PLACEHOLDER.findall(strings[0])):
            broken.append(ids[0])
    assert missing == []
    assert broken == []
    assert len(catalog) > 150
