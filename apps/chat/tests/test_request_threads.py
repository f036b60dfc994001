"""airisk/asgi.py keeps the threads that run the requests' sync code for the next requests, instead of starting two
threads per request: a request still has a thread of its own while it runs, and its database connections are closed
when it ends."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.core.signals import request_finished
from django.db import connection

import airisk.asgi

pytestmark = pytest.mark.django_db(transaction=True)


class Finishes:
    """What request_finished saw, on the request's thread: the thread and whether its connection was closed (this
    receiver runs after Django's close_old_connections). With ``meet``, concurrent requests wait for each other
    there, which they cannot do if they share a thread."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, bool]] = []
        self.meet: threading.Barrier | None = None
        self.broken = False

    def __call__(self, **kwargs) -> None:
        self.seen.append((threading.get_ident(), connection.connection is None))
        if self.meet is not None:
            try:
                self.meet.wait()
            except threading.BrokenBarrierError:
                self.broken = True


@pytest.fixture
def finishes():
    receiver = Finishes()
    request_finished.connect(receiver)
    yield receiver
    request_finished.disconnect(receiver)


def list_agents(server, token) -> requests.Response:
    """A sync DRF view that reads the database on the request's thread."""
    return requests.get(f"{server.url}/api/Chat/ListAgents", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def finished_count(finishes: Finishes, count: int) -> list[tuple[int, bool]]:
    # The response is closed (request_finished) once its body is sent: a moment after the client has it.
    deadline = time.monotonic() + 5
    while len(finishes.seen) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return finishes.seen


def test_requests_one_after_another_run_on_one_kept_thread_and_close_their_connections(
    asgi_server, user_token, agent, finishes
):
    for _ in range(3):
        assert list_agents(asgi_server, user_token).status_code == 200
        finished_count(finishes, len(finishes.seen) + 1)

    seen = finished_count(finishes, 3)
    assert len(seen) == 3
    assert len({thread for thread, _closed in seen}) == 1
    # Django never closes an in-memory SQLite database's connection (that would drop the database); any other
    # database's connection is closed at the end of each request, on the thread that opened it.
    in_memory = connection.vendor == "sqlite" and connection.is_in_memory_db()
    assert [closed for _thread, closed in seen] == [not in_memory] * 3


def test_concurrent_requests_each_have_a_thread_of_their_own(asgi_server, user_token, agent, finishes):
    finishes.meet = threading.Barrier(3, timeout=5)

    with ThreadPoolExecutor(3) as pool:
        responses = list(pool.map(lambda _: list_agents(asgi_server, user_token), range(3)))

    assert [response.status_code for response in responses] == [200, 200, 200]
    seen = finished_count(finishes, 3)
    assert not finishes.broken
    assert len({thread for thread, _closed in seen}) == 3


def test_no_more_idle_threads_are_kept_than_idle_max(asgi_server, user_token, agent, finishes, monkeypatch):
    handler = airisk.asgi.django_application
    monkeypatch.setattr(handler, "IDLE_MAX", 1)
    monkeypatch.setattr(handler, "_idle", [])
    finishes.meet = threading.Barrier(3, timeout=5)

    with ThreadPoolExecutor(3) as pool:
        responses = list(pool.map(lambda _: list_agents(asgi_server, user_token), range(3)))

    assert [response.status_code for response in responses] == [200, 200, 200]
    finished_count(finishes, 3)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not handler._idle:
        time.sleep(0.01)
    time.sleep(0.1)  # the other two requests end too
    assert len(handler._idle) == 1
    assert not finishes.broken
