"""Rate limits of the token endpoint, counted in the Django cache (Redis in production, so that every app
process shares the counters).

Fixed windows: one counter per key and window, one cache round trip per check on Redis
(``apps.core.cache.count_in_window``). Rates are written ``N/period`` with period ``s``, ``m``, ``h`` or ``d``
(``sec``, ``min``, ``hour``, ``day`` too).
"""

from __future__ import annotations

import math
import re
import time

from apps.core.cache import count_in_window

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(s|sec|second|m|min|minute|h|hour|d|day)\s*$", re.IGNORECASE)
_PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"300/min"`` → ``(300, 60)``. Raises ValueError for anything else."""
    match = _RATE.match(rate or "")
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"not a rate of the form N/period (e.g. 300/min): {rate!r}")
    return int(match.group(1)), _PERIOD_SECONDS[match.group(2)[0].lower()]


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
