"""Client secrets and authorization codes: random values of at least 256 bits, stored only as keyed hashes.

A fast keyed hash (HMAC-SHA256) is right here: the values are random and 256 bits strong, so a slow
password hash adds no protection against guessing and would make every token exchange cost tens of
milliseconds. The HMAC key (``OAUTH_HMAC_KEY``) lives outside the database, so a leaked table alone does
not even allow offline checking.
"""

import hashlib
import hmac
import secrets

from django.conf import settings

SECRET_BYTES = 32  # 256 bits


def new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def new_client_id() -> str:
    # Never starting with "-": a client id is typed on command lines (rotate_client_secret CLIENT_ID),
    # where a leading dash would read as an option.
    while True:
        client_id = secrets.token_urlsafe(18)
        if not client_id.startswith("-"):
            return client_id


def _key() -> bytes:
    return settings.OAUTH_HMAC_KEY.encode()


def hash_secret(value: str) -> str:
    return hmac.new(_key(), value.encode(), hashlib.sha256).hexdigest()


def secret_matches(value: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented value with a stored hash."""
    return hmac.compare_digest(hash_secret(value), stored_hash or "")
