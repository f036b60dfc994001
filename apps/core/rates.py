"""Rates in settings, one syntax for all of them: ``N/period``, N a positive count, the period ``s``, ``m``, ``h``
or ``d``, or spelled ``sec``/``second``, ``min``/``minute``, ``hour``, ``day`` (any case, spaces allowed around
the slash). ``CHAT_RATE_PER_USER``, the token and authorize endpoints' rates and the Scanner API's are read with
it, and airisk/settings.py checks each of them at startup, so that a malformed rate stops the server with its name
instead of failing every request that reads it.

This module imports nothing from Django: the settings module uses it.
"""

from __future__ import annotations

import re

_RATE = re.compile(r"\s*([0-9]+)\s*/\s*(s|sec|second|m|min|minute|h|hour|d|day)\s*", re.IGNORECASE)
_PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"300/min"`` → ``(300, 60)``: the count and the period in seconds. Raises ValueError for anything else."""
    match = _RATE.fullmatch(rate or "")
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"not a rate of the form N/period (e.g. 300/min): {rate!r}")
    return int(match.group(1)), _PERIOD_SECONDS[match.group(2)[0].lower()]


def is_rate(rate: str) -> bool:
    try:
        parse_rate(rate)
    except ValueError:
        return False
    return True
