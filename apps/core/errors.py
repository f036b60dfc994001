"""Error pages by audience: under ``/api/`` (and the OAuth2 metadata under ``/.well-known/``) every error is
problem+json with a ``traceId``; everywhere else people get the HTML pages of ``templates/``.

Wired as Django's ``handler400/403/404/500`` and ``CSRF_FAILURE_VIEW``: they answer what no view answered,
an unknown path, a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``, a CSRF refusal, an unhandled exception.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.views import csrf as django_csrf
from django.views import defaults
from django.views.decorators.csrf import requires_csrf_token

from apps.core.problems import problem_response

API_PREFIXES = ("/api/", "/.well-known/")


def is_api_request(request: HttpRequest) -> bool:
    # Routes match in any case (apps/core/routing.py), so the prefix does too.
    path = request.path_info.lower()
    return path == "/api" or path.startswith(API_PREFIXES)


@requires_csrf_token
def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if not is_api_request(request):
        return defaults.bad_request(request, exception)
    detail = "The request could not be read."
    if isinstance(exception, RequestDataTooBig):
        detail = f"The body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
    return problem_response(request, 400, detail=detail)


@requires_csrf_token
def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if not is_api_request(request):
        return defaults.permission_denied(request, exception)
    return problem_response(request, 403)


@requires_csrf_token
def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if not is_api_request(request):
        return defaults.page_not_found(request, exception)
    return problem_response(request, 404, detail="No such endpoint.")


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    if not is_api_request(request):
        return defaults.server_error(request)
    # Nothing about the failure itself: the trace id leads to the logged traceback.
    return problem_response(request, 500, detail="The server failed; quote the traceId when you report it.")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if not is_api_request(request):
        return django_csrf.csrf_failure(request, reason)
    # API endpoints that take POST are CSRF-exempt (bearer or client credentials, no cookies): reaching this
    # means a method the endpoint does not take, or a browser form aimed at it.
    return problem_response(request, 403, detail="CSRF verification failed.")
