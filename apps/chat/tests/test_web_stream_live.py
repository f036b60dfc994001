"""The chat page's stream under ASGI (uvicorn, as in production and `make run`): a browser-like session logs in,
posts a prompt with its CSRF token and reads the events as they come; Stop ends the answer, stored incomplete."""

import json
import re
import time

import pytest
import requests

from apps.audit.services import Actor
from apps.chat.models import Message, MessageStatus
from apps.chat.services import conversation_create
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def conversation(company, plain_user, agent):
    return conversation_create(company=company, user=plain_user, actor=Actor(user=plain_user), agent=agent, title="T")


def browser_session(server, email: str) -> tuple[requests.Session, str]:
    """A logged-in session and the CSRF token its pages carry."""
    session = requests.Session()
    page = session.get(f"{server.url}/login/", timeout=10).text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    answer = session.post(
        f"{server.url}/login/",
        data={"username": email, "password": DEFAULT_PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{server.url}/login/"},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302 and answer.headers["Location"] == "/chat/"
    chat = session.get(f"{server.url}/chat/", timeout=10).text
    return session, re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', chat).group(1)


def events(response):
    name = None
    for line in response.iter_lines(decode_unicode=True):
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            yield name, json.loads(line[6:]), time.monotonic()


def ask(server, session, token, conversation, text="Leave?"):
    return session.post(
        f"{server.url}/chat/c/{conversation.public_id}/ask",
        data={"text": text},
        headers={"X-CSRFToken": token, "Referer": f"{server.url}/chat/", "Accept": "text/event-stream"},
        stream=True,
        timeout=30,
    )


def stored(message_id):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            message = Message.objects.get(public_id=message_id)
            if message.status != MessageStatus.IN_PROGRESS:
                return message
        except Exception:  # the in-memory SQLite test database locks tables while the server writes
            pass
        time.sleep(0.05)
    raise AssertionError("the answer was not stored")


def test_the_first_delta_arrives_before_the_engine_has_finished(asgi_server, plain_user, conversation, fake_llm):
    fake_llm.script.delay = 0.15  # 7 deltas: about a second in all
    session, token = browser_session(asgi_server, plain_user.email)
    started = time.monotonic()

    seen = list(events(ask(asgi_server, session, token, conversation)))

    names = [name for name, _, _ in seen]
    first_delta = next(at for name, _, at in seen if name == "delta")
    assert names[0] == "started" and names[-1] == "finished"
    assert first_delta - started < 0.6 < seen[-1][2] - started
    assert stored(seen[0][1]["message_id"]).status == MessageStatus.COMPLETED


def test_stop_ends_the_answer_and_it_is_stored_incomplete(asgi_server, plain_user, conversation, fake_llm):
    fake_llm.script.delay = 0.3
    session, token = browser_session(asgi_server, plain_user.email)
    response = ask(asgi_server, session, token, conversation)
    stream = events(response)
    _, first, _ = next(stream)

    stop = session.post(
        f"{asgi_server.url}/chat/c/{conversation.public_id}/stop",
        data={"message": first["message_id"]},
        headers={"X-CSRFToken": token, "Referer": f"{asgi_server.url}/chat/"},
        timeout=10,
    )
    rest = [(name, data) for name, data, _ in stream]

    assert stop.json() == {"stopped": True}
    assert rest[-1][0] == "finished" and rest[-1][1]["status"] == "incomplete"
    message = stored(first["message_id"])
    assert (message.status, message.incomplete_reason) == (MessageStatus.INCOMPLETE, "cancelled")


def test_without_the_csrf_token_the_stream_is_refused(asgi_server, plain_user, conversation):
    session, _ = browser_session(asgi_server, plain_user.email)

    response = session.post(f"{asgi_server.url}/chat/c/{conversation.public_id}/ask", data={"text": "x"}, timeout=10)

    assert response.status_code == 403
