"""Request tracing: every request gets a W3C trace id, used in problem+json bodies and audit events."""

import re
import secrets

from django.http import HttpRequest, HttpResponse

from apps.core.logs import current_trace_id
from apps.core.views import healthz

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


class HealthzMiddleware:
    """Answers ``/healthz`` (any case) before anything reads the Host header.

    The container's own health check calls ``http://127.0.0.1:8000/healthz``, and in production ALLOWED_HOSTS
    names only the real domain, so host validation would answer 400 and the container would be unhealthy. The
    health answer names no host and builds no URL, which is what host validation protects, so skipping it for
    this one path is safe. It also spares the probe the session, CSRF and auth layers.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.lower() == "/healthz":
            return healthz(request)
        return self.get_response(request)
