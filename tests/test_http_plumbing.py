"""Project-level HTTP plumbing: case-insensitive routes, trace ids and the problem+json shape."""

import re

from django.test import RequestFactory
from django.urls import resolve, reverse

from apps.core.middleware import TraceIdMiddleware
from apps.core.problems import problem_response, text_error
from apps.core.routing import ci_path

TRACE_ID = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-00$")


def _view(request, **kwargs):
    return kwargs


def test_ci_path_matches_in_any_case_and_reverses_to_the_published_spelling():
    pattern = ci_path("api/oauth2/Token", _view, name="token")

    assert pattern.resolve("api/oauth2/Token") is not None
    assert pattern.resolve("API/OAUTH2/token") is not None
    assert pattern.resolve("api/oauth2/Token/extra") is None
    assert pattern.resolve("api/oauth2/Tokens") is None


def test_ci_path_captures_parameters_unchanged():
    pattern = ci_path("api/Chat/GetConversation/<str:conversation_id>", _view)

    match = pattern.resolve("API/chat/getconversation/AbC-123")
    assert match.kwargs == {"conversation_id": "AbC-123"}
    assert pattern.resolve("api/Chat/GetConversation/a/b") is None


def test_project_routes_are_case_insensitive():
    assert reverse("healthz") == "/healthz"
    assert resolve("/HEALTHZ").url_name == "healthz"


def test_trace_id_middleware_sets_a_w3c_shaped_id_and_header():
    request = RequestFactory().get("/")
    response = TraceIdMiddleware(lambda r: text_error(400, "Invalid client_id"))(request)

    assert TRACE_ID.match(request.trace_id)
    assert response["X-Trace-Id"] == request.trace_id


def test_trace_id_middleware_continues_the_callers_trace():
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    request = RequestFactory().get("/", headers={"traceparent": parent})
    TraceIdMiddleware(lambda r: text_error(400, "x"))(request)

    assert request.trace_id.startswith("00-0af7651916cd43dd8448eb211c80319c-")
    assert not request.trace_id.endswith("b7ad6b7169203331-00")


def test_malformed_traceparent_is_ignored():
    request = RequestFactory().get("/", headers={"traceparent": "00-zz-yy-01"})
    TraceIdMiddleware(lambda r: text_error(400, "x"))(request)

    assert TRACE_ID.match(request.trace_id)
    assert "zz" not in request.trace_id


def test_problem_response_has_the_published_401_shape():
    request = RequestFactory().get("/")
    request.trace_id = "00-676e4f60e893d3cf6bb37b9262dda023-7d0ef785dd85a317-00"

    response = problem_response(request, 401)

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json; charset=utf-8"
    assert response.content == (
        b'{"type": "https://tools.ietf.org/html/rfc9110#section-15.5.2", "title": "Unauthorized", '
        b'"status": 401, "traceId": "00-676e4f60e893d3cf6bb37b9262dda023-7d0ef785dd85a317-00"}'
    )


def test_text_error_is_a_plain_reason_line():
    response = text_error(400, "Invalid Code")

    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content == b"Invalid Code"
