"""A readable diff of a contribution: per field, the old and new values as word-level changes."""

import difflib
import re
from dataclasses import dataclass

from marketplace.catalog.models import Term
from marketplace.community.services import PROPOSABLE_FIELDS

TOKENS = re.compile(r"\s+|[^\s]+")


@dataclass(frozen=True)
class Chunk:
    op: str  # "equal", "delete" or "insert"
    text: str


@dataclass(frozen=True)
class FieldDiff:
    field: str
    label: str
    old: str
    new: str
    chunks: list[Chunk]


def _as_text(field: str, value, protocol_names: dict[str, str]) -> str:
    if field == "protocols":
        return ", ".join(protocol_names.get(slug, slug) for slug in value or [])
    return str(value or "")


def field_diffs(original: dict, proposed: dict, protocols: list[Term]) -> list[FieldDiff]:
    """Each proposed field that differs from the original, in the order of the form.

    `protocols` are the protocol terms (to show names instead of slugs); the caller loads them.
    """
    names = {t.slug: t.label for t in protocols}
    diffs = []
    for field, label in PROPOSABLE_FIELDS.items():
        if field not in proposed:
            continue
        old = _as_text(field, original.get(field), names)
        new = _as_text(field, proposed.get(field), names)
        if old == new:
            continue
        a, b = TOKENS.findall(old), TOKENS.findall(new)
        chunks = []
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
            if op == "equal":
                chunks.append(Chunk("equal", "".join(a[i1:i2])))
                continue
            if i2 > i1:
                chunks.append(Chunk("delete", "".join(a[i1:i2])))
            if j2 > j1:
                chunks.append(Chunk("insert", "".join(b[j1:j2])))
        diffs.append(FieldDiff(field, str(label), old, new, chunks))
    return diffs
