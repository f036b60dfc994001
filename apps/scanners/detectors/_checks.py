"""Small validators shared by the settings dataclasses of the detection scanners.

Every failure raises ScannerConfigError with a message an admin can act on: the scanner, the setting, what was
given and what is accepted. They are used by ``Settings.from_dict`` and ``Settings.__post_init__`` so a settings
object can never exist in an unusable state.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from .base import ScannerConfigError


def require_mapping(scanner: str, data: Any) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ScannerConfigError(f"{scanner}: settings must be an object, got {type(data).__name__}")
    return data


def reject_unknown_keys(scanner: str, data: Mapping[str, Any], known: Iterable[str]) -> None:
    known = set(known)
    unknown = sorted(str(key) for key in data if key not in known)
    if unknown:
        raise ScannerConfigError(
            f"{scanner}: unknown setting(s) {', '.join(unknown)}; known settings: {', '.join(sorted(known))}"
        )


def choice(scanner: str, name: str, value: Any, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    if not isinstance(value, str) or value not in allowed:
        raise ScannerConfigError(f"{scanner}: {name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def boolean(scanner: str, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ScannerConfigError(f"{scanner}: {name} must be true or false; got {value!r}")
    return value


def fraction(scanner: str, name: str, value: Any) -> float:
    # bool is an int subclass: True must not pass as 1.0
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= float(value) <= 1.0:
        raise ScannerConfigError(f"{scanner}: {name} must be a number between 0 and 1; got {value!r}")
    return float(value)


def positive_int(scanner: str, name: str, value: Any, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise ScannerConfigError(f"{scanner}: {name} must be a whole number between 1 and {maximum}; got {value!r}")
    return value


def string_list(scanner: str, name: str, value: Any, *, max_items: int = 1000, max_length: int = 200) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
        raise ScannerConfigError(f"{scanner}: {name} must be a list of strings; got {value!r}")
    if len(value) > max_items:
        raise ScannerConfigError(f"{scanner}: {name} has {len(value)} entries; at most {max_items} are allowed")
    too_long = [item for item in value if len(item) > max_length]
    if too_long:
        raise ScannerConfigError(f"{scanner}: {name} entries must be at most {max_length} characters long")
    return list(value)


def require_text(scanner: str, text: Any) -> str:
    """Scanners take str; bytes or None are a programming error upstream, so say so instead of guessing."""
    if not isinstance(text, str):
        raise TypeError(f"{scanner}: scan() takes text as str, got {type(text).__name__}")
    return text


def elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
