"""create_agent, grant_agent and check_agent: output (human and JSON), and each bad input with nothing written."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.agents.models import Agent, AgentGroupGrant, AgentUserGrant, UserDefaultAgent
from apps.agents.selectors import agent_default_for_user, agents_usable_by
from apps.audit.models import AuditEvent
from apps.engines.fakes import FAKE_API_KEY, FAKE_MODELS, Script
from tests.factories import AgentFactory
from tests.helpers import run_manage


def call(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_agent_prints_json_and_grants_nothing(company):
    data = json.loads(
        call("create_agent", "--company", "acme", "--name", "Helper", "--engine", "openai", "--model", "gpt-4o-mini",
             "--api-key", "sk-cmd-key-0123456789abcd", "--max-messages", "12", "--temperature", "0.4", "--json")
    )  # fmt: skip

    agent = Agent.objects.get()
    assert data == {"id": agent.public_id, "name": "Helper", "engine": "openai", "company": "acme"}
    assert (agent.max_messages, agent.temperature, agent.api_key) == (12, 0.4, "sk-cmd-key-0123456789abcd")
    assert not AgentUserGrant.objects.exists() and not AgentGroupGrant.objects.exists()


def test_create_agent_reads_the_key_from_the_named_environment_variable(company, monkeypatch):
    monkeypatch.setenv("AZURE_KEY_FOR_TEST", "azure-key-from-env-0123456789")

    out = call("create_agent", "--company", "acme", "--name", "Azure", "--engine", "azure-openai",
               "--base-url", "https://res.openai.azure.com", "--deployment", "prod", "--api-version", "2024-10-21",
               "--model", "gpt-4o", "--api-key-env", "AZURE_KEY_FOR_TEST")  # fmt: skip

    agent = Agent.objects.get()
    assert agent.api_key == "azure-key-from-env-0123456789"
    assert (agent.base_url, agent.deployment, agent.api_version) == (
        "https://res.openai.azure.com",
        "prod",
        "2024-10-21",
    )
    assert "azure-key-from-env" not in out
    assert out.strip().count("\n") == 0


def test_create_agent_bedrock_with_access_keys(company):
    call("create_agent", "--company", "acme", "--name", "Claude", "--engine", "bedrock", "--region", "eu-west-1",
         "--model", "anthropic.claude-3-5-haiku-20241022-v1:0", "--access-key-id", "AKIAEXAMPLE",
         "--secret-access-key", "secret-example-0123456789")  # fmt: skip

    agent = Agent.objects.get()
    assert (agent.region, agent.access_key_id, agent.secret_access_key) == (
        "eu-west-1",
        "AKIAEXAMPLE",
        "secret-example-0123456789",
    )


BASE = ["create_agent", "--company", "acme", "--name", "X"]


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--engine", "gpt5", "--model", "m"], "Unknown engine"),
        (["--engine", "openai", "--api-key", "k" * 20], "Model is required"),
        (["--engine", "openai", "--model", "m"], "API key is required"),
        (["--engine", "openai", "--model", "m", "--api-key", "k" * 20, "--temperature", "2.1"], "temperature"),
        (["--engine", "openai", "--model", "m", "--api-key", "k" * 20, "--max-messages", "0"], "Max Messages"),
        (["--engine", "openai", "--model", "m", "--api-key", "k" * 20, "--max-messages", "500"], "Max Messages"),
        (["--engine", "llama", "--model", "m", "--base-url", "file:///etc/passwd"], "http:// or https://"),
        (["--engine", "llama", "--model", "m", "--region", "us-east-1", "--base-url", "http://h/v1"], "--region"),
        (["--engine", "openai", "--model", "m", "--api-key-env", "NOT_SET_ANYWHERE_42"], "NOT_SET_ANYWHERE_42"),
        (["--engine", "openai", "--model", "m", "--api-key", "a", "--api-key-env", "HOME"], "not both"),
    ],
)
def test_create_agent_refuses_bad_input_and_writes_nothing(company, args, reason):
    with pytest.raises(CommandError, match=reason):
        call(*BASE, *args)

    assert not Agent.objects.exists()
    assert not AuditEvent.objects.exists()


def test_create_agent_unknown_company(db):
    with pytest.raises(CommandError, match="Unknown company"):
        call("create_agent", "--company", "nope", "--name", "X", "--engine", "llama")


def test_create_agent_error_is_one_line_and_a_non_zero_exit():
    result = run_manage("create_agent", "--company", "acme", "--name", "X", "--engine", "gpt5", env={"DEBUG": "true"})

    assert result.returncode == 1
    assert result.stderr.strip() == (
        "CommandError: Unknown engine 'gpt5'; choose one of azure-openai, openai, mistral, google, llama, bedrock."
    )


def test_grant_agent_to_a_group_with_json(company, group, plain_user):
    group.members.add(plain_user)
    agent = AgentFactory(company=company)

    data = json.loads(call("grant_agent", "--agent", agent.public_id, "--group", "Engineering", "--json"))

    assert data == {"agent": agent.public_id, "group": "Engineering", "granted": True, "default": False}
    assert list(agents_usable_by(user=plain_user)) == [agent]


def test_grant_agent_to_a_user_as_default(company, plain_user):
    agent = AgentFactory(company=company)

    out = call("grant_agent", "--agent", agent.public_id, "--user", "USER@acme.example", "--default")

    assert "default agent of 1 user" in out
    assert agent_default_for_user(user=plain_user) == agent


def test_grant_agent_default_for_a_group_sets_each_members_default(company, group, plain_user, admin_user):
    group.members.add(plain_user, admin_user)
    agent = AgentFactory(company=company)

    call("grant_agent", "--agent", agent.public_id, "--group", "Engineering", "--default")

    assert UserDefaultAgent.objects.filter(agent=agent).count() == 2


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        (["--user", "user@globex.example"], "has no user"),  # another company's user
        (["--user", "nobody@acme.example"], "has no user"),
        (["--group", "Nope"], "no group"),
    ],
)
def test_grant_agent_refuses_other_companies_and_unknown_targets(company, other_user, other_group, target, reason):
    agent = AgentFactory(company=company)

    with pytest.raises(CommandError, match=reason):
        call("grant_agent", "--agent", agent.public_id, *target, "--default")

    assert not AgentUserGrant.objects.exists() and not AgentGroupGrant.objects.exists()
    assert not UserDefaultAgent.objects.exists()


def test_grant_agent_of_another_company_to_a_group_of_mine_finds_no_group(company, other_company, group):
    foreign = AgentFactory(company=other_company)

    with pytest.raises(CommandError, match="globex has no group"):
        call("grant_agent", "--agent", foreign.public_id, "--group", "Engineering")


def test_grant_agent_unknown_agent(db):
    with pytest.raises(CommandError, match="Unknown agent"):
        call("grant_agent", "--agent", "no-such-id", "--group", "G")


def test_check_agent_succeeds_against_the_fake_server(company, fake_engine):
    fake = fake_engine("openai", script=Script(text="OK", input_tokens=9))
    agent = AgentFactory(company=company, base_url=fake.base_url, model=FAKE_MODELS["openai"], api_key=FAKE_API_KEY)

    data = json.loads(call("check_agent", agent.public_id, "--json"))

    assert data["ok"] is True
    assert (data["answer"], data["input_tokens"]) == ("OK", 9)


def test_check_agent_fails_with_the_providers_reason(company, fake_engine):
    fake = fake_engine("openai", script=Script(status=404, error_message="The model `gpt-9` does not exist"))
    agent = AgentFactory(company=company, base_url=fake.base_url, model="gpt-9", api_key=FAKE_API_KEY)

    with pytest.raises(CommandError, match="does not exist"):
        call("check_agent", agent.public_id)


def test_check_agent_unknown_or_deleted_agent(company):
    agent = AgentFactory(company=company)
    Agent.objects.filter(pk=agent.pk).update(deleted_at="2026-01-01T00:00:00Z")

    with pytest.raises(CommandError, match="Unknown agent"):
        call("check_agent", agent.public_id)
