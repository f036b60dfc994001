"""apps.core.middleware under ASGI: the session and messages middleware do their store's I/O in a thread when
there is some (and then do it right), and stay on the event loop otherwise. Driven directly, with an async
handler below them, the way Django's ASGI handler chains them."""

import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.contrib import messages
from django.contrib.sessions.backends.db import SessionStore
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from apps.core.middleware import RENEWED_AT, MessageMiddleware, SessionMiddleware

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("db_sessions"),
]


@pytest.fixture
def db_sessions():
    with override_settings(SESSION_ENGINE="django.contrib.sessions.backends.db"):
        yield


def hops_of(calls: list[str], name: str) -> list[str]:
    return [call for call in calls if name in call]


def run(middleware_class, view, request):
    async def handler(request):  # a sync view, as Django's handler runs one
        return await sync_to_async(view, thread_sensitive=True)(request)

    return async_to_sync(middleware_class(handler))(request)


def stored_session(**data) -> SessionStore:
    session = SessionStore()
    session.update({RENEWED_AT: int(time.time()), **data})
    session.create()
    return session


def request_with_cookie(session_key: str | None = None):
    request = RequestFactory().get("/")
    if session_key:
        request.COOKIES[settings.SESSION_COOKIE_NAME] = session_key
    return request


def reading(request):
    request.session.get("who")
    return HttpResponse()


def test_a_session_read_within_the_renewal_interval_stays_on_the_loop(sync_to_async_calls):
    session = stored_session(who="ann")

    response = run(SessionMiddleware, reading, request_with_cookie(session.session_key))

    assert hops_of(sync_to_async_calls, "SessionMiddleware") == []
    assert settings.SESSION_COOKIE_NAME not in response.cookies


def test_a_changed_session_is_saved_in_a_thread(sync_to_async_calls):
    session = stored_session(who="ann")

    def writing(request):
        request.session["who"] = "bob"
        return HttpResponse()

    response = run(SessionMiddleware, writing, request_with_cookie(session.session_key))

    assert hops_of(sync_to_async_calls, "SessionMiddleware.process_response")
    assert SessionStore(session.session_key).load()["who"] == "bob"
    assert response.cookies[settings.SESSION_COOKIE_NAME].value == session.session_key


def test_a_session_due_for_renewal_is_renewed_in_a_thread_even_when_the_view_never_read_it(sync_to_async_calls):
    session = stored_session(who="ann")
    session[RENEWED_AT] -= settings.SESSION_RENEW_SECONDS
    session.save()

    response = run(SessionMiddleware, lambda request: HttpResponse(), request_with_cookie(session.session_key))

    assert hops_of(sync_to_async_calls, "SessionMiddleware.process_response")
    assert SessionStore(session.session_key).load()[RENEWED_AT] >= int(time.time()) - 1
    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == settings.SESSION_COOKIE_AGE


def test_no_session_cookie_no_session_work(sync_to_async_calls):
    response = run(SessionMiddleware, lambda request: HttpResponse(), request_with_cookie())

    assert hops_of(sync_to_async_calls, "Middleware") == []
    assert settings.SESSION_COOKIE_NAME not in response.cookies


def with_session(request):
    request.session = SessionStore()
    return request


def test_messages_left_alone_stay_on_the_loop(sync_to_async_calls):
    response = run(MessageMiddleware, lambda request: HttpResponse(), with_session(request_with_cookie()))

    assert hops_of(sync_to_async_calls, "Middleware") == []
    assert "messages" not in response.cookies


def test_an_added_message_is_stored_in_a_thread(sync_to_async_calls):
    def adding(request):
        messages.success(request, "Saved.")
        return HttpResponse()

    response = run(MessageMiddleware, adding, with_session(request_with_cookie()))

    assert hops_of(sync_to_async_calls, "MessageMiddleware.process_response")
    assert response.cookies["messages"].value  # the cookie storage's signed message list
