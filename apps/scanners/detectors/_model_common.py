"""Setting validators and small helpers shared by the model-based scanners (prompt_injection, toxicity, topic).

Every validator raises ScannerConfigError with a message that names the setting, so an admin form or the Scanner
API can show it as is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from .base import Action, Direction, ScanContext, ScannerConfigError

ACTIONS: tuple[Action, ...] = ("allow", "flag", "redact", "block")
# A detector that cannot rewrite the text offers no "redact".
DETECT_ACTIONS: tuple[Action, ...] = ("allow", "flag", "block")


def check_threshold(value: Any, name: str = "threshold") -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScannerConfigError(f"{name} must be a number between 0 and 1, got {value!r}")
    value = float(value)
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise ScannerConfigError(f"{name} must be between 0 and 1, got {value!r}")
    return value


def check_action(value: Any, name: str, allowed: Iterable[str] = DETECT_ACTIONS) -> Action:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ScannerConfigError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ScannerConfigError(f"{name} must be true or false, got {value!r}")
    return value


def check_words(value: Any, name: str, *, max_items: int = 1000, max_length: int = 100) -> tuple[str, ...]:
    """A list of admin words or phrases: stripped, non-empty, de-duplicated case-insensitively, order kept."""
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ScannerConfigError(f"{name} must be a list of words, got {type(value).__name__}")
    if len(value) > max_items:
        raise ScannerConfigError(f"{name} has {len(value)} entries; at most {max_items} are allowed")
    words: list[str] = []
    seen: set[str] = set()
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ScannerConfigError(f"{name} entries must be non-empty text, got {item!r}")
        word = " ".join(item.split())
        if len(word) > max_length:
            raise ScannerConfigError(f"{name} entry {word[:20]!r}... is longer than {max_length} characters")
        if word.casefold() not in seen:
            seen.add(word.casefold())
            words.append(word)
    return tuple(words)


def reject_unknown_keys(data: Any, known: Iterable[str], scanner: str) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ScannerConfigError(f"{scanner} settings must be an object, got {type(data).__name__}")
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ScannerConfigError(f"unknown {scanner} setting(s): {', '.join(map(str, unknown))}")
    return data


def direction_of(context: ScanContext | None) -> Direction:
    return context.direction if context is not None else "prompt"


def clamp01(value: float) -> float:
    return 0.0 if value < 0.0 else 1.0 if value > 1.0 else value


def sigmoid(z: float) -> float:
    # Split by sign so that math.exp never overflows on a very confident score.
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)
