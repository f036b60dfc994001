"""OpenAI chat completions, streamed: engines OpenAI, Azure OpenAI, Mistral and LLaMA (any OpenAI-compatible
server). The only module that knows this format's field names."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from urllib.parse import quote

import httpx2

from apps.engines.base import ChatTurn, EngineConfig, EngineError, Finish, TextDelta, Usage
from apps.engines.transport import (
    PreparedRequest,
    as_int,
    decode_json,
    estimated_usage,
    kind_for_status,
    malformed,
    normalized_code,
    open_stream,
    retry_after_seconds,
    safe_message,
    sse_batches,
)

DEFAULT_BASE_URLS = {"openai": "https://api.openai.com/v1", "mistral": "https://api.mistral.ai/v1"}

FINISH_REASONS = {
    "stop": "stop",
    "length": "length",
    "content_filter": "content_filter",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "model_length": "length",  # Mistral, when the model's context is full
}

_DONE = b"[DONE]"
# How long the rest of a body (the end of its chunked encoding) is read for after [DONE].
BODY_END_SECONDS = 1.0
_EMPTY: dict = {}


def azure_endpoint(base_url: str) -> str:
    """The resource endpoint, also when an admin pasted it with the ``/openai`` or ``/openai/v1`` path."""
    endpoint = base_url.strip().rstrip("/")
    for suffix in ("/openai/v1", "/openai"):
        if endpoint.endswith(suffix):
            endpoint = endpoint[: -len(suffix)]
    return endpoint


def build_request(
    config: EngineConfig, *, instructions: str, history: Sequence[ChatTurn], prompt: str
) -> PreparedRequest:
    engine = config.engine
    headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
    body: dict[str, object] = {}
    if engine == "azure-openai":
        endpoint = azure_endpoint(config.base_url)
        headers["api-key"] = config.api_key
        if config.api_version:
            # Classic URL: the deployment picks the model, so the body names none.
            deployment = quote(config.deployment, safe="")
            url = f"{endpoint}/openai/deployments/{deployment}/chat/completions?api-version={quote(config.api_version)}"
        else:
            url = f"{endpoint}/openai/v1/chat/completions"
            body["model"] = config.deployment
    else:
        base = (config.base_url or DEFAULT_BASE_URLS.get(engine, "")).strip().rstrip("/")
        url = f"{base}/chat/completions"
        body["model"] = config.model
        if config.api_key:  # a self-hosted LLaMA server may need none
            headers["Authorization"] = f"Bearer {config.api_key}"
        if engine == "openai" and config.organization:
            headers["OpenAI-Organization"] = config.organization

    messages = [{"role": "system", "content": instructions}] if instructions else []
    messages.extend({"role": turn.role, "content": turn.text} for turn in history)
    messages.append({"role": "user", "content": prompt})
    body["messages"] = messages
    body["stream"] = True
    body["temperature"] = config.temperature
    if config.max_tokens:
        # OpenAI deprecated max_tokens for max_completion_tokens (its reasoning models reject the old name);
        # Azure, Mistral and the OpenAI-compatible servers take max_tokens.
        body["max_completion_tokens" if engine == "openai" else "max_tokens"] = config.max_tokens
    if engine != "mistral":
        # Mistral sends usage on its last chunk unasked; the others only with include_usage.
        body["stream_options"] = {"include_usage": True}
    return PreparedRequest(url=url, headers=headers, body=json.dumps(body, ensure_ascii=False).encode())


def _error_kind(status: int | None, code: str, message: str) -> str:
    if code in ("contentfilter", "contentpolicyviolation", "responsibleaipolicyviolation"):
        return "content_filtered"
    if status is not None:
        return kind_for_status(status)
    if code in ("ratelimitexceeded", "ratelimiterror", "insufficientquota", "429"):
        return "rate_limited"
    if code in ("invalidapikey", "authenticationerror", "401", "403"):
        return "auth"
    if code in ("modelnotfound", "notfounderror", "deploymentnotfound", "404"):
        return "not_found"
    return "provider_error"


def _error_from_object(payload: object, status: int | None, config: EngineConfig) -> EngineError:
    """OpenAI's ``{"error": {message, type, code}}``, Azure's ``{"error": {code, message, innererror}}``,
    Mistral's and vLLM's ``{"message", "type", "code"}``, or ``{"detail": ...}``."""
    message, code = "", ""
    if isinstance(payload, dict):
        error = payload.get("error", payload)
        if isinstance(error, str):
            message = error
        elif isinstance(error, dict):
            message = str(error.get("message") or error.get("detail") or "")
            code = normalized_code(error.get("code")) or normalized_code(error.get("type"))
            inner = error.get("innererror")
            if isinstance(inner, dict) and normalized_code(inner.get("code")) == "responsibleaipolicyviolation":
                code = "contentfilter"
    message = safe_message(message, config) or (f"HTTP {status} from the provider" if status else "provider error")
    return EngineError(_error_kind(status, code, message), message, status=status)


def parse_error(status: int, headers: httpx2.Headers, body: bytes, config: EngineConfig) -> EngineError:
    try:
        payload = json.loads(body) if body else None
    except ValueError:
        payload = None
    error = _error_from_object(payload, status, config)
    if error.kind == "rate_limited":
        error.retry_after = retry_after_seconds(headers)
    return error


def _usage(data: dict) -> Usage:
    details = data.get("prompt_tokens_details")
    cached = as_int(details.get("cached_tokens")) if isinstance(details, dict) else 0
    return Usage(
        input_tokens=as_int(data.get("prompt_tokens")),
        output_tokens=as_int(data.get("completion_tokens")),
        cached_tokens=cached,
    )


async def stream(
    config: EngineConfig, *, instructions: str, history: Sequence[ChatTurn], prompt: str
) -> AsyncIterator[TextDelta | Finish]:
    request = build_request(config, instructions=instructions, history=history, prompt=prompt)
    answer: list[str] = []
    finish_reason: str | None = None
    usage: Usage | None = None
    done = False
    try:
        async with asyncio.timeout(None) as deadline, open_stream(config, request, parse_error) as body:
            async for events in sse_batches(body):
                if done:
                    continue  # the end of the body after [DONE]: read, so that the connection serves the next answer
                for data in events:
                    if data == _DONE:
                        done = True
                        # A server that keeps the body open after [DONE] is not waited for: the connection is
                        # dropped instead of reused.
                        deadline.reschedule(asyncio.get_running_loop().time() + BODY_END_SECONDS)
                        break
                    # One try around the happy path instead of a type check per field: a chunk of the wrong shape
                    # fails on an attribute, index or type, and that is a malformed event.
                    try:
                        chunk = decode_json(data.decode())
                        if chunk.get("error"):
                            raise _error_from_object(chunk, None, config)
                        if raw_usage := chunk.get("usage"):
                            usage = _usage(raw_usage)
                        # Azure's filter frames have an empty choices list: nothing to yield, usage (above) kept.
                        if not (choices := chunk.get("choices")):
                            continue
                        choice = choices[0]
                        text = (choice.get("delta") or _EMPTY).get("content")
                        reason = choice.get("finish_reason")
                    except (ValueError, AttributeError, TypeError, KeyError, IndexError):
                        raise malformed() from None
                    if text:
                        if text.__class__ is not str:
                            raise malformed()
                        answer.append(text)
                        yield TextDelta(text)
                    if reason:
                        finish_reason = str(reason)
    except TimeoutError:
        if not done:
            raise
    if not done and not answer and finish_reason is None:
        raise EngineError("provider_error", "the provider closed the stream before answering")
    if usage is None:  # a cut stream, or a server that ignores include_usage
        usage = estimated_usage(instructions, history, prompt, "".join(answer))
    provider_reason = finish_reason or ""
    yield Finish(reason=FINISH_REASONS.get(provider_reason, "other"), provider_reason=provider_reason, usage=usage)
