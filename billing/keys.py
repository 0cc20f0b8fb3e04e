"""Installation API keys: how they look, how they are hashed and how one is checked.

A key reads `prc_<prefix>_<secret>`: the prefix (8 characters) is stored in clear so that a key
can be found and recognized in lists; the whole key is stored only as its SHA-256.
"""

import hashlib
import hmac
import secrets
import string

KEY_SCHEME = "prc"
PREFIX_ALPHABET = string.ascii_lowercase + string.digits
PREFIX_LENGTH = 8


def new_key() -> tuple[str, str, str]:
    """A new key: (the key to show once, its prefix, its hash)."""
    prefix = "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
    key = f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    return key, prefix, hash_key(key)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def prefix_of(key: str) -> str | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_SCHEME or len(parts[1]) != PREFIX_LENGTH:
        return None
    return parts[1]


def matches(key: str, key_hash: str) -> bool:
    return hmac.compare_digest(hash_key(key), key_hash)
