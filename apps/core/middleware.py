"""Request tracing: every request gets a W3C trace id, used in problem+json bodies and audit events."""

import re
import secrets

from django.http import HttpRequest, HttpResponse

from apps.core.logs import current_trace_id

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


def new_trace_id(trace: str | None = None) -> str:
    """A traceparent-shaped id, ``00-<32 hex trace>-<16 hex span>-00``, as the published errors show."""
    return f"00-{trace or secrets.token_hex(16)}-{secrets.token_hex(8)}-00"


class TraceIdMiddleware:
    """Sets ``request.trace_id``; continues the caller's trace when it sends a valid ``traceparent``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        match = _TRACEPARENT.match(request.headers.get("traceparent", ""))
        request.trace_id = new_trace_id(match.group(1) if match and match.group(1) != "0" * 32 else None)
        token = current_trace_id.set(request.trace_id)
        try:
            response = self.get_response(request)
        finally:
            current_trace_id.reset(token)
        response.headers.setdefault("X-Trace-Id", request.trace_id)
        return response


def trace_id_of(request: HttpRequest | None) -> str:
    return getattr(request, "trace_id", None) or new_trace_id()
