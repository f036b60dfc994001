"""The OpenAI chat completions format as OpenAI, Azure OpenAI, Mistral and LLaMA servers receive and send it."""

import asyncio
import time

import pytest

from apps.engines.base import Finish, TextDelta, estimate_tokens
from apps.engines.fakes import FAKE_API_KEY, FAKE_DEPLOYMENT, WIRES, Script
from apps.engines.openai_chat import BODY_END_SECONDS
from apps.engines.service import stream_answer
from apps.engines.tests.helpers import collect, error_of
from apps.engines.transport import close_client

MESSAGES = [
    {"role": "system", "content": "Answer briefly."},
    {"role": "user", "content": "What is a risk register?"},
    {"role": "assistant", "content": "A list of risks."},
    {"role": "user", "content": "And a control?"},
]


def test_openai_request_has_bearer_organization_and_max_completion_tokens(make_fake):
    fake = make_fake("openai")

    collect(fake.config(organization="org-acme", temperature=0.2, max_tokens=300))

    request = fake.last
    assert request.method == "POST"
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {FAKE_API_KEY}"
    assert request.headers["openai-organization"] == "org-acme"
    assert request.headers["content-type"] == "application/json"
    assert request.json == {
        "model": "gpt-4o-mini",
        "messages": MESSAGES,
        "stream": True,
        "temperature": 0.2,
        "max_completion_tokens": 300,
        "stream_options": {"include_usage": True},
    }


def test_openai_request_without_instructions_or_max_tokens_sends_neither(make_fake):
    fake = make_fake("openai")

    collect(fake.config(), instructions="", history=(), prompt="Hi")

    assert fake.last.json["messages"] == [{"role": "user", "content": "Hi"}]
    assert "max_completion_tokens" not in fake.last.json
    assert "max_tokens" not in fake.last.json
    assert "openai-organization" not in fake.last.headers


def test_azure_classic_url_names_the_deployment_and_api_version_with_the_api_key_header(make_fake):
    fake = make_fake("azure-openai")

    collect(fake.config(api_version="2024-10-21", max_tokens=100))

    request = fake.last
    assert request.path == f"/openai/deployments/{FAKE_DEPLOYMENT}/chat/completions?api-version=2024-10-21"
    assert request.headers["api-key"] == FAKE_API_KEY
    assert "authorization" not in request.headers
    assert "model" not in request.json  # the deployment picks the model
    assert request.json["messages"] == MESSAGES
    assert request.json["max_tokens"] == 100
    assert request.json["stream_options"] == {"include_usage": True}


def test_azure_empty_api_version_uses_the_v1_url_with_the_deployment_as_model(make_fake):
    fake = make_fake("azure-openai")

    collect(fake.config(api_version=""))

    assert fake.last.path == "/openai/v1/chat/completions"
    assert fake.last.json["model"] == FAKE_DEPLOYMENT
    assert fake.last.headers["api-key"] == FAKE_API_KEY


def test_azure_endpoint_pasted_with_the_openai_path_still_works(make_fake):
    fake = make_fake("azure-openai")

    deltas, _finish = collect(fake.config(base_url=f"{fake.origin}/openai/"))

    assert deltas
    assert fake.last.url_path == f"/openai/deployments/{FAKE_DEPLOYMENT}/chat/completions"


def test_azure_filter_frames_are_skipped_and_the_usage_frame_is_kept(make_fake):
    fake = make_fake("azure-openai", script=Script(text="Filtered but fine.", filter_frames=True, input_tokens=9))

    deltas, finish = collect(fake.config())

    assert "".join(deltas) == "Filtered but fine."
    assert finish.usage.input_tokens == 9
    assert finish.usage.estimated is False


def test_azure_unknown_deployment_is_not_found_with_azure_message(make_fake):
    fake = make_fake("azure-openai")

    error = error_of(fake.config(deployment="no-such-deployment"))

    assert error.kind == "not_found"
    assert "deployment for this resource does not exist" in error.message


def test_azure_filtered_prompt_is_content_filtered(make_fake):
    fake = make_fake("azure-openai", script=Script(status=400, error_code="content_filter"))

    error = error_of(fake.config())

    assert error.kind == "content_filtered"
    assert error.status == 400
    assert "content management policy" in error.message


