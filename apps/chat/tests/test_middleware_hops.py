"""Under ASGI the middleware hop to a thread only for a request with I/O to do (apps/core/middleware.py): a
bearer-token prompt to an async view, and a logged-in page view within the session's renewal interval, make none."""

import time

import pytest
import requests

from apps.audit.services import Actor
from apps.chat.services import conversation_create
from apps.chat.tests.test_web_stream_live import browser_session

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def hops(sync_to_async_calls):
    return sync_to_async_calls


def ask_for_json(server, token, company, user, agent) -> requests.Response:
    """A bearer-token prompt in a new conversation, answered as JSON."""
    conversation = conversation_create(company=company, user=user, actor=Actor(user=user), agent=agent, title="T")
    return requests.post(
        f"{server.url}/api/Chat/AskAgent",
        json={"conversationID": conversation.public_id, "text": "Leave?"},
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        timeout=30,
    )


def middleware_hops(seen: list[str]) -> list[str]:
    return [hop for hop in seen if "Middleware" in hop]


def test_a_bearer_token_prompt_to_an_async_view_makes_no_middleware_thread_hop(
    asgi_server, user_token, company, plain_user, agent, hops
):
    response = ask_for_json(asgi_server, user_token, company, plain_user, agent)

    assert response.status_code == 200, response.text
    # The response is closed in a thread once its body is sent (Django's request_finished): the recorder sees that
    # hop, a moment after the client has the answer.
    deadline = time.monotonic() + 5
    while not hops and time.monotonic() < deadline:
        time.sleep(0.01)
    assert hops, "the recorder saw no thread hop at all"
    assert middleware_hops(hops) == []


def test_a_logged_in_page_view_makes_no_middleware_thread_hop(asgi_server, plain_user, hops):
    session, _token = browser_session(asgi_server, plain_user.email)  # the login saves the session: hops
    hops.clear()

    page = session.get(f"{asgi_server.url}/chat/", timeout=10)

    assert page.status_code == 200
    assert hops  # the sync view itself
    assert middleware_hops(hops) == []


def test_a_form_post_still_checks_its_csrf_token_in_a_thread(asgi_server, plain_user, hops):
    # The token check may parse a form body: the one middleware hook that keeps its hop when there is work.
    session, _token = browser_session(asgi_server, plain_user.email)
    hops.clear()

    refused = session.post(f"{asgi_server.url}/logout/", data={}, timeout=10, allow_redirects=False)

    assert refused.status_code == 403
    assert any("CsrfViewMiddleware.process_view" in hop for hop in hops)


def test_a_request_starts_without_a_thread_hop_under_asgi(asgi_server, user_token, company, plain_user, agent, hops):
    """Django's request_started receivers (sync: a hop each request) have nothing to do under ASGI: airisk/asgi.py
    keeps them for the WSGI handler only."""
    from django.core.handlers.asgi import ASGIHandler
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.signals import request_started
    from django.db import close_old_connections, reset_queries

    from airisk.asgi import request_start_receivers_for_wsgi_only

    # Django's test client connects close_old_connections for every sender again after each of its requests (it
    # disconnects it around them): as at a server's start, before any such request.
    request_start_receivers_for_wsgi_only()
    response = ask_for_json(asgi_server, user_token, company, plain_user, agent)

    assert response.status_code == 200, response.text
    assert not [hop for hop in hops if "Signal.asend" in hop]
    assert request_started._live_receivers(ASGIHandler) == ([], [])
    assert set(request_started._live_receivers(WSGIHandler)[0]) == {reset_queries, close_old_connections}


def test_the_asgi_application_leaves_request_started_to_wsgi_from_its_import():
    """In a fresh process, as a server starts it: importing airisk.asgi is what moves the receivers."""
    from tests.helpers import run_manage

    script = (
        "from django.core.signals import request_started; from django.core.handlers.asgi import ASGIHandler; "
        "from django.core.handlers.wsgi import WSGIHandler; before = request_started._live_receivers(ASGIHandler); "
        "import airisk.asgi; print(len(before[0]), request_started._live_receivers(ASGIHandler), "
        "len(request_started._live_receivers(WSGIHandler)[0]))"
    )
    result = run_manage("shell", "-c", script, env={"DEBUG": "true"})

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "2 ([], []) 2"
