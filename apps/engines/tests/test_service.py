"""validate_config, check_connection, estimate_tokens, and the per-loop client."""

import asyncio
import subprocess
import sys
from decimal import Decimal

import pytest

from apps.engines.base import EngineConfig, EngineError, estimate_tokens
from apps.engines.fakes import FAKE_API_KEY, Script
from apps.engines.prices import list_price
from apps.engines.service import check_connection, validate_config
from apps.engines.tests.helpers import error_of
from apps.engines.transport import get_client


def test_validate_config_rejects_an_unknown_engine():
    errors = validate_config(EngineConfig(engine="gpt-local"))

    assert errors == [
        "Unknown engine 'gpt-local'; choose one of azure-openai, openai, mistral, google, llama, bedrock."
    ]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (EngineConfig(engine="openai", api_key="k"), "Model is required."),
        (EngineConfig(engine="openai", model="gpt-4o"), "API key is required."),
        (EngineConfig(engine="azure-openai", deployment="d", api_key="k"), "Endpoint is required."),
        (
            EngineConfig(engine="azure-openai", base_url="https://r.openai.azure.com", api_key="k"),
            "Deployment name is required.",
        ),
        (EngineConfig(engine="mistral", model="mistral-small-latest"), "API key is required."),
        (EngineConfig(engine="google", api_key="k"), "Model is required."),
        (EngineConfig(engine="llama", model="llama3.2"), "Base URL is required."),
        (EngineConfig(engine="bedrock", model="m", api_key="k"), "Region is required."),
        (
            EngineConfig(engine="bedrock", model="m", region="eu-west-1", access_key_id="AKIA"),
            "A Bedrock API key, or an access key id and a secret access key, is required.",
        ),
    ],
)
def test_validate_config_names_the_missing_required_field(config, message):
    assert message in validate_config(config)


@pytest.mark.parametrize("base_url", ["ftp://example.com/v1", "file:///etc/passwd", "javascript:alert(1)", "http://"])
def test_validate_config_rejects_a_base_url_that_is_not_http(base_url):
    config = EngineConfig(engine="llama", model="llama3.2", base_url=base_url)

    assert "The base URL must be an http:// or https:// URL with a host." in validate_config(config)


def test_validate_config_rejects_temperature_outside_0_to_2_and_zero_max_tokens():
    config = EngineConfig(engine="openai", model="gpt-4o", api_key="k", temperature=2.5, max_tokens=0)

    errors = validate_config(config)

    assert "The temperature must be between 0 and 2." in errors
    assert "The maximum answer tokens must be at least 1." in errors


def test_validate_config_accepts_each_engine_with_its_required_fields():
    configs = [
        EngineConfig(engine="openai", model="gpt-4o", api_key="k"),
        EngineConfig(engine="azure-openai", base_url="https://r.openai.azure.com", deployment="d", api_key="k"),
        EngineConfig(engine="mistral", model="mistral-small-latest", api_key="k"),
        EngineConfig(engine="google", model="gemini-2.5-flash", api_key="k"),
        EngineConfig(engine="llama", model="llama3.2", base_url="http://localhost:11434/v1"),
        EngineConfig(engine="bedrock", model="m", region="us-east-1", access_key_id="A", secret_access_key="S"),
    ]

    assert [validate_config(config) for config in configs] == [[]] * 6


def test_stream_answer_refuses_a_bad_config_before_any_request(make_fake):
    fake = make_fake("openai")

    error = error_of(fake.config(model=""))

    assert error.kind == "bad_config"
    assert "Model is required." in error.message
    assert fake.requests == []


CAP_FIELD = {
    "openai": ("max_completion_tokens",),
    "azure-openai": ("max_tokens",),
    "mistral": ("max_tokens",),
    "llama": ("max_tokens",),
    "google": ("generationConfig", "maxOutputTokens"),
    "bedrock": ("inferenceConfig", "maxTokens"),
}


def test_check_connection_returns_the_answer_latency_and_usage(fake):
    fake.script = Script(text="OK", input_tokens=11)

    check = asyncio.run(check_connection(fake.config(max_tokens=4000)))

    assert check.text == "OK"
    assert check.latency_ms > 0
    assert check.usage.input_tokens == 11
    value = fake.last.json
    for key in CAP_FIELD[fake.wire]:
        value = value[key]
    assert value == 16  # the answer is capped to a few tokens, in each engine's own field


def test_check_connection_raises_the_provider_error(make_fake):
    fake = make_fake("google")

    with pytest.raises(EngineError) as caught:
        asyncio.run(check_connection(fake.config(api_key="wrong")))

    assert caught.value.kind == "auth"


def test_one_client_per_event_loop_reused_within_the_loop():
    async def clients():
        return get_client(), get_client()

    first_a, first_b = asyncio.run(clients())
    second_a, _ = asyncio.run(clients())

    assert first_a is first_b
    assert second_a is not first_a


def test_estimate_tokens_counts_words_and_bytes():
    assert estimate_tokens("") == 0
    assert estimate_tokens("a b c d e") == 5
    assert estimate_tokens("x" * 400) == 100
    assert estimate_tokens("危险" * 10) == 15  # 60 UTF-8 bytes


def test_engine_config_repr_hides_every_secret():
    config = EngineConfig(engine="bedrock", api_key=FAKE_API_KEY, secret_access_key="S3CR3T", session_token="T0K3N")

    assert FAKE_API_KEY not in repr(config)
    assert "S3CR3T" not in repr(config)
    assert "T0K3N" not in repr(config)


@pytest.mark.parametrize(
    ("engine", "model", "price"),
    [
        ("openai", "gpt-4o", (Decimal("2.5"), Decimal("10"))),
        ("azure-openai", "gpt-4o-mini", (Decimal("0.15"), Decimal("0.6"))),
        ("google", "gemini-2.5-flash", (Decimal("0.3"), Decimal("2.5"))),
        ("bedrock", "amazon.nova-lite-v1:0", (Decimal("0.06"), Decimal("0.24"))),
    ],
)
def test_list_price_knows_the_providers_models(engine, model, price):
    assert list_price(engine, model) == price


def test_list_price_knows_mistral_models():
    input_price, output_price = list_price("mistral", "mistral-large-latest")

    assert Decimal(0) < input_price < output_price


@pytest.mark.parametrize(
    ("engine", "model"), [("llama", "llama3.2"), ("openai", "no-such-model-xyz"), ("openai", ""), ("unknown", "gpt-4o")]
)
def test_list_price_is_none_when_unknown(engine, model):
    assert list_price(engine, model) is None


def test_list_price_works_offline_without_any_connection_or_thread():
    # A fresh interpreter where opening any socket connection fails: import and lookups must not try.
    script = """
import socket, threading
def refuse(*args, **kwargs):
    raise AssertionError("network access attempted")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
from apps.engines.prices import list_price
assert list_price("openai", "gpt-4o") is not None
assert list_price("google", "no-such-model") is None
assert threading.active_count() == 1, threading.enumerate()
print("offline ok")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "offline ok"
