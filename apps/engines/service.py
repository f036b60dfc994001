"""The engine interface used by agents and chat: stream an answer, check a connection, validate settings.

    async with contextlib.aclosing(stream_answer(config, instructions=..., history=..., prompt=...)) as events:
        async for event in events:   # TextDelta..., then exactly one Finish
            ...

Closing the generator early (``aclose()``, or cancelling the task that iterates it) closes the upstream HTTP
response, so a user who stops an answer stops paying for it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import aclosing
from dataclasses import replace
from urllib.parse import urlsplit

from apps.engines import bedrock, gemini, openai_chat
from apps.engines.base import (
    ENGINE_CHOICES,
    ENGINES,
    ChatTurn,
    ConnectionCheck,
    EngineConfig,
    EngineError,
    Finish,
    TextDelta,
    estimate_tokens,
)

__all__ = ["check_connection", "estimate_tokens", "stream_answer", "validate_config"]

_Adapter = Callable[..., AsyncIterator[TextDelta | Finish]]
_ADAPTERS: dict[str, _Adapter] = {
    "openai": openai_chat.stream,
    "azure-openai": openai_chat.stream,
    "mistral": openai_chat.stream,
    "llama": openai_chat.stream,
    "google": gemini.stream,
    "bedrock": bedrock.stream,
}

# (field, label) that each engine cannot do without. Bedrock's credentials are checked separately.
_REQUIRED: dict[str, tuple[tuple[str, str], ...]] = {
    "openai": (("model", "Model"), ("api_key", "API key")),
    "azure-openai": (("base_url", "Endpoint"), ("deployment", "Deployment name"), ("api_key", "API key")),
    "mistral": (("model", "Model"), ("api_key", "API key")),
    "google": (("model", "Model"), ("api_key", "API key")),
    "llama": (("base_url", "Base URL"), ("model", "Model")),
    "bedrock": (("region", "Region"), ("model", "Model id")),
}

CHECK_PROMPT = "Reply with the single word OK."
CHECK_MAX_TOKENS = 16


def validate_config(config: EngineConfig) -> list[str]:
    """Human messages for every problem that makes the config unusable; empty when it is fine."""
    if config.engine not in ENGINES:
        choices = ", ".join(key for key, _ in ENGINE_CHOICES)
        return [f"Unknown engine {config.engine!r}; choose one of {choices}."]
    errors = [f"{label} is required." for name, label in _REQUIRED[config.engine] if not getattr(config, name).strip()]
    if config.engine == "bedrock" and not config.api_key and not (config.access_key_id and config.secret_access_key):
        errors.append("A Bedrock API key, or an access key id and a secret access key, is required.")
    if config.base_url.strip():
        parts = urlsplit(config.base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            errors.append("The base URL must be an http:// or https:// URL with a host.")
    if not 0.0 <= config.temperature <= 2.0:
        errors.append("The temperature must be between 0 and 2.")
    if config.max_tokens is not None and config.max_tokens < 1:
        errors.append("The maximum answer tokens must be at least 1.")
    if config.connect_timeout <= 0 or config.read_timeout <= 0:
        errors.append("Timeouts must be positive.")
    return errors


def stream_answer(
    config: EngineConfig, *, instructions: str, history: Sequence[ChatTurn], prompt: str
) -> AsyncIterator[TextDelta | Finish]:
    """An async generator of the answer's text deltas, then exactly one ``Finish``; it raises ``EngineError``
    (a bad config on the first iteration, before any request). It is the adapter's own generator, not a
    wrapper around it: one hop less per delta, and closing it closes the upstream response directly."""
    if errors := validate_config(config):
        return _raising(EngineError("bad_config", " ".join(errors)))
    adapter = _ADAPTERS[config.engine]
    return adapter(config, instructions=instructions, history=tuple(history), prompt=prompt)


async def _raising(error: EngineError) -> AsyncIterator[TextDelta | Finish]:
    # An async generator (the unreachable yield), so that the error comes on iteration, as an adapter's would.
    raise error
    yield


async def check_connection(config: EngineConfig) -> ConnectionCheck:
    """Send a tiny prompt through the real adapter: the answer, the round trip and the usage, or EngineError."""
    config = replace(config, max_tokens=min(config.max_tokens or CHECK_MAX_TOKENS, CHECK_MAX_TOKENS))
    started = time.perf_counter()
    text: list[str] = []
    finish: Finish | None = None
    async with aclosing(stream_answer(config, instructions="", history=(), prompt=CHECK_PROMPT)) as events:
        async for event in events:
            if isinstance(event, TextDelta):
                text.append(event.text)
            else:
                finish = event
    if finish is None:  # the adapters always finish or raise; this guards the contract
        raise EngineError("provider_error", "the provider's answer did not finish")
    latency_ms = (time.perf_counter() - started) * 1000.0
    return ConnectionCheck(text="".join(text), latency_ms=round(latency_ms, 1), usage=finish.usage)
