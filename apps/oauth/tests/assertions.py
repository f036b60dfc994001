"""The published error shapes, asserted the same way for Django test-client and ``requests`` responses."""

import re

TRACE_ID = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-00$")
PROBLEM_401 = {"type": "https://tools.ietf.org/html/rfc9110#section-15.5.2", "title": "Unauthorized", "status": 401}


def assert_text_reason(response, reason: str, status: int = 400) -> None:
    """``400 text/plain; charset=utf-8`` whose whole body is the reason line, e.g. ``Invalid Code``."""
    assert response.status_code == status
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == reason


def assert_published_401(response) -> None:
    """The spec's 401: ``application/problem+json`` with exactly type, title, status and a traceId."""
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json; charset=utf-8"
    body = response.json()
    assert set(body) == {*PROBLEM_401, "traceId"}
    assert {key: body[key] for key in PROBLEM_401} == PROBLEM_401
    assert TRACE_ID.match(body["traceId"])
