"""Fixtures of the chat tests: a fake OpenAI server on loopback, an agent of company A pointing at it, granted to the
plain user, and a conversation of the plain user with that agent."""

import time
from decimal import Decimal

import pytest
from django.db.backends.signals import connection_created

from apps.agents.models import AgentUserGrant
from apps.audit.services import Actor
from apps.chat.services import conversation_create
from apps.engines.fakes import FAKE_API_KEY, FakeEngineServer, Script
from tests.factories import AgentFactory


def _sqlite_sleep(seconds: float) -> int:
    time.sleep(seconds)
    return 0


def _register_sqlite_sleep(sender, connection, **kwargs) -> None:
    """``airisk_test_sleep(seconds)`` in SQL on every SQLite connection of the tests (PostgreSQL has pg_sleep): the
    chat's worker threads keep their test connections, so it is registered as each one is opened, here at import
    time, before any test opens one (test_prompt_writes.py's triggers call it)."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("airisk_test_sleep", 1, _sqlite_sleep)


connection_created.connect(_register_sqlite_sleep, dispatch_uid="chat-tests-sqlite-sleep")


@pytest.fixture
def fake_llm():
    with FakeEngineServer("openai", script=Script(text="The policy allows twenty days of leave.")) as fake:
        yield fake


@pytest.fixture
def agent(company, plain_user, fake_llm):
    agent = AgentFactory(
        company=company,
        name="HR assistant",
        base_url=fake_llm.base_url,
        api_key=FAKE_API_KEY,
        input_price_per_million=Decimal("2.50"),
        output_price_per_million=Decimal("10.00"),
        max_messages=4,
    )
    AgentUserGrant.objects.create(company=company, agent=agent, user=plain_user)
    return agent


@pytest.fixture
def conversation(company, plain_user, agent):
    return conversation_create(
        company=company, user=plain_user, actor=Actor(user=plain_user), agent=agent, title="First"
    )


@pytest.fixture
def other_agent(other_company, other_user, fake_llm):
    agent = AgentFactory(company=other_company, name="Globex bot", base_url=fake_llm.base_url, api_key=FAKE_API_KEY)
    AgentUserGrant.objects.create(company=other_company, agent=agent, user=other_user)
    return agent


@pytest.fixture
def asgi_server(transactional_db):
    """uvicorn serving airisk.asgi on loopback, sharing the test database."""
    from tests.asgi_server import LiveAsgiServer

    with LiveAsgiServer() as server:
        yield server
