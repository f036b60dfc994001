"""A per-process, at most one-second memory of token rows, so that a busy integration does not pay a database
round trip for its token on every request; and a memory of verified token texts, so that it does not pay for the
signature check (PyJWT's parsing) either.

The JWT's signature and expiry are still checked on every request, and so are the row-side rules
(``access_token_still_valid``: revoked, expired, deactivated client/company/user) against the remembered row.
What the memory changes is how old that row may be: at most ``BEARER_ROW_MAX_AGE_SECONDS`` (default and maximum
1 second, 0 turns the memory off). A token revoked by any process, or whose user, client or company is
deactivated, therefore fails everywhere within that time. Each process keeps its own memory (sync gunicorn
workers share nothing); the rows are read-only snapshots and must not be saved.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.core.signals import setting_changed
from django.db.models import QuerySet
from django.dispatch import receiver

from apps.core.statements import Statement
from apps.oauth.models import AccessToken
from apps.oauth.tokens import InvalidToken, TokenClaims, decode_access_token

# Enough for every token that is busy within one second; a full memory is emptied rather than scanned.
MAX_ENTRIES = 4096

_rows: dict[str, tuple[float, AccessToken]] = {}
_claims: dict[str, TokenClaims] = {}
_lock = threading.Lock()


def verified_claims(raw: str) -> TokenClaims:
    """``decode_access_token(raw)``, remembered by the exact token text: a busy token's signature is verified
    once per process rather than on every request. A token text verifies the same way as long as the key ring
    does (it changes only with the settings, at a restart); its expiry is checked again on every call."""
    claims = _claims.get(raw)
    if claims is None:
        claims = decode_access_token(raw)  # raises InvalidToken
        with _lock:
            if len(_claims) >= MAX_ENTRIES:
                _claims.clear()
            _claims[raw] = claims
    # PyJWT's rule: expired when exp <= now - leeway.
    if claims.exp <= time.time() - settings.JWT_LEEWAY_SECONDS:
        raise InvalidToken("expired")
    return claims


def access_token_row(jti: str) -> AccessToken | None:
    """The token row by ``jti`` with its client, company and user, at most ``BEARER_ROW_MAX_AGE_SECONDS`` old;
    None when there is no such row."""
    max_age = settings.BEARER_ROW_MAX_AGE_SECONDS
    now = time.monotonic()
    if max_age > 0:
        hit = _rows.get(jti)
        if hit is not None and now - hit[0] < max_age:
            return hit[1]
    token = _TOKEN_ROW.first(jti=jti)
    if token is None:
        return None
    if max_age > 0:
        with _lock:
            if len(_rows) >= MAX_ENTRIES:
                _rows.clear()
            _rows[jti] = (now, token)
    return token


def _token_row_query(*, jti: str) -> QuerySet[AccessToken]:
    # No ORDER BY (jti is unique): the row, its client, company and user in one indexed query.
    return AccessToken.objects.select_related("client", "company", "user").filter(jti=jti)


# Built once per process: compiling this four-table query costs more CPU than running it (Statement).
_TOKEN_ROW = Statement(_token_row_query, jti="str")


def forget_all() -> None:
    """Empty this process's memory (tests; and whoever wants a revocation seen at once in this process)."""
    with _lock:
        _rows.clear()
        _claims.clear()


@receiver(setting_changed)
def _forget_on_key_change(*, setting: str, **kwargs) -> None:
    # Keys change with a restart in production; tests and override_settings change them in place.
    if setting.startswith("JWT_") or setting == "BEARER_ROW_MAX_AGE_SECONDS":
        forget_all()
