"""Fixtures of the agents tests: fake engine servers on loopback (apps.engines.fakes) and agents pointing at them."""

import pytest

from apps.engines.fakes import FakeEngineServer


@pytest.fixture
def fake_openai():
    with FakeEngineServer("openai") as fake:
        yield fake


@pytest.fixture
def fake_engine():
    """A factory of fake servers of any wire format, all stopped at the end of the test."""
    started = []

    def start(wire: str, **kwargs) -> FakeEngineServer:
        server = FakeEngineServer(wire, **kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
