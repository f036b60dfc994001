"""Agents: creation and its bad inputs, engine settings, prices, updates, soft delete, files, audit events."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.http import Http404

from apps.agents.models import Agent, AgentFile, CompanyProfile, UserDefaultAgent
from apps.agents.selectors import agent_list, agents_usable_by, get_agent_for_company
from apps.agents.services import (
    agent_create,
    agent_delete,
    agent_file_add,
    agent_file_delete,
    agent_grant_user,
    agent_update,
    company_profile_update,
    provider_credential_set,
    user_set_default_agent,
)
from apps.audit.models import AuditEvent
from apps.audit.services import Actor
from tests.factories import AgentFactory

KEY = "sk-live-secret-key-abcdefghijklmnop-WXYZ"
SYSTEM = Actor.system()


def create(company, **overrides):
    values = {"name": "Helper", "engine": "openai", "model": "gpt-4o-mini", "api_key": KEY, **overrides}
    return agent_create(company=company, actor=SYSTEM, **values)


def test_agent_create_stores_the_settings_and_audits_without_the_key(company):
    agent = create(company, instructions="Be brief.", temperature="0.2", max_messages="30")

    agent.refresh_from_db()
    assert (agent.engine, agent.model, agent.instructions) == ("openai", "gpt-4o-mini", "Be brief.")
    assert (agent.temperature, agent.max_messages) == (0.2, 30)
    assert agent.api_key == KEY
    event = AuditEvent.objects.get(action="agent.created")
    assert event.company == company
    assert event.detail["own_key"] is True
    assert KEY not in repr(AuditEvent.objects.values())


def test_the_key_is_stored_encrypted(company):
    agent = create(company)

    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key FROM agents_agent WHERE id = %s", [agent.pk])
        stored = cursor.fetchone()[0]
    assert KEY not in stored
    assert KEY[-4:] not in stored
    assert stored.startswith("gAAAA")  # a Fernet token


def test_defaults_of_the_advanced_settings(company):
    agent = create(company)

    assert (agent.max_messages, agent.temperature, agent.max_tokens) == (20, 0.7, None)


def test_list_prices_prefill_empty_prices_and_explicit_prices_win(company):
    listed = create(company)
    chosen = create(company, name="Negotiated", input_price_per_million="0.1", output_price_per_million="0")
    self_hosted = create(company, name="Local", engine="llama", base_url="http://127.0.0.1:1/v1", model="llama3.2")

    assert (listed.input_price_per_million, listed.output_price_per_million) == (Decimal("0.15"), Decimal("0.6"))
    assert (chosen.input_price_per_million, chosen.output_price_per_million) == (Decimal("0.1"), Decimal("0"))
    assert self_hosted.input_price_per_million is None  # no list price for a self-hosted model


def test_azure_prices_come_from_the_named_base_model(company):
    agent = create(
        company,
        engine="azure-openai",
        model="gpt-4o",
        base_url="https://res.openai.azure.com",
        deployment="prod",
    )

    assert agent.input_price_per_million == Decimal("2.5")


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"engine": "gpt"}, "engine", "Unknown engine"),
        ({"model": ""}, "model", "Model is required"),
        ({"temperature": "2.5"}, "temperature", "between 0.0 and 2.0"),
        ({"temperature": "-0.1"}, "temperature", "between 0.0 and 2.0"),
        ({"temperature": "warm"}, "temperature", "must be a number"),
        ({"max_messages": "0"}, "max_messages", "between 1 and 200"),
        ({"max_messages": "201"}, "max_messages", "between 1 and 200"),
        ({"max_messages": "2.5"}, "max_messages", "must be a number"),
        ({"base_url": "ftp://api.example.com/v1"}, "base_url", "http:// or https://"),
        ({"base_url": "javascript:alert(1)"}, "base_url", "http:// or https://"),
        ({"api_key": ""}, "api_key", "API key is required"),
        ({"name": "  "}, "name", "name"),
        ({"input_price_per_million": "-1"}, "input_price_per_million", "at least 0"),
    ],
)
def test_agent_create_refuses_bad_input_and_writes_nothing(company, overrides, field, message):
    with pytest.raises(ValidationError) as caught:
        create(company, **overrides)

    assert field in caught.value.message_dict
    assert message in " ".join(caught.value.message_dict[field])
    assert not Agent.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    ("engine", "values", "missing"),
    [
        ("azure-openai", {"deployment": "prod"}, "base_url"),
        ("azure-openai", {"base_url": "https://r.openai.azure.com"}, "deployment"),
        ("llama", {"model": "llama3.2"}, "base_url"),
        ("bedrock", {"model": "anthropic.claude"}, "region"),
        ("google", {}, "model"),
        ("mistral", {}, "model"),
    ],
)
def test_each_engine_requires_its_fields(company, engine, values, missing):
    with pytest.raises(ValidationError) as caught:
        agent_create(company=company, actor=SYSTEM, name="X", engine=engine, api_key=KEY, **values)

    assert missing in caught.value.message_dict


def test_bedrock_needs_a_key_or_an_access_key_pair(company):
    with pytest.raises(ValidationError, match="access key id and the secret access key together"):
        create(company, engine="bedrock", model="m", region="us-east-1", api_key="", access_key_id="AKIA1")

    agent = create(
        company,
        engine="bedrock",
        model="m",
        region="us-east-1",
        api_key="",
        access_key_id="AKIA1",
        secret_access_key="s" * 20,
    )
    assert agent.secret_access_key == "s" * 20


def test_a_company_key_lets_an_agent_go_without_its_own(company):
    provider_credential_set(company=company, engine="openai", actor=SYSTEM, api_key="sk-company-key-0123456789")

    agent = create(company, api_key="")

    assert agent.api_key == ""


def test_azure_endpoint_may_come_from_the_company(company):
    provider_credential_set(
        company=company, engine="azure-openai", actor=SYSTEM, base_url="https://co.openai.azure.com", api_key="k" * 20
    )

    agent = create(company, engine="azure-openai", deployment="prod", model="gpt-4o", api_key="")

    assert agent.base_url == ""


def test_settings_another_engine_does_not_take_are_dropped(company):
    agent = create(company, region="us-east-1", deployment="nope", organization="org-1")

    assert (agent.region, agent.deployment, agent.organization) == ("", "", "org-1")


def test_changing_the_engine_clears_the_old_engines_settings_and_keys(company):
    agent = create(company, organization="org-1")

    agent_update(
        company=company, agent=agent, actor=SYSTEM, engine="llama", base_url="http://127.0.0.1:1/v1", model="l"
    )

    agent.refresh_from_db()
    assert (agent.engine, agent.organization, agent.api_key) == ("llama", "", "")
    event = AuditEvent.objects.get(action="agent.updated")
    assert {"engine", "organization", "api_key"} <= set(event.detail["changed"])
    assert KEY not in repr(event.detail)


def test_update_keeps_the_key_when_none_is_given_and_removes_it_with_empty(company):
    agent = create(company)

    agent_update(company=company, agent=agent, actor=SYSTEM, api_key=None, name="Renamed")
    agent.refresh_from_db()
    assert (agent.name, agent.api_key) == ("Renamed", KEY)

    agent_update(company=company, agent=agent, actor=SYSTEM, api_key="")
    agent.refresh_from_db()
    assert agent.api_key == ""


def test_update_refuses_bad_input_and_changes_nothing(company):
    agent = create(company)

    with pytest.raises(ValidationError):
        agent_update(company=company, agent=agent, actor=SYSTEM, temperature=3, name="New")

    agent.refresh_from_db()
    assert (agent.name, agent.temperature) == ("Helper", 0.7)
    assert not AuditEvent.objects.filter(action="agent.updated").exists()


def test_update_of_another_companys_agent_is_refused(company, other_company):
    foreign = AgentFactory(company=other_company)

    with pytest.raises(ValidationError, match="another company"):
        agent_update(company=company, agent=foreign, actor=SYSTEM, name="Taken")


def test_soft_delete_hides_the_agent_keeps_the_row_and_clears_defaults(company, plain_user):
    agent = AgentFactory(company=company)
    agent_grant_user(company=company, agent=agent, user=plain_user, actor=SYSTEM)
    user_set_default_agent(company=company, user=plain_user, agent=agent, actor=SYSTEM)
    company_profile_update(company=company, actor=SYSTEM, default_agent=agent)

    agent_delete(company=company, agent=agent, actor=SYSTEM)

    assert Agent.objects.filter(pk=agent.pk, deleted_at__isnull=False).exists()
    assert list(agent_list(company=company)) == []
    assert list(agents_usable_by(user=plain_user)) == []
    assert not UserDefaultAgent.objects.exists()
    assert CompanyProfile.objects.get(company=company).default_agent is None
    assert AuditEvent.objects.filter(action="agent.deleted", target_id=agent.public_id).exists()
    with pytest.raises(Http404):
        get_agent_for_company(company, agent.public_id)


def test_agent_files_are_stored_and_deleted_with_their_bytes(company, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    agent = AgentFactory(company=company)

    stored = agent_file_add(
        company=company, agent=agent, actor=SYSTEM, upload=SimpleUploadedFile("policy.txt", b"Be kind.", "text/plain")
    )

    path = tmp_path / stored.file.name
    assert path.read_bytes() == b"Be kind."
    assert (stored.name, stored.size, stored.content_type) == ("policy.txt", 8, "text/plain")
    agent_file_delete(company=company, agent_file=stored, actor=SYSTEM)
    assert not AgentFile.objects.exists()
    assert [e.detail["file"] for e in AuditEvent.objects.filter(action__startswith="agent.file")] == [
        "policy.txt",
        "policy.txt",
    ]


def test_agent_files_refuse_empty_and_oversized_uploads(company, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.AGENT_FILE_MAX_BYTES = 10
    agent = AgentFactory(company=company)

    with pytest.raises(ValidationError, match="empty"):
        agent_file_add(company=company, agent=agent, actor=SYSTEM, upload=SimpleUploadedFile("a.txt", b""))
    with pytest.raises(ValidationError, match="larger"):
        agent_file_add(company=company, agent=agent, actor=SYSTEM, upload=SimpleUploadedFile("a.txt", b"x" * 11))
    assert not AgentFile.objects.exists()
    assert not any(tmp_path.rglob("a*.txt"))
