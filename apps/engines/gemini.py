"""Google AI (Gemini API) ``streamGenerateContent`` with ``alt=sse``: engine Google AI. The only module that
knows this format's field names."""

from __future__ import annotations

import json
import re
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
    open_stream,
    retry_after_seconds,
    safe_message,
    sse_batches,
)

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"

FINISH_REASONS = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "MALFORMED_FUNCTION_CALL": "tool_calls",
}

_STATUS_KINDS = {
    "UNAUTHENTICATED": "auth",
    "PERMISSION_DENIED": "auth",
    "NOT_FOUND": "not_found",
    "RESOURCE_EXHAUSTED": "rate_limited",
    "DEADLINE_EXCEEDED": "timeout",
}
_SECONDS = re.compile(r"^(\d+(?:\.\d+)?)s$")


def build_request(
    config: EngineConfig, *, instructions: str, history: Sequence[ChatTurn], prompt: str
) -> PreparedRequest:
    base = (config.base_url or DEFAULT_BASE_URL).strip().rstrip("/")
    model = config.model.removeprefix("models/")
    url = f"{base}/v1beta/models/{quote(model, safe='')}:streamGenerateContent?alt=sse"
    contents = [
        {"role": "model" if turn.role == "assistant" else "user", "parts": [{"text": turn.text}]} for turn in history
    ]
    contents.append({"role": "user", "parts": [{"text": prompt}]})
    body: dict[str, object] = {"contents": contents}
    if instructions:
        body["systemInstruction"] = {"parts": [{"text": instructions}]}
    generation: dict[str, object] = {"temperature": config.temperature}
    if config.max_tokens:
        generation["maxOutputTokens"] = config.max_tokens
    body["generationConfig"] = generation
    headers = {"Content-Type": "application/json", "Accept": "text/event-stream", "x-goog-api-key": config.api_key}
    return PreparedRequest(url=url, headers=headers, body=json.dumps(body, ensure_ascii=False).encode())


def _error_from_object(payload: object, status: int | None, config: EngineConfig) -> EngineError:
    """``{"error": {code, message, status, details: [ErrorInfo{reason}, RetryInfo{retryDelay}]}}``."""
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        error = {}
    message = safe_message(str(error.get("message") or ""), config) or (
        f"HTTP {status} from the provider" if status else "provider error"
    )
    # Mid-stream errors have no HTTP status of their own, but carry the code they would have had.
    status_for_kind = error["code"] if status is None and isinstance(error.get("code"), int) else status
    kind = _STATUS_KINDS.get(str(error.get("status") or ""))
    retry_after = None
    details = error.get("details")
    for detail in details if isinstance(details, list) else ():
        if not isinstance(detail, dict):
            continue
        # A bad key is a 400 INVALID_ARGUMENT whose ErrorInfo says why.
        if detail.get("reason") in ("API_KEY_INVALID", "API_KEY_SERVICE_BLOCKED"):
            kind = "auth"
        if isinstance(delay := detail.get("retryDelay"), str) and (match := _SECONDS.match(delay)):
            retry_after = float(match.group(1))
    if kind is None:
        kind = kind_for_status(status_for_kind) if status_for_kind else "provider_error"
    return EngineError(kind, message, status=status, retry_after=retry_after if kind == "rate_limited" else None)


def parse_error(status: int, headers: httpx2.Headers, body: bytes, config: EngineConfig) -> EngineError:
    try:
        payload = json.loads(body) if body else None
    except ValueError:
        payload = None
    error = _error_from_object(payload, status, config)
    if error.kind == "rate_limited" and error.retry_after is None:
        error.retry_after = retry_after_seconds(headers)
    return error


def _usage(data: dict) -> Usage:
    # Thinking tokens are billed as output.
    return Usage(
        input_tokens=as_int(data.get("promptTokenCount")),
        output_tokens=as_int(data.get("candidatesTokenCount")) + as_int(data.get("thoughtsTokenCount")),
        cached_tokens=as_int(data.get("cachedContentTokenCount")),
    )


async def stream(
    config: EngineConfig, *, instructions: str, history: Sequence[ChatTurn], prompt: str
) -> AsyncIterator[TextDelta | Finish]:
    request = build_request(config, instructions=instructions, history=history, prompt=prompt)
    answer: list[str] = []
    finish_reason: str | None = None
    last_usage: dict | None = None
    async with open_stream(config, request, parse_error) as body:
        # No [DONE]: the end of the body ends the stream.
        async for events in sse_batches(body):
            for data in events:
                try:
                    response = decode_json(data.decode())
                except ValueError:
                    raise malformed() from None
                if not isinstance(response, dict):
                    raise malformed()
                if "error" in response:
                    raise _error_from_object(response, None, config)
                if isinstance(raw_usage := response.get("usageMetadata"), dict):
                    last_usage = raw_usage  # a running snapshot: the last one counts
                candidates = response.get("candidates")
                if not candidates:
                    feedback = response.get("promptFeedback")
                    if isinstance(feedback, dict) and feedback.get("blockReason"):
                        reason = safe_message(str(feedback["blockReason"]), config)
                        raise EngineError("content_filtered", f"the provider blocked the prompt ({reason})")
                    continue
                if not isinstance(candidates, list) or not isinstance(candidates[0], dict):
                    raise malformed()
                candidate = candidates[0]
                content = candidate.get("content")
                parts = content.get("parts") if isinstance(content, dict) else None
                for part in parts if isinstance(parts, list) else ():
                    # Thought summaries (part.thought) are not the answer.
                    if isinstance(part, dict) and (text := part.get("text")) and not part.get("thought"):
                        if not isinstance(text, str):
                            raise malformed()
                        answer.append(text)
                        yield TextDelta(text)
                if reason := candidate.get("finishReason"):
                    finish_reason = str(reason)
    if not answer and finish_reason is None:
        raise EngineError("provider_error", "the provider closed the stream before answering")
    usage = _usage(last_usage) if last_usage is not None else None
    if finish_reason is None or usage is None:
        # Cut before the last frame: the snapshot so far undercounts, so estimate (and say so).
        estimate = estimated_usage(instructions, history, prompt, "".join(answer))
        if usage is not None:
            estimate = Usage(
                input_tokens=usage.input_tokens or estimate.input_tokens,
                output_tokens=max(usage.output_tokens, estimate.output_tokens),
                cached_tokens=usage.cached_tokens,
                estimated=True,
            )
        usage = estimate
    provider_reason = finish_reason or ""
    yield Finish(reason=FINISH_REASONS.get(provider_reason, "other"), provider_reason=provider_reason, usage=usage)
