"""The engine interface's types: the settings of one engine, the conversation, and what a stream yields.

Every adapter turns these into its provider's request and the provider's stream back into ``TextDelta``s and
one ``Finish``, or raises ``EngineError``. Nothing here knows a provider's field names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

ENGINE_CHOICES = [
    ("azure-openai", "Azure OpenAI"),
    ("openai", "OpenAI"),
    ("mistral", "Mistral"),
    ("google", "Google AI"),
    ("llama", "LLaMA AI"),
    ("bedrock", "AWS Bedrock"),
]
ENGINES = frozenset(key for key, _ in ENGINE_CHOICES)

FINISH_REASONS = ("stop", "length", "content_filter", "tool_calls", "cancelled", "other")
ERROR_KINDS = ("auth", "not_found", "rate_limited", "content_filtered", "timeout", "provider_error", "bad_config")


@dataclass(frozen=True)
class EngineConfig:
    engine: str
    model: str = ""
    base_url: str = ""
    # Secrets are left out of repr() so that a config printed in a traceback or a log never shows them.
    api_key: str = field(default="", repr=False)
    organization: str = ""
    deployment: str = ""
    api_version: str = ""
    region: str = ""
    access_key_id: str = ""
    secret_access_key: str = field(default="", repr=False)
    session_token: str = field(default="", repr=False)
    temperature: float = 0.7
    max_tokens: int | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 60.0

    def secrets(self) -> tuple[str, ...]:
        """The values that must never appear in an error message or a log line."""
        return tuple(s for s in (self.api_key, self.secret_access_key, self.session_token) if s)


@dataclass(frozen=True)
class ChatTurn:
    role: Literal["user", "assistant"]
    text: str


@dataclass(frozen=True)
class Usage:
    input_tokens: int
    output_tokens: int
    cached_tokens: int = 0
    estimated: bool = False


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class Finish:
    reason: str
    provider_reason: str
    usage: Usage


@dataclass(frozen=True)
class ConnectionCheck:
    text: str
    latency_ms: float
    usage: Usage


class EngineError(Exception):
    """The one error of every engine. ``message`` is safe to show a company admin: the provider's own words
    or a short reason, with any secret of the config masked."""

    def __init__(self, kind: str, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        if kind not in ERROR_KINDS:
            raise ValueError(f"unknown engine error kind {kind!r}")
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"EngineError(kind={self.kind!r}, status={self.status!r}, message={self.message!r})"

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}" if self.status is None else f"{self.kind} ({self.status}): {self.message}"


def estimate_tokens(text: str) -> int:
    """A rough token count for when a provider reports none: about four UTF-8 bytes per token (four characters
    of English; non-Latin scripts take more bytes per character and more tokens), never fewer than the words."""
    if not text:
        return 0
    return max(math.ceil(len(text.encode()) / 4), len(text.split()))
