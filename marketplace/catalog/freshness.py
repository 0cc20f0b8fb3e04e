"""A generation number for the public catalog, bumped whenever anything public may change.

Pages that are expensive to compute (the storefront catalog with its facet counts) are cached
under keys that include this number, so a change shows at once and stale entries simply
expire. The number lives in the shared cache: every web process sees the same one.
"""

from django.core.cache import cache
from django.db import transaction

GENERATION_KEY = "catalog:generation"


def catalog_generation() -> int:
    return cache.get_or_set(GENERATION_KEY, 1, timeout=None)


def catalog_changed() -> None:
    """Call from any write that may change what the public sees; takes effect on commit."""
    transaction.on_commit(_bump)


def _bump() -> None:
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # not set yet, or evicted
        cache.set(GENERATION_KEY, 2, timeout=None)
