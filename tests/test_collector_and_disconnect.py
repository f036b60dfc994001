"""The server processes' garbage collector settings (airisk/collector.py) and airisk/asgi.py's handler, whose
listening task ends on a client's disconnect without leaving the request's objects in a reference cycle."""

import asyncio
import gc

import pytest
from django.core.exceptions import RequestAborted
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import path

from airisk.asgi import RequestThreadsASGIHandler
from tests.helpers import json_line, run_manage, run_python
from tests.test_health_and_settings import PRODUCTION_ENV


def collector_of_a_server_process(**env: str) -> dict:
    """Load airisk.asgi in a fresh process, as a server worker does, and report the collector's state."""
    code = (
        "import gc, json, airisk.asgi;"
        "print(json.dumps({'threshold': gc.get_threshold(), 'frozen': gc.get_freeze_count()}))"
    )
    result = run_python("-c", code, env={**PRODUCTION_ENV, **env})
    assert result.returncode == 0, result.stderr
    return json_line(result.stdout)


def test_a_server_process_freezes_the_loaded_application_and_collects_young_objects_every_5000():
    state = collector_of_a_server_process()

    assert state["threshold"] == [5000, 10, 10]  # the two older generations keep Python's thresholds
    assert state["frozen"] > 50_000  # modules, classes, URL patterns: out of the collector's sight


def test_the_young_generation_threshold_is_a_setting():
    assert collector_of_a_server_process(GC_GEN0_THRESHOLD="20000")["threshold"][0] == 20000


@pytest.mark.parametrize("value", ["699", "0", "-5"])
def test_startup_stops_on_a_young_generation_threshold_below_pythons_default(value):
    result = run_manage("check", env={**PRODUCTION_ENV, "GC_GEN0_THRESHOLD": value})

    assert result.returncode != 0
    assert "GC_GEN0_THRESHOLD must be at least 700" in result.stderr


# --- the handler, driven as uvicorn drives it ----------------------------------------------------------------

cancelled: list[str] = []


async def slow(request):
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        cancelled.append(request.path)
        raise
    return HttpResponse("too late")


async def streamed(request):
    async def body():
        yield b"first "
        yield b"last"

    return StreamingHttpResponse(body())


urlpatterns = [path("test/slow", slow), path("test/streamed", streamed)]


def http_scope(url: str) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": url,
        "raw_path": url.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


class Client:
    """The server's side of one connection, as uvicorn gives it to the application: the request, then a disconnect
    once ``leave`` is set (uvicorn: when the response is complete, or when the client has gone)."""

    def __init__(self, disconnect_when_complete: bool) -> None:
        self.leave = asyncio.Event()
        self.disconnect_when_complete = disconnect_when_complete
        self.requested = False
        self.messages: list[dict] = []

    async def receive(self) -> dict:
        if not self.requested:
            self.requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.leave.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict) -> None:
        self.messages.append(message)
        if self.disconnect_when_complete and message["type"] == "http.response.body" and not message.get("more_body"):
            self.leave.set()

    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages if m["type"] == "http.response.body")


def cycles_left_by(run) -> list:
    """What the collector finds unreachable after ``run()``, with automatic collections off meanwhile."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        run()
        gc.collect()
        return list(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def test_a_completed_response_leaves_no_aborted_request_cycle(settings):
    settings.ROOT_URLCONF = __name__
    client = Client(disconnect_when_complete=True)

    garbage = cycles_left_by(
        lambda: asyncio.run(RequestThreadsASGIHandler()(http_scope("/test/streamed"), client.receive, client.send))
    )

    assert client.messages[0]["status"] == 200
    assert client.body() == b"first last"
    # Django's own listener raised RequestAborted here: the exception's traceback held handle()'s frame, which held
    # the task that held the exception, and with them the request, the response and both tasks.
    # type(), not isinstance(): the garbage holds lazy objects (the CSP nonce), which isinstance() would evaluate.
    assert [o for o in garbage if type(o) is RequestAborted] == []
    assert [o for o in garbage if type(o) is asyncio.Task] == []


def test_a_client_that_leaves_mid_request_still_cancels_the_view(settings):
    settings.ROOT_URLCONF = __name__
    cancelled.clear()
    client = Client(disconnect_when_complete=False)

    async def leave_soon():
        handler = RequestThreadsASGIHandler()
        serving = asyncio.ensure_future(handler(http_scope("/test/slow"), client.receive, client.send))
        await asyncio.sleep(0.2)
        client.leave.set()
        await asyncio.wait_for(serving, timeout=5)  # the view's 30 s sleep does not hold the handler

    asyncio.run(leave_soon())

    assert cancelled == ["/test/slow"]
    assert [m for m in client.messages if m["type"] == "http.response.start"] == []  # nothing sent to a gone client