def test_azure_rate_limit_reads_retry_after_ms(make_fake):
    fake = make_fake("azure-openai", script=Script(status=429, retry_after="1.5"))

    error = error_of(fake.config())

    assert error.kind == "rate_limited"
    assert error.retry_after == 1.5


def test_mistral_request_uses_max_tokens_and_no_stream_options(make_fake):
    fake = make_fake("mistral")

    collect(fake.config(max_tokens=64))

    assert fake.last.path == "/v1/chat/completions"
    assert fake.last.headers["authorization"] == f"Bearer {FAKE_API_KEY}"
    assert fake.last.json == {
        "model": "mistral-small-latest",
        "messages": MESSAGES,
        "stream": True,
        "temperature": 0.7,
        "max_tokens": 64,
    }


def test_mistral_usage_comes_on_the_last_chunk(make_fake):
    fake = make_fake("mistral", script=Script(text="Un deux trois", input_tokens=15))

    _deltas, finish = collect(fake.config())

    assert finish.usage.input_tokens == 15
    assert finish.usage.output_tokens == 3
    assert finish.usage.estimated is False


def test_mistral_error_body_message_is_shown(make_fake):
    fake = make_fake("mistral", script=Script(status=404))

    error = error_of(fake.config(model="mistral-unknown"))

    assert error.kind == "not_found"
    assert error.message == "Invalid model: mistral-unknown"


def test_llama_without_a_key_sends_no_authorization(make_fake):
    fake = make_fake("llama", api_key="")

    deltas, _finish = collect(fake.config(api_key=""))

    assert deltas
    assert "authorization" not in fake.last.headers
    assert fake.last.json["stream_options"] == {"include_usage": True}


def test_llama_server_ignoring_include_usage_gets_estimated_usage(make_fake):
    fake = make_fake("llama", script=Script(text="four words right here", send_usage=False))

    _deltas, finish = collect(fake.config())

    assert finish.reason == "stop"
    assert finish.usage.estimated is True
    assert finish.usage.output_tokens == estimate_tokens("four words right here")


def test_openai_invalid_key_message_is_the_providers(make_fake):
    fake = make_fake("openai")

    error = error_of(fake.config(api_key="sk-wrong"))

    assert error.kind == "auth"
    assert error.status == 401
    assert error.message.startswith("Incorrect API key provided")


def test_event_that_is_not_json_is_a_provider_error(make_fake):
    fake = make_fake("openai", script=Script(garbage="data: {not json\n\n"))

    error = error_of(fake.config())

    assert error.kind == "provider_error"
    assert "malformed" in error.message


async def _answers(config, count: int) -> list[tuple[str, float]]:
    """``count`` answers one after another in one event loop (one HTTP client): their text and duration."""
    results = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            events = [event async for event in stream_answer(config, instructions="", history=(), prompt="Hi")]
            assert isinstance(events[-1], Finish)
            text = "".join(e.text for e in events if isinstance(e, TextDelta))
            results.append((text, time.perf_counter() - started))
    finally:
        await close_client()
    return results


@pytest.mark.parametrize("wire", WIRES)
def test_answers_reuse_the_providers_connection(make_fake, wire):
    """After [DONE] the rest of the body is read, so the connection goes back to the pool (a new one would cost
    a TCP and TLS handshake with the provider before every first token)."""
    fake = make_fake(wire, script=Script(text="One two three."))

    results = asyncio.run(_answers(fake.config(), 3))

    assert [text for text, _ in results] == ["One two three."] * 3
    assert fake.connections == 1


def test_a_server_that_keeps_the_body_open_after_done_is_not_waited_for(make_fake):
    fake = make_fake("openai", script=Script(text="One two three.", hold_open=5.0))

    results = asyncio.run(_answers(fake.config(), 2))

    assert [text for text, _ in results] == ["One two three."] * 2
    # Each answer ended BODY_END_SECONDS after [DONE], not when the server ended its body; the connection was
    # dropped rather than reused.
    assert all(BODY_END_SECONDS <= seconds < BODY_END_SECONDS + 2 for _, seconds in results)
    assert fake.connections == 2
