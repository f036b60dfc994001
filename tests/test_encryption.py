"""Secrets at rest: Fernet tokens under FIELD_ENCRYPTION_KEYS, key rotation with rotate_encryption_key, and the
settings' fail-fast checks."""

import json
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from apps.agents.models import Agent, ProviderCredential
from apps.agents.services import provider_credential_set
from apps.audit.services import Actor
from apps.core.encryption import DecryptionError, mask
from tests.factories import AgentFactory
from tests.helpers import run_manage
from tests.test_health_and_settings import PRODUCTION_ENV

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def stored(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_rotation_re_encrypts_every_field_under_the_first_key(company, settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    agents = [AgentFactory(company=company, api_key=f"sk-agent-{n}-0123456789") for n in range(3)]
    bedrock = AgentFactory(company=company, engine="bedrock", api_key="", secret_access_key="aws-secret-0123456789")
    credential = provider_credential_set(
        company=company, engine="openai", actor=Actor.system(), api_key="sk-co-01234567"
    )
    before = stored("agents_agent", "api_key", agents[0].pk)

    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    out = StringIO()
    call_command("rotate_encryption_key", "--batch-size", "2", stdout=out)
    settings.FIELD_ENCRYPTION_KEYS = [NEW]  # the old key is retired

    assert "agents.Agent.api_key: 2/3" in out.getvalue()
    assert "agents.Agent.api_key: 3/3" in out.getvalue()
    assert "Re-encrypted 5 value(s)" in out.getvalue()
    assert stored("agents_agent", "api_key", agents[0].pk) != before
    assert [Agent.objects.get(pk=a.pk).api_key for a in agents] == [f"sk-agent-{n}-0123456789" for n in range(3)]
    assert Agent.objects.get(pk=bedrock.pk).secret_access_key == "aws-secret-0123456789"
    assert ProviderCredential.objects.get(pk=credential.pk).api_key == "sk-co-01234567"
    assert "sk-agent" not in out.getvalue()


def test_rotation_prints_json_counts_per_field(company, settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    AgentFactory(company=company)
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    out = StringIO()

    call_command("rotate_encryption_key", "--json", stdout=out)

    assert json.loads(out.getvalue())["fields"]["agents.Agent.api_key"] == 1


def test_rotation_stops_clearly_on_a_value_no_key_opens(company, settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    agent = AgentFactory(company=company)
    before = stored("agents_agent", "api_key", agent.pk)
    settings.FIELD_ENCRYPTION_KEYS = [NEW]  # the old key was dropped too early

    with pytest.raises(CommandError, match=r"agents\.Agent\.api_key: A stored secret cannot be decrypted"):
        call_command("rotate_encryption_key", stdout=StringIO())

    assert stored("agents_agent", "api_key", agent.pk) == before


def test_reading_a_value_without_its_key_fails_loudly(company, settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    agent = AgentFactory(company=company)
    settings.FIELD_ENCRYPTION_KEYS = [NEW]

    with pytest.raises(DecryptionError, match="FIELD_ENCRYPTION_KEYS"):
        Agent.objects.get(pk=agent.pk)


def test_dumpdata_never_writes_a_key(company):
    AgentFactory(company=company, api_key="sk-dump-me-0123456789abcdef")
    out = StringIO()

    call_command("dumpdata", "agents.agent", stdout=out)

    assert "sk-dump-me" not in out.getvalue()
    assert json.loads(out.getvalue())[0]["fields"]["api_key"] == "••••"


def test_mask_shows_only_the_last_four_characters_of_a_long_key():
    assert mask("sk-0123456789abcdWXYZ") == "•••• WXYZ"
    assert mask("short-key") == "••••"
    assert mask("") == ""


def test_startup_stops_without_encryption_keys_when_debug_is_off():
    result = run_manage("check", env={**PRODUCTION_ENV, "FIELD_ENCRYPTION_KEYS": ""})

    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_startup_stops_on_a_malformed_key_without_printing_it():
    result = run_manage("check", env={**PRODUCTION_ENV, "FIELD_ENCRYPTION_KEYS": f"{NEW},not-a-fernet-key-secret"})

    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS entry 2 is not a Fernet key" in result.stderr
    assert "not-a-fernet-key-secret" not in result.stderr


def test_debug_derives_a_key_from_the_secret_key():
    result = run_manage("check", env={**PRODUCTION_ENV, "FIELD_ENCRYPTION_KEYS": "", "DEBUG": "true"})

    assert result.returncode == 0, result.stderr
