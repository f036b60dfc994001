"""Request tracing: every request gets a W3C trace id, used in problem+json bodies and audit events.

The project's own middleware is both sync- and async-capable: under ASGI a sync-only middleware makes Django run
the whole stack above it in a worker thread and hop back to the event loop for the rest, and the chat's streams
are async views. Django's ``MiddlewareMixin`` runs each hook of a middleware in a thread under ASGI (two thread
hops per middleware and request); the middleware below run on the event loop whatever does no I/O (headers,
redirects, lazy objects, cookies) and hop to a thread only for a request that has I/O to do: a session to load or
save, messages to store, a CSRF token to check against a form body. So a bearer-token call to an async view (the
chat's streams) makes no thread hop for the middleware at all.

Django's ``check --deploy`` looks for its middleware by dotted path; apps/core/checks.py has it count these
subclasses as the classes they extend.
"""

import re
import secrets
import time

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from csp.middleware import CSPMiddleware as _CSPMiddleware
from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware as _AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware as _MessageMiddleware
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.middleware import SessionMiddleware as _SessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware as _XFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware as _CommonMiddleware
from django.middleware.csrf import CsrfViewMiddleware as _CsrfViewMiddleware
from django.middleware.security import SecurityMiddleware as _SecurityMiddleware
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


class SecurityMiddleware(_InlineHooks, _SecurityMiddleware):
    """Django's: the HTTPS redirect and the HSTS, nosniff, referrer and opener-policy headers."""


class XFrameOptionsMiddleware(_InlineHooks, _XFrameOptionsMiddleware):
    """Django's: the X-Frame-Options header."""


class CSPMiddleware(_InlineHooks, _CSPMiddleware):
    """django-csp's: the nonce (a lazy object) and the Content-Security-Policy header."""


class CommonMiddleware(_InlineHooks, _CommonMiddleware):
    """Django's: host validation, trailing-slash redirects (URL resolution), Content-Length."""


class AuthenticationMiddleware(_InlineHooks, _AuthenticationMiddleware):
    """Django's: ``request.user`` and ``request.auser`` as lazy objects (the session is read when they are)."""


# The session key holding when the session's expiry was last renewed (seconds since the epoch).
RENEWED_AT = "_renewed_at"


class SessionMiddleware(_SessionMiddleware):
    """Django's, with sliding expiry renewed at most once per SESSION_RENEW_SECONDS instead of a save per request.

    A save per request (SESSION_SAVE_EVERY_REQUEST) makes the parallel requests of one page write the same session
    at once: on SQLite "table is locked", so Django answers 400 (SessionInterrupted). Here a request saves only when
    the session changed or its last renewal is SESSION_RENEW_SECONDS old, so a login still ends between
    SESSION_IDLE_TIMEOUT_SECONDS - SESSION_RENEW_SECONDS and SESSION_IDLE_TIMEOUT_SECONDS after its last request.

    Under ASGI ``process_request`` (a lazy store) runs on the event loop, and ``process_response`` hops to a thread
    only when it loads or saves the session.
    """

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        _renew(request, response)
        return super().process_response(request, response)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        self.process_request(request)
        response = await self.get_response(request)
        session = getattr(request, "session", None)
        if isinstance(session, SessionBase) and not _loaded(session) and session.session_key is not None:
            # A cookie's session the request never read: reading its renewal time is I/O.
            return await sync_to_async(self.process_response, thread_sensitive=True)(request, response)
        _renew(request, response)  # the session is loaded, or there is none: no I/O
        save = super().process_response
        if _save_due(session, response):
            return await sync_to_async(save, thread_sensitive=True)(request, response)
        return save(request, response)


def renewal_starts_at_login(sender, request: HttpRequest | None, user, **kwargs) -> None:
    """A login saves its session: it counts as a renewal, also for a login outside the middleware (the test
    client's force_login), whose first request would otherwise save the session again."""
    session = getattr(request, "session", None)
    if isinstance(session, SessionBase):
        session[RENEWED_AT] = int(time.time())


def _loaded(session: SessionBase) -> bool:
    # Django's own is_empty() reads this attribute: it exists once the stored data was read (or created).
    return hasattr(session, "_session_cache")


def _renew_if_due(session: SessionBase) -> None:
    """Marks the session modified (so that Django saves it, renewing its expiry and cookie) when it was changed
    anyway or its last renewal is SESSION_RENEW_SECONDS old. May load the session: call it where I/O is fine."""
    if session.session_key is None and not _loaded(session):
        return  # no cookie and nothing stored: an anonymous request, or a bearer token's
    renewed_at = session.get(RENEWED_AT, 0)
    if session.is_empty():
        return  # the cookie named no live session (expired, or logged out by this request)
    now = int(time.time())
    if session.modified or now - renewed_at >= settings.SESSION_RENEW_SECONDS:
        session[RENEWED_AT] = now


def _renew(request: HttpRequest, response: HttpResponse) -> None:
    session = getattr(request, "session", None)
    if isinstance(session, SessionBase) and response.status_code < 500:  # Django saves nothing on a 5xx
        _renew_if_due(session)


def _save_due(session, response: HttpResponse) -> bool:
    """Whether Django's SessionMiddleware.process_response writes this (loaded or absent) session to the store."""
    if not isinstance(session, SessionBase) or response.status_code >= 500:
        return False  # Django saves nothing on a 5xx
    return (session.modified or settings.SESSION_SAVE_EVERY_REQUEST) and not session.is_empty()


class CsrfViewMiddleware(_InlineHooks, _CsrfViewMiddleware):
    """Django's: with the CSRF secret in a cookie (CSRF_USE_SESSIONS off), reading it and setting the cookie are
    header work, done on the event loop; so is accepting a safe method or a csrf_exempt view. Checking the token
    of an unsafe request may parse a form body (spooled to disk when large) and a refusal renders the failure
    view, so that check keeps its thread hop. With CSRF_USE_SESSIONS every hook may read the session: Django's
    thread hops throughout."""

    def __init__(self, get_response):
        super().__init__(get_response)
        if self.async_mode:
            # The handler calls process_view as it finds it: a coroutine function is awaited, not sent to a thread.
            self.process_view = self._process_view_async

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        if settings.CSRF_USE_SESSIONS:
            return await _CsrfViewMiddleware.__acall__(self, request)
        return await super().__acall__(request)

    async def _process_view_async(self, request, callback, callback_args, callback_kwargs):
        check = _CsrfViewMiddleware.process_view
        if settings.CSRF_USE_SESSIONS or _token_check_due(request, callback):
            return await sync_to_async(check, thread_sensitive=True)(
                self, request, callback, callback_args, callback_kwargs
            )
        return check(self, request, callback, callback_args, callback_kwargs)


def _token_check_due(request: HttpRequest, callback) -> bool:
    """Whether CsrfViewMiddleware.process_view goes past its early accepts to the origin and token checks."""
    return not (
        getattr(request, "csrf_processing_done", False)
        or getattr(callback, "csrf_exempt", False)
        or request.method in ("GET", "HEAD", "OPTIONS", "TRACE")
        or getattr(request, "_dont_enforce_csrf_checks", False)
    )


class MessageMiddleware(_MessageMiddleware):
    """Django's: the storage is created lazily; storing messages (cookie or session) happens in a thread, and only
    for a request that read or added messages: for any other, ``storage.update`` does nothing."""

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        self.process_request(request)
        response = await self.get_response(request)
        storage = getattr(request, "_messages", None)
        if storage is not None and (storage.used or storage.added_new):
            return await sync_to_async(self.process_response, thread_sensitive=True)(request, response)
        return self.process_response(request, response)


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
