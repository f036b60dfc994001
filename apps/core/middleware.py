"""Request tracing: every request gets a W3C trace id, used in problem+json bodies and audit events.

The project's own middleware is both sync- and async-capable: under ASGI a sync-only middleware makes Django run
the whole stack above it in a worker thread and hop back to the event loop for the rest, and the chat's streams
are async views. Django's ``MiddlewareMixin`` runs each hook of a middleware in a thread under ASGI (two thread
hops per middleware and request); the middleware below whose hooks do no I/O (headers, redirects, lazy objects)
run them on the event loop instead (``_InlineHooks``). Sessions, CSRF and messages may read or write the session
store, so they keep Django's thread hops.
"""

import re
import secrets

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from csp.middleware import CSPMiddleware as _CSPMiddleware
from django.contrib.auth.middleware import AuthenticationMiddleware as _AuthenticationMiddleware
from django.http import HttpRequest, HttpResponse
from django.middleware.common import CommonMiddleware as _CommonMiddleware
from whitenoise.middleware import WhiteNoiseMiddleware as _WhiteNoiseMiddleware

from apps.core.logs import current_trace_id
from apps.core.views import healthz

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


def new_trace_id(trace: str | None = None) -> str:
    """A traceparent-shaped id, ``00-<32 hex trace>-<16 hex span>-00``, as the published errors show."""
    return f"00-{trace or secrets.token_hex(16)}-{secrets.token_hex(8)}-00"


class _BothModes:
    """A middleware that runs in the mode of the handler below it: ``__acall__`` when that is async."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if self.async_mode:
            return self.__acall__(request)
        return self.handle(request)

    def handle(self, request: HttpRequest) -> HttpResponse:
        raise NotImplementedError

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        raise NotImplementedError


class TraceIdMiddleware(_BothModes):
    """Sets ``request.trace_id``; continues the caller's trace when it sends a valid ``traceparent``."""

    def handle(self, request: HttpRequest) -> HttpResponse:
        token = _begin_trace(request)
        try:
            response = self.get_response(request)
        finally:
            current_trace_id.reset(token)
        response.headers.setdefault("X-Trace-Id", request.trace_id)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        token = _begin_trace(request)
        try:
            response = await self.get_response(request)
        finally:
            current_trace_id.reset(token)
        response.headers.setdefault("X-Trace-Id", request.trace_id)
        return response


def _begin_trace(request: HttpRequest):
    match = _TRACEPARENT.match(request.headers.get("traceparent", ""))
    request.trace_id = new_trace_id(match.group(1) if match and match.group(1) != "0" * 32 else None)
    return current_trace_id.set(request.trace_id)


def trace_id_of(request: HttpRequest | None) -> str:
    return getattr(request, "trace_id", None) or new_trace_id()


class HealthzMiddleware(_BothModes):
    """Answers ``/healthz`` (any case) before anything reads the Host header.

    The container's own health check calls ``http://127.0.0.1:8000/healthz``, and in production ALLOWED_HOSTS
    names only the real domain, so host validation would answer 400 and the container would be unhealthy. The
    health answer names no host and builds no URL, which is what host validation protects, so skipping it for
    this one path is safe. It also spares the probe the session, CSRF and auth layers.
    """

    def handle(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.lower() == "/healthz":
            return healthz(request)
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.lower() == "/healthz":
            return await sync_to_async(healthz)(request)  # a database query
        return await self.get_response(request)


class _InlineHooks:
    """Under ASGI, run ``process_request`` / ``process_response`` on the event loop rather than each in a thread:
    only for middleware whose hooks do no I/O. Under WSGI nothing changes (``MiddlewareMixin.__call__``)."""

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        response = None
        if hasattr(self, "process_request"):
            response = self.process_request(request)
        response = response or await self.get_response(request)
        if hasattr(self, "process_response"):
            response = self.process_response(request, response)
        return response


class CSPMiddleware(_InlineHooks, _CSPMiddleware):
    """django-csp's: the nonce (a lazy object) and the Content-Security-Policy header."""


class CommonMiddleware(_InlineHooks, _CommonMiddleware):
    """Django's: host validation, trailing-slash redirects (URL resolution), Content-Length."""


class AuthenticationMiddleware(_InlineHooks, _AuthenticationMiddleware):
    """Django's: ``request.user`` and ``request.auser`` as lazy objects (the session is read when they are)."""


class WhiteNoiseMiddleware(_WhiteNoiseMiddleware):
    """WhiteNoise's middleware, async-capable: the lookup of a static path is a dictionary read (or, with
    autorefresh in development, a file-system check, run in a thread); serving a file runs in a thread."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response=None, **kwargs):
        super().__init__(get_response, **kwargs)
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if self.async_mode:
            return self.__acall__(request)
        return super().__call__(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        if self.autorefresh:
            static_file = await sync_to_async(self.find_file)(request.path_info)
        else:
            static_file = self.files.get(request.path_info)
        if static_file is not None:
            return await sync_to_async(self.serve)(static_file, request)
        return await self.get_response(request)
