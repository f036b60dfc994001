from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Action = Literal["allow", "flag", "redact", "block"]
Direction = Literal["prompt", "answer"]
SCANNER_NAMES = ("pii", "prompt_injection", "toxicity", "topic", "regex", "geo", "language", "file_type")
AI_SCANNERS = ("prompt_injection", "toxicity", "topic", "language")
GENERAL_SCANNERS = ("pii", "regex", "geo", "file_type")


class ScannerConfigError(ValueError):
    """A setting an admin gave cannot be used (bad regex, threshold outside 0-1, unknown topic ...)."""


@dataclass(frozen=True)
class Finding:
    type: str  # e.g. "EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "INJECTION_PATTERN", "BANNED_TOPIC:weapons"
    start: int  # character offset into the scanned text
    end: int  # exclusive
    score: float  # 0..1


@dataclass
class ScanResult:
    scanner: str
    is_valid: bool  # False when the action taken is "block"
    risk_score: float  # 0..1
    threshold: float
    action: Action  # the action TAKEN ("allow" when nothing was found)
    findings: list[Finding] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)  # never the raw sensitive value for PII
    sanitized_text: str | None = None  # set when action == "redact"
    latency_ms: float = 0.0


@dataclass
class ScanContext:
    direction: Direction = "prompt"
    client_ip: str | None = None  # for geo
    redaction_map: dict[str, str] | None = None  # placeholder -> original, shared within a conversation (pii)


class Scanner(Protocol):
    name: str

    def scan(self, text: str, context: ScanContext) -> ScanResult: ...
