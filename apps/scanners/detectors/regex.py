"""Admin-defined regular expressions, run with RE2 so no pattern can hang a worker.

Python's ``re`` backtracks: ``(a+)+$`` against ``"a" * 5000 + "b"`` would run for longer than the universe has
left. RE2 (``google-re2``) guarantees time linear in the text, at the price of refusing what needs backtracking
(back-references, look-arounds); such a pattern is refused when the settings are saved, with RE2's reason.

Each rule: ``name``, ``pattern`` (RE2 syntax; ``(?i)`` for case-insensitive), ``action`` (block, redact or flag),
optional ``replacement`` (a literal string, default ``[REDACTED]``) used by redact, optional ``directions``
(default both prompt and answer). When several rules match, the strongest action wins: block > redact > flag.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import re2

from . import _checks
from .base import Finding, ScanContext, ScannerConfigError, ScanResult

NAME = "regex"
RULE_ACTIONS = ("block", "redact", "flag")
_STRENGTH = {"flag": 1, "redact": 2, "block": 3}
# Findings kept per rule; a flag or block rule stops looking there, a redact rule goes on redacting.
MAX_FINDINGS_PER_RULE = 1000
MAX_RULES = 200
MAX_PATTERN_LENGTH = 2000
# RE2 compiles to an automaton whose memory it bounds; 8 MB keeps one admin's rule from eating a worker.
_RE2_MAX_MEM = 8 << 20


@dataclass(frozen=True)
class RegexRule:
    name: str
    pattern: str
    action: str = "flag"
    replacement: str = "[REDACTED]"
    directions: tuple[str, ...] = ("prompt", "answer")

    @classmethod
    def from_dict(cls, data: Any, index: int) -> RegexRule:
        where = f"rules[{index}]"
        data = _checks.require_mapping(f"{NAME}: {where}", data)
        _checks.reject_unknown_keys(f"{NAME}: {where}", data, cls.__dataclass_fields__)
        for required in ("name", "pattern"):
            if not isinstance(data.get(required), str) or not data[required].strip():
                raise ScannerConfigError(f"{NAME}: {where}: {required} is required and must be a non-empty string")
        name = data["name"].strip()
        if len(name) > 64:
            raise ScannerConfigError(f"{NAME}: {where}: name must be at most 64 characters")
        action = _checks.choice(NAME, f"{where}.action", data.get("action", "flag"), RULE_ACTIONS)
        replacement = data.get("replacement", "[REDACTED]")
        if not isinstance(replacement, str) or len(replacement) > 200:
            raise ScannerConfigError(f"{NAME}: {where}: replacement must be a string of at most 200 characters")
        directions = _checks.string_list(NAME, f"{where}.directions", data.get("directions", ["prompt", "answer"]))
        for direction in directions:
            _checks.choice(NAME, f"{where}.directions", direction, ("prompt", "answer"))
        if not directions:
            raise ScannerConfigError(f"{NAME}: {where}: directions must name prompt, answer or both")
        rule = cls(name, data["pattern"], action, replacement, tuple(directions))
        compile_rule(rule.pattern, rule.name)  # refuse now, at save time, not on the first prompt
        return rule

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "pattern": self.pattern,
            "action": self.action,
            "replacement": self.replacement,
            "directions": list(self.directions),
        }


@lru_cache(maxsize=1024)
def compile_rule(pattern: str, name: str = "pattern") -> Any:
    """Compile with RE2 or raise ScannerConfigError carrying RE2's own reason."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ScannerConfigError(f"{NAME}: {name!r}: pattern is longer than {MAX_PATTERN_LENGTH} characters")
    options = re2.Options()
    options.log_errors = False  # the reason goes into the exception, not to stderr
    options.max_mem = _RE2_MAX_MEM
    try:
        compiled = re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ScannerConfigError(f"{NAME}: {name!r}: RE2 cannot run this pattern: {reason}") from exc
    if compiled.fullmatch("") is not None:
        # A pattern that matches nothing at all would "find" something at every position.
        raise ScannerConfigError(f"{NAME}: {name!r}: the pattern matches the empty string")
    return compiled


@dataclass
class RegexSettings:
    rules: list[RegexRule] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.rules) > MAX_RULES:
            raise ScannerConfigError(f"{NAME}: at most {MAX_RULES} rules are allowed; got {len(self.rules)}")
        names = [rule.name for rule in self.rules]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ScannerConfigError(f"{NAME}: rule names must be unique; repeated: {', '.join(duplicates)}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RegexSettings:
        data = _checks.require_mapping(NAME, data)
        _checks.reject_unknown_keys(NAME, data, ("rules",))
        rules = data.get("rules", [])
        if not isinstance(rules, list):
            raise ScannerConfigError(f"{NAME}: rules must be a list; got {type(rules).__name__}")
        return cls([RegexRule.from_dict(rule, i) for i, rule in enumerate(rules)])

    def to_dict(self) -> dict[str, Any]:
        return {"rules": [rule.to_dict() for rule in self.rules]}


class RegexScanner:
    name = NAME

    def __init__(self, settings: RegexSettings | None = None) -> None:
        self.settings = settings or RegexSettings()
        self._compiled = [(rule, compile_rule(rule.pattern, rule.name)) for rule in self.settings.rules]

    def scan(self, text: str, context: ScanContext | None = None) -> ScanResult:
        started = time.perf_counter()
        text = _checks.require_text(NAME, text)
        context = context or ScanContext()
        findings: list[Finding] = []
        redactions: list[tuple[int, int, str]] = []
        matched: dict[str, int] = {}
        action = "allow"
        truncated = False
        for rule, compiled in self._compiled:
            if context.direction not in rule.directions:
                continue
            count = 0
            for match in compiled.finditer(text):
                start, end = match.start(), match.end()
                if start == end:
                    continue
                count += 1
                if count <= MAX_FINDINGS_PER_RULE:
                    findings.append(Finding(f"REGEX:{rule.name}", start, end, 1.0))
                elif rule.action != "redact":
                    truncated = True
                    break
                if rule.action == "redact":
                    redactions.append((start, end, rule.replacement))
            if count:
                matched[rule.name] = min(count, MAX_FINDINGS_PER_RULE) if rule.action != "redact" else count
                if _STRENGTH[rule.action] > _STRENGTH.get(action, 0):
                    action = rule.action
        findings.sort(key=lambda f: (f.start, f.end))
        return ScanResult(
            scanner=NAME,
            is_valid=action != "block",
            risk_score=1.0 if findings else 0.0,
            threshold=0.5,
            action=action,  # type: ignore[arg-type]
            findings=findings,
            details=({"matches": matched} | ({"truncated": True} if truncated else {})) if matched else {},
            sanitized_text=_apply(text, redactions) if action == "redact" else None,
            latency_ms=_checks.elapsed_ms(started),
        )


def _apply(text: str, redactions: list[tuple[int, int, str]]) -> str:
    # Overlapping matches of different rules: the earliest (then longest) wins, the other is inside it anyway.
    parts: list[str] = []
    cursor = 0
    for start, end, replacement in sorted(redactions, key=lambda r: (r[0], -r[1])):
        if start < cursor:
            cursor = max(cursor, end)
            continue
        parts += [text[cursor:start], replacement]
        cursor = end
    parts.append(text[cursor:])
    return "".join(parts)
