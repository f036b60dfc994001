"""Test connection through the real adapters against the engines' fake servers on loopback, for every engine,
with the agent's own key or the company's provider settings; and the provider's errors in plain words."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from apps.agents.models import Agent
from apps.agents.services import agent_check_connection, explain_engine_error, provider_credential_set
from apps.audit.models import AuditEvent, Outcome
from apps.audit.services import Actor
from apps.engines.base import EngineError
from apps.engines.fakes import (
    FAKE_ACCESS_KEY_ID,
    FAKE_API_KEY,
    FAKE_DEPLOYMENT,
    FAKE_MODELS,
    FAKE_REGION,
    FAKE_SECRET_ACCESS_KEY,
    Script,
)
from apps.engines.transport import close_client, get_client

SYSTEM = Actor.system()


def agent_for(company, fake, **overrides) -> Agent:
    """An agent whose settings point at ``fake`` the way an admin would enter them."""
    values = {"engine": fake.wire, "base_url": fake.base_url, "model": FAKE_MODELS[fake.wire]}
    if fake.wire == "azure-openai":
        values.update(deployment=FAKE_DEPLOYMENT, api_version="2024-10-21", api_key=FAKE_API_KEY)
    elif fake.wire == "bedrock":
        values.update(region=FAKE_REGION, access_key_id=FAKE_ACCESS_KEY_ID, secret_access_key=FAKE_SECRET_ACCESS_KEY)
    else:
        values["api_key"] = FAKE_API_KEY
    values.update(overrides)
    return Agent.objects.create(company=company, name=f"{fake.wire} agent", **values)


@pytest.mark.parametrize("wire", ["openai", "azure-openai", "mistral", "google", "llama", "bedrock"])
def test_test_connection_answers_on_every_engine(company, fake_engine, wire):
    fake = fake_engine(wire, script=Script(text="OK", input_tokens=12))
    agent = agent_for(company, fake)

    check = agent_check_connection(company=company, agent=agent, actor=SYSTEM)

    assert check.text == "OK"
    assert check.usage.input_tokens == 12
    assert check.latency_ms > 0
    assert len(fake.requests) == 1
    event = AuditEvent.objects.get(action="agent.connection_checked")
    assert event.outcome == Outcome.SUCCESS
    assert event.detail["input_tokens"] == 12


def test_an_agent_without_a_key_uses_the_companys_provider_settings(company, fake_engine):
    fake = fake_engine("openai", script=Script(text="OK"))
    agent = agent_for(company, fake, api_key="")
    provider_credential_set(company=company, engine="openai", actor=SYSTEM, api_key=FAKE_API_KEY)

    check = agent_check_connection(company=company, agent=agent, actor=SYSTEM)

    assert check.text == "OK"
    assert fake.last.headers["authorization"] == f"Bearer {FAKE_API_KEY}"


def test_azure_endpoint_and_key_from_the_company(company, fake_engine):
    fake = fake_engine("azure-openai", script=Script(text="OK"))
    agent = agent_for(company, fake, api_key="", base_url="")
    provider_credential_set(
        company=company, engine="azure-openai", actor=SYSTEM, base_url=fake.base_url, api_key=FAKE_API_KEY
    )

    assert agent_check_connection(company=company, agent=agent, actor=SYSTEM).text == "OK"
    assert FAKE_DEPLOYMENT in fake.last.path


def test_a_wrong_key_is_an_auth_error_in_plain_words_and_audited_as_failure(company, fake_engine):
    fake = fake_engine("openai")
    agent = agent_for(company, fake, api_key="sk-wrong-key-0123456789abcdef")

    with pytest.raises(EngineError) as caught:
        agent_check_connection(company=company, agent=agent, actor=SYSTEM)

    assert caught.value.kind == "auth"
    assert "refused the credentials" in explain_engine_error(caught.value)
    assert "sk-wrong-key-0123456789abcdef" not in explain_engine_error(caught.value)
    event = AuditEvent.objects.get(action="agent.connection_checked")
    assert (event.outcome, event.detail["error"]) == (Outcome.FAILURE, "auth")


def test_a_provider_message_quoting_the_key_is_masked(company, fake_engine):
    fake = fake_engine("openai", script=Script(status=401, error_message="Incorrect API key provided: {key}."))
    agent = agent_for(company, fake)

    with pytest.raises(EngineError) as caught:
        agent_check_connection(company=company, agent=agent, actor=SYSTEM)

    assert FAKE_API_KEY not in explain_engine_error(caught.value)
    assert "Incorrect API key provided" in explain_engine_error(caught.value)


@pytest.mark.parametrize(
    ("script", "kind", "words"),
    [
        (Script(status=404), "not_found", "does not know this model or deployment"),
        (Script(status=429, retry_after="7"), "rate_limited", "Retry in 7 s"),
        (Script(garbage="<html>proxy error</html>"), "provider_error", "not its API format"),
    ],
)
def test_provider_errors_are_explained(company, fake_engine, script, kind, words):
    agent = agent_for(company, fake_engine("mistral", script=script))

    with pytest.raises(EngineError) as caught:
        agent_check_connection(company=company, agent=agent, actor=SYSTEM)

    assert caught.value.kind == kind
    assert words in explain_engine_error(caught.value)


def test_an_unreachable_server_is_an_error_not_a_hang(company):
    agent = Agent.objects.create(
        company=company, name="Nowhere", engine="llama", base_url="http://127.0.0.1:9/v1", model="llama3.2"
    )

    with pytest.raises(EngineError) as caught:
        agent_check_connection(company=company, agent=agent, actor=SYSTEM)

    assert caught.value.kind in ("timeout", "provider_error")


@pytest.mark.django_db(transaction=True)
def test_a_check_from_a_sync_view_under_asgi_leaves_the_servers_connection_pool_alone(company, fake_engine):
    """Under ASGI a sync view runs in a thread that knows the server's event loop; the check must not run there,
    because it closes its loop's engine client at the end: on the server's loop that would cut the answers
    streaming through it."""
    fake = fake_engine("openai", script=Script(text="OK"))
    agent = agent_for(company, fake)

    def sync_view():
        try:
            return agent_check_connection(company=company, agent=agent, actor=SYSTEM)
        finally:
            connections.close_all()  # as the end of a request does: asgiref's thread outlives the test

    async def server() -> tuple[bool, bool]:
        shared = get_client()  # the client the server's streamed answers use
        check = await sync_to_async(sync_view)()
        assert check.text == "OK"
        try:
            return get_client() is shared, shared.is_closed
        finally:
            await close_client()

    same, closed = asyncio.run(server())

    assert same and not closed
