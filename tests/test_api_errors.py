"""Under /api/ every error is problem+json with a traceId that the server's log line of the request also
carries; outside /api/ people get HTML pages."""

import logging
import re

import pytest
from django.test import Client

from apps.core.logs import TraceIdFormatter

TRACE_ID = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-00$")
PROBLEM = "application/problem+json; charset=utf-8"

pytestmark = pytest.mark.urls("tests.error_urls")


@pytest.fixture
def server():
    """A client that gets the 500 response, as a browser would, instead of the exception."""
    return Client(raise_request_exception=False)


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert TRACE_ID.match(body["traceId"])
    assert response["X-Trace-Id"] == body["traceId"]
    return body


def configured_log_line(record: logging.LogRecord) -> str:
    """The record as the configured console handler writes it (settings.LOGGING)."""
    (handler,) = [h for h in logging.getLogger().handlers if isinstance(h.formatter, TraceIdFormatter)]
    return handler.format(record)


def logged(caplog, message: str) -> logging.LogRecord:
    (record,) = [r for r in caplog.records if r.getMessage() == message]
    return record


def test_unknown_api_path_is_a_404_problem_whose_trace_id_is_in_the_log_line(client, caplog, db):
    response = client.get("/api/NoSuchThing")

    body = assert_problem(response, 404)
    assert body["title"] == "Not Found"
    assert body["traceId"] in configured_log_line(logged(caplog, "Not Found: /api/NoSuchThing"))


@pytest.mark.parametrize("path", ["/API/nothing", "/api/Users/ListUsers/extra", "/api/oauth2/nothing", "/api"])
def test_unknown_api_paths_in_any_case_are_404_problems(client, db, path):
    assert_problem(client.post(path, {}), 404)


def test_unknown_page_outside_the_api_is_the_html_404_page(client, db):
    response = client.get("/no-such-page")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert b"Page not found" in response.content


def test_an_api_500_is_a_problem_with_the_trace_id_in_the_error_log_line(server, caplog, db):
    response = server.get("/api/test/fail")

    body = assert_problem(response, 500)
    assert "a bug" not in response.content.decode()  # nothing of the failure leaks to the caller
    record = logged(caplog, "Internal Server Error: /api/test/fail")
    assert record.levelno == logging.ERROR and record.exc_info is not None
    line = configured_log_line(record)
    assert body["traceId"] in line and "RuntimeError: a bug" in line


def test_a_500_outside_the_api_is_the_html_500_page(server, db):
    response = server.get("/test/fail")

    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert b"Server error" in response.content


def test_an_api_body_over_the_upload_limit_is_a_400_problem(client, caplog, settings, db):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = client.post("/api/test/read-body", "x" * 1001, content_type="text/plain")

    body = assert_problem(response, 400)
    assert body["detail"] == "The body is larger than 1000 bytes."
    (record,) = [r for r in caplog.records if r.name == "django.security.RequestDataTooBig"]
    assert body["traceId"] in configured_log_line(record)


def test_a_body_over_the_upload_limit_outside_the_api_is_the_html_400_page(client, settings, db):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = client.post("/test/read-body", "x" * 1001, content_type="text/plain")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_a_csrf_refusal_under_the_api_is_a_403_problem(db):
    response = Client(enforce_csrf_checks=True).post("/api/test/form", {"a": "1"})

    body = assert_problem(response, 403)
    assert body["detail"] == "CSRF verification failed."


def test_log_lines_outside_a_request_say_so():
    record = logging.LogRecord("airisk", logging.INFO, __file__, 1, "started", None, None)

    assert "trace=- started" in configured_log_line(record)


def test_the_html_error_pages_render_without_a_static_files_manifest(client, settings, db, tmp_path):
    # Production serves hashed names from collectstatic's manifest; an error page must not depend on it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    settings.STATIC_ROOT = tmp_path  # collectstatic never ran: no manifest

    response = client.get("/no-such-page")

    assert response.status_code == 404
    assert b"Page not found" in response.content
    assert b'href="/static/css/portal.css"' in response.content
