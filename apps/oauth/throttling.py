"""Rate limits of the token endpoint, counted in the Django cache (Redis in production, so that every app
process shares the counters).

Fixed windows, counted as the chat's prompts per user are (``apps.core.cache.over_rate``): one counter per key
and window, one cache round trip per check on Redis. Rates are written as every rate setting is
(``apps.core.rates``): ``N/period`` with period ``s``, ``m``, ``h`` or ``d`` (``sec``, ``min``, ``hour``, ``day``
too).
"""

from __future__ import annotations

from apps.core.cache import over_rate


def throttle_hit(*, scope: str, ident: str, rate: str) -> int | None:
    """Count one request of ``ident``; return the seconds to wait when over the limit, else None."""
    return over_rate(f"oauth-throttle:{scope}:{ident}", rate)
