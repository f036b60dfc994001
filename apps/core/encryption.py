"""Encryption of secrets at rest (provider API keys and the like): Fernet tokens under a list of keys.

``settings.FIELD_ENCRYPTION_KEYS`` is a list of Fernet keys; the first encrypts, every one decrypts, so that a
new key can be put first and the old ones kept until ``rotate_encryption_key`` has re-encrypted every value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

MASK = "••••"


def derived_key(secret_key: str) -> str:
    """A Fernet key derived from SECRET_KEY, for development and tests only."""
    digest = hmac.new(secret_key.encode(), b"airisk.field-encryption", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()


def parse_keys(keys: list[str]) -> list[Fernet]:
    """Fernets of the configured keys; ImproperlyConfigured (naming the position, never the key) if one is bad."""
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key.strip().encode()))
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEYS entry {position} is not a Fernet key (32 bytes, URL-safe base64). Generate "
                "one with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            ) from None
    if not fernets:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty.")
    return fernets


@lru_cache(maxsize=4)
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet(parse_keys(list(keys)))


def cipher() -> MultiFernet:
    # Keyed by the settings' value so that tests overriding the setting get a matching cipher.
    return _multi_fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


class DecryptionError(Exception):
    """A stored value that none of FIELD_ENCRYPTION_KEYS opens (a key was dropped before rotation)."""


def encrypt(plain: str) -> str:
    return cipher().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return cipher().decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError(
            "A stored secret cannot be decrypted with any of FIELD_ENCRYPTION_KEYS; keep the old key in the list "
            "until rotate_encryption_key has run."
        ) from None


def reencrypt(token: str) -> str:
    """The same secret encrypted under the first key."""
    try:
        return cipher().rotate(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError(
            "A stored secret cannot be decrypted with any of FIELD_ENCRYPTION_KEYS; it was left unchanged."
        ) from None


def mask(secret: str) -> str:
    """How a stored secret is shown: "•••• abcd" (last four characters), or just the dots for a short secret,
    so that the hint never gives away most of it."""
    if not secret:
        return ""
    return f"{MASK} {secret[-4:]}" if len(secret) >= 12 else MASK
