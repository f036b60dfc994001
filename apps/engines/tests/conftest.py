"""Fake provider servers on loopback, one per wire format, started per test."""

import pytest

from apps.engines.fakes import WIRES, FakeEngineServer


@pytest.fixture(params=WIRES)
def fake(request):
    """Each of the six engines' fake server in turn."""
    with FakeEngineServer(request.param) as server:
        yield server


@pytest.fixture
def make_fake():
    started: list[FakeEngineServer] = []

    def start(wire: str, **options) -> FakeEngineServer:
        server = FakeEngineServer(wire, **options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
