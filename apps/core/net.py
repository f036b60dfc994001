"""The caller's IP address, the one rule every rate limit and audit event uses.

Without a trusted proxy (``TRUSTED_PROXY_COUNT=0``, the default) it is ``REMOTE_ADDR``: ``X-Forwarded-For``
is then whatever the caller wrote. Behind N proxies that each append the address they received the
connection from, the N-th entry from the right of ``X-Forwarded-For`` was written by the first proxy and is
the client; entries further left came from the caller and are never read.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _ip_or_none(value: str) -> str | None:
    value = value.strip()
    if value.startswith("[") and value.endswith("]"):  # "[2001:db8::1]", as some proxies write IPv6
        value = value[1:-1]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request: HttpRequest | None) -> str | None:
    """The client's address (normalised), or None when the request has none that can be trusted."""
    if request is None:
        return None
    remote = _ip_or_none(request.META.get("REMOTE_ADDR") or "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    # Django joins repeated X-Forwarded-For headers with ",", in the order received.
    entries = (request.META.get("HTTP_X_FORWARDED_FOR") or "").split(",")
    if len(entries) < proxies or not entries[-proxies].strip():
        # Fewer entries than proxies: the request did not come through all of them (or a proxy is
        # misconfigured), so nothing in the header is known to be written by a trusted proxy.
        return remote
    return _ip_or_none(entries[-proxies]) or remote
