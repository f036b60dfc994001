"""Rate limits of the token endpoint, counted in the Django cache (Redis in production, so that every app
process shares the counters).

Fixed windows: one counter per key and window, one cache round trip per check on Redis
(``apps.core.cache.count_in_window``). Rates are written as every rate setting is (``apps.core.rates``): ``N/period``
with period ``s``, ``m``, ``h`` or ``d`` (``sec``, ``min``, ``hour``, ``day`` too).
"""

from __future__ import annotations

import math
import time

from apps.core.cache import count_in_window
from apps.core.rates import parse_rate


def throttle_hit(*, scope: str, ident: str, rate: str) -> int | None:
    """Count one request of ``ident``; return the seconds to wait when over the limit, else None."""
    limit, period = parse_rate(rate)
    now = time.time()
    window = int(now // period)
    key = f"oauth-throttle:{scope}:{ident}:{period}:{window}"
    count = count_in_window(key, period + 1)
    if count <= limit:
        return None
    return max(1, math.ceil((window + 1) * period - now))
