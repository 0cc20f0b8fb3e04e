"""The catalog search's facet counts against a count made the slow, obvious way."""

import random

import pytest

from marketplace.catalog import selectors
from marketplace.catalog.models import Listing, Term
from marketplace.catalog.selectors import CatalogQuery
from tests.factories import ListingFactory

KINDS = ["industry", "deployment", "protocol", "pricing"]


@pytest.fixture
def tagged_catalog(db):
    """Sixty listings, each tagged with a random handful of terms, a few of them unpublished."""
    rng = random.Random(7)
    terms = {kind: list(Term.objects.filter(kind=kind)[:4]) for kind in KINDS}
    for n in range(60):
        chosen = [t for kind in KINDS for t in rng.sample(terms[kind], rng.randint(0, 2))]
        status = Listing.Status.DRAFT if n % 10 == 0 else Listing.Status.PUBLISHED
        name = f"{rng.choice(['Vision', 'Energy', 'Pump'])} Monitor {n}"
        ListingFactory(name=name, status=status, terms=chosen, min_ram_mb=rng.choice([256, 4096]))
    return terms


def _expected(selection: dict[str, list[Term]], *, q: str, ram: str) -> tuple[dict[int, int], int]:
    """Per term: listings matching every filter but those of the term's own kind."""
    listings = [
        (set(listing.terms.all()), listing)
        for listing in Listing.objects.filter(status=Listing.Status.PUBLISHED)
        if q.lower() in listing.name.lower() and (not ram or listing.min_ram_mb <= int(ram))
    ]

    def matches(tags: set[Term], *, but: str | None = None) -> bool:
        return all(tags & set(chosen) for kind, chosen in selection.items() if kind != but)

    counts: dict[int, int] = {}
    for tags, _listing in listings:
        for term in tags:
            if matches(tags, but=term.kind):
                counts[term.pk] = counts.get(term.pk, 0) + 1
    total = sum(1 for tags, _listing in listings if matches(tags))
    return counts, total


@pytest.mark.parametrize("seed", range(12))
def test_facet_counts_and_total_match_a_brute_force_count(tagged_catalog, seed):
    rng = random.Random(seed)
    selection = {
        kind: rng.sample(tagged_catalog[kind], rng.randint(1, 2))
        for kind in rng.sample(KINDS, rng.randint(0, 3))
    }
    q = rng.choice(["", "vision", "energy"])
    ram = rng.choice(["", "512"])
    slugs = {kind: tuple(t.slug for t in chosen) for kind, chosen in selection.items()}
    query = CatalogQuery(q=q, ram=ram, terms=slugs)

    result = selectors.catalog_search(query)

    counts, total = _expected(selection, q=q, ram=ram)
    shown = {value.term.pk: value.count for facet in result.facets for value in facet.values}
    assert {pk: n for pk, n in shown.items() if n} == counts
    assert result.total == total == len(result.listings)
    selected_pks = {t.pk for chosen in selection.values() for t in chosen}
    assert selected_pks <= set(shown)  # a chosen value stays on show even at zero


def test_a_facet_value_that_does_not_exist_matches_nothing(tagged_catalog):
    result = selectors.catalog_search(CatalogQuery(terms={"industry": ("no-such-industry",)}))

    assert result.total == 0
    assert list(result.listings) == []
