"""A per-process, at most one-second memory of token rows, so that a busy integration does not pay a database
round trip for its token on every request.

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

from apps.oauth.models import AccessToken

# Enough for every token that is busy within one second; a full memory is emptied rather than scanned.
MAX_ENTRIES = 4096

_rows: dict[str, tuple[float, AccessToken]] = {}
_lock = threading.Lock()


def access_token_row(jti: str) -> AccessToken | None:
    """The token row by ``jti`` with its client, company and user, at most ``BEARER_ROW_MAX_AGE_SECONDS`` old;
    None when there is no such row."""
    max_age = settings.BEARER_ROW_MAX_AGE_SECONDS
    now = time.monotonic()
    if max_age > 0:
        hit = _rows.get(jti)
        if hit is not None and now - hit[0] < max_age:
            return hit[1]
    try:
        # get(), not first(): no ORDER BY on this per-request query.
        token = AccessToken.objects.select_related("client", "company", "user").get(jti=jti)
    except AccessToken.DoesNotExist:
        return None
    if max_age > 0:
        with _lock:
            if len(_rows) >= MAX_ENTRIES:
                _rows.clear()
            _rows[jti] = (now, token)
    return token


def forget_all() -> None:
    """Empty this process's memory (tests; and whoever wants a revocation seen at once in this process)."""
    with _lock:
        _rows.clear()
