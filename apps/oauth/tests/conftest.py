"""Fixtures of the OAuth2 tests: a clean rate-limit cache and the steps of the flow."""

import threading
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django.db import connection

REDIRECT_URI = "https://localhost/callback"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    # Throttle counters live in the (process-wide) cache; every test starts with none.
    cache.clear()
    yield
    cache.clear()


def code_from(location: str) -> str:
    return parse_qs(urlsplit(location).query)["code"][0]


@pytest.fixture
def authorize(client):
    """``authorize(api_client, **params)`` → a fresh code for the client (the redirect URI defaults)."""

    def _authorize(api_client, **params) -> str:
        query = {"client_id": api_client.client_id, "redirect_uri": REDIRECT_URI, **params}
        response = client.get("/api/oauth2", query)
        assert response.status_code == 302, response.content
        return code_from(response["Location"])

    return _authorize


@pytest.fixture
def exchange(client):
    """``exchange(api_client, code, **params)`` → the token endpoint's response to a JSON body."""

    def _exchange(api_client, code, **params):
        body = {"client_id": api_client.client_id, "client_secret": api_client.plain_secret, "code": code, **params}
        return client.post("/api/oauth2/Token", body, content_type="application/json")

    return _exchange


class _OneRequestAtATime:
    """A WSGI wrapper that serves one request at a time (body included)."""

    def __init__(self, app) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            response = self.app(environ, start_response)
            try:
                return list(response)
            finally:
                if hasattr(response, "close"):
                    response.close()


@pytest.fixture
def concurrent_live_server(live_server):
    """The live server, for requests sent in parallel.

    On PostgreSQL every request thread has its own connection and transaction, so the requests really run
    concurrently. The in-memory SQLite test database cannot take concurrent writers: its connections share
    one cache, where a conflicting write fails at once ("database table is locked") instead of waiting as a
    file database in WAL mode does. There the server lets the requests in one at a time, while the clients
    still race each other.
    """
    httpd = live_server.thread.httpd
    original = httpd.get_app()
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        httpd.set_app(_OneRequestAtATime(original))
    yield live_server
    httpd.set_app(original)
