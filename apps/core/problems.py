"""Error responses in the shapes the published API uses.

* ``application/problem+json`` (RFC 9457) with ``type``, ``title``, ``status`` and ``traceId``, as the
  OAuth2 page shows for 401s; the API uses the same shape for every JSON error.
* ``text/plain`` with one reason line, as the OAuth2 endpoints answer a missing or invalid parameter.
"""

from http import HTTPStatus
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.core.middleware import trace_id_of

PROBLEM_CONTENT_TYPE = "application/problem+json; charset=utf-8"

# The RFC sections ASP.NET Core (the original server) links for each status.
_TYPE_BY_STATUS = {
    400: "https://tools.ietf.org/html/rfc9110#section-15.5.1",
    401: "https://tools.ietf.org/html/rfc9110#section-15.5.2",
    403: "https://tools.ietf.org/html/rfc9110#section-15.5.4",
    404: "https://tools.ietf.org/html/rfc9110#section-15.5.5",
    405: "https://tools.ietf.org/html/rfc9110#section-15.5.6",
    406: "https://tools.ietf.org/html/rfc9110#section-15.5.7",
    409: "https://tools.ietf.org/html/rfc9110#section-15.5.10",
    413: "https://tools.ietf.org/html/rfc9110#section-15.5.14",
    415: "https://tools.ietf.org/html/rfc9110#section-15.5.16",
    422: "https://tools.ietf.org/html/rfc9110#section-15.5.21",
    429: "https://tools.ietf.org/html/rfc6585#section-4",
    500: "https://tools.ietf.org/html/rfc9110#section-15.6.1",
    503: "https://tools.ietf.org/html/rfc9110#section-15.6.4",
}


def problem_body(request: HttpRequest | None, status: int, *, detail: str | None = None, **extra: Any) -> dict:
    body: dict[str, Any] = {
        "type": _TYPE_BY_STATUS.get(status, "about:blank"),
        "title": HTTPStatus(status).phrase,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    body.update(extra)
    body["traceId"] = trace_id_of(request)
    return body


def problem_response(
    request: HttpRequest | None, status: int, *, detail: str | None = None, headers: dict | None = None, **extra: Any
) -> JsonResponse:
    """A plain Django problem+json response (for views outside DRF)."""
    return JsonResponse(
        problem_body(request, status, detail=detail, **extra),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
        headers=headers,
    )


def text_error(status: int, reason: str, *, headers: dict | None = None) -> HttpResponse:
    """The published plain-text error: ``400 text/plain`` with a reason line such as ``Invalid client_id``."""
    return HttpResponse(reason, status=status, content_type="text/plain; charset=utf-8", headers=headers)


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF errors as problem+json. Validation errors list the offending fields under ``errors``."""
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    request = context.get("request")
    extra: dict[str, Any] = {}
    detail: str | None = None
    if isinstance(exc, exceptions.ValidationError):
        detail = "One or more fields are invalid."
        data = response.data
        extra["errors"] = data if isinstance(data, dict) else {"non_field_errors": data}
    elif isinstance(response.data, dict) and "detail" in response.data:
        detail = str(response.data["detail"])
    if isinstance(exc, exceptions.AuthenticationFailed) and response.get("WWW-Authenticate") == "Bearer":
        response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    # An exception may name its own challenge, e.g. a 403 for a missing grant (RFC 6750 §3.1 insufficient_scope).
    challenge = getattr(exc, "www_authenticate", None)
    if challenge:
        response["WWW-Authenticate"] = challenge
    response.data = problem_body(request, response.status_code, detail=detail, **extra)
    response.content_type = PROBLEM_CONTENT_TYPE
    return response
