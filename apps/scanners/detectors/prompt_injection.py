"""Prompt injection and jailbreak detection: a curated pattern list plus a small linear classifier.

The patterns find the well-known shapes (instruction override, role play / DAN, system prompt extraction, fake chat
delimiters, hidden characters and encoding tricks) and give their positions. The classifier is a logistic regression
over word unigrams/bigrams and character 3-5-grams, trained by ``apps/scanners/training/train_prompt_injection.py``
on public labelled data (see ``models/README.md``); it runs in pure Python from ``models/prompt_injection.json``.

risk_score = max(classifier probability, strongest pattern weight). A text longer than LONG_TEXT_CHARS is judged by
the patterns only unless ``classifier_long_texts`` is set (the classifier cannot judge long prose, see below);
then it is scored in overlapping windows and the worst window counts, so an injection buried in a long paste is not
diluted by the text around it.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._model_common import (
    check_action,
    check_bool,
    check_threshold,
    clamp01,
    direction_of,
    reject_unknown_keys,
    sigmoid,
)
from .base import Action, Finding, ScanContext, ScannerConfigError, ScanResult

MODEL_PATH = Path(__file__).parent / "models" / "prompt_injection.json"
FINDING_TYPE = "INJECTION_PATTERN"

# Classifier windows: long enough to hold a whole injection sentence with its context, overlapping so that one
# split across a window edge is still seen whole in the next window.
WINDOW_CHARS = 1000
WINDOW_STRIDE = 750
MAX_CLASSIFIER_CHARS = 100_000  # the default of max_classifier_chars
# The classifier learned from prompts (every public row is under 200 characters) and cannot judge longer prose: it
# scores most standard-library module docstrings of 300+ characters above 0.5. Unless classifier_long_texts is set,
# on a text longer than this its score is reported but does not count, and the patterns decide.
LONG_TEXT_CHARS = 300
CHAR_NGRAMS = (3, 4, 5)

_WORD_RE = re.compile(r"\w+")
# Digits and symbols that stand in for letters ("1gn0re prev1ous"): mapped one to one so offsets do not move.
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})


# E-mail addresses and links say nothing about intent, but their characters are rare in the training data and
# pushed ordinary prompts over the threshold ("Also copy bob@example.com." 0.52): the classifier sees a stand-in.
_EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")  # starts only where a run starts: linear
_URL_RE = re.compile(r"\bhttps?://\S+|\bwww\.\S+")


def classifier_features(text: str) -> set[str]:
    """The classifier's binary features; the training script imports this so both sides agree exactly."""
    text = _URL_RE.sub(" link ", _EMAIL_RE.sub(" address ", text))
    folded = " ".join(text.casefold().split())
    words = _WORD_RE.findall(folded)
    features = {"w:" + w for w in words}
    features.update("b:" + a + " " + b for a, b in itertools.pairwise(words))
    padded = f" {folded} "
    for n in CHAR_NGRAMS:
        features.update(padded[i : i + n] for i in range(len(padded) - n + 1))
    return features


@dataclass(frozen=True)
class _Pattern:
    category: str
    weight: float
    regex: re.Pattern[str]
    # At least one of these (lower-case) must occur in the text for the regex to be worth running: a cheap
    # substring test that keeps a 1 MB paste from paying for every pattern.
    keywords: tuple[str, ...]
    case_sensitive: bool = False


def _p(category: str, weight: float, pattern: str, keywords: str, *, case_sensitive: bool = False) -> _Pattern:
    # Case-insensitive patterns are written in lower case and run on the lower-cased text: much faster than
    # re.IGNORECASE. (Texts whose lower-casing changes length fall back to IGNORECASE, see _pattern_hits.)
    return _Pattern(category, weight, re.compile(pattern, re.S), tuple(keywords.split("|")), case_sensitive)


_TARGETS = (
    r"(?:instructions?|directives?|rules|guidelines|prompts?|commands|constraints|restrictions|programming|"
    r"guardrails?|policies|safeguards)"
)
_QUALIFIED = r"(?:previous|prior|above|earlier|preceding|former|original|initial|system|safety|developer)"
_OVERRIDE_VERBS = "ignor|disregard|forget|skip|overrid|bypass|neglect|drop"

# Weights are the risk a match alone carries: >= 0.5 blocks at the default threshold, lower ones are signals
# that only count when the threshold is lowered (they show in details["signals"]).
PATTERNS: tuple[_Pattern, ...] = (
    # -- instruction override
    _p(
        "instruction_override",
        0.95,
        rf"\b(?:ignore|disregard|forget|skip|override|bypass|neglect|drop)\s+(?:(?:all|any|the|your|my|these|"
        rf"those|every|of)\s+)*{_QUALIFIED}\s+(?:\w+\s+)?{_TARGETS}\b",
        _OVERRIDE_VERBS,
    ),
    _p(
        "instruction_override",
        0.8,
        rf"\b(?:ignore|disregard|forget|override|bypass)\s+(?:all\s+(?:of\s+)?)?your\s+{_TARGETS}\b",
        _OVERRIDE_VERBS,
    ),
    _p(
        "instruction_override",
        0.45,
        rf"\b(?:ignore|disregard|forget|override|bypass)\s+(?:all\s+|any\s+)?(?:these|those|the|all|any)\s+"
        rf"{_TARGETS}\b",
        _OVERRIDE_VERBS,
    ),
    _p(
        "instruction_override",
        0.85,
        rf"\b(?:do\s+not|don't|stop)\s+follow(?:ing)?\s+(?:your|the|any)\s+{_TARGETS}",
        "follow",
    ),
    _p("instruction_override", 0.8, r"\bnew\s+(?:system\s+)?instructions?\s*:", "instruction"),
    _p(
        "instruction_override",
        0.6,
        r"\byour\s+(?:new|real|true|only)\s+(?:task|goal|purpose|instructions?)\s+is\b",
        "task|goal|purpose|instruction",
    ),
    _p(
        "instruction_override",
        0.9,
        r"\bignoriere\s+(?:alle\s+)?(?:vorherigen|bisherigen|obigen)\s+anweisungen\b",
        "ignoriere",
    ),
    _p(
        "instruction_override",
        0.9,
        r"\bignore[rz]?\s+(?:toutes\s+)?les\s+instructions\s+(?:pr[ée]c[ée]dentes|ci-dessus)",
        "instructions",
    ),
    _p(
        "instruction_override",
        0.9,
        r"\bignora\s+(?:todas\s+)?las\s+instrucciones\s+(?:anteriores|previas)\b",
        "instrucciones",
    ),
    # -- role play / DAN / developer mode
    _p(
        "role_play",
        0.9,
        r"\bDAN\b(?=.{0,200}\b(?:[Dd]o\s+[Aa]nything|[Jj]ailbr|[Nn]o\s+(?:rules|restrictions|limits)))",
        "dan",
        case_sensitive=True,
    ),
    _p("role_play", 0.9, r"\bdo\s+anything\s+now\b", "anything"),
    _p(
        "role_play",
        0.85,
        r"\b(?:developer|god|jailbreak|unrestricted|evil|dude)\s+mode\s+(?:is\s+)?(?:now\s+)?(?:enabled|activated)\b",
        "mode",
    ),
    _p("role_play", 0.4, r"\b(?:developer|god|jailbreak|unrestricted|evil|dude)\s+mode\b", "mode"),
    _p(
        "role_play",
        0.85,
        r"\b(?:pretend|act|behave|roleplay|role-play|imagine)\b.{0,80}?\b(?:no|without|free\s+(?:of|from)|any)\s+"
        r"(?:\w+\s+){0,2}(?:restrictions?|rules|filters?|limits|limitations|guidelines|ethics|morals|censorship|"
        r"boundaries)\b",
        "pretend|act|behave|roleplay|role-play|imagine",
    ),
    _p(
        "role_play",
        0.85,
        r"\byou\s+are\s+(?:now\s+)?(?:an?\s+)?(?:unrestricted|unfiltered|uncensored|jailbroken)\b",
        "unrestricted|unfiltered|uncensored|jailbroken",
    ),
    _p(
        "role_play",
        0.7,
        r"\b(?:no|without)\s+(?:any\s+)?(?:ethical|moral|content|safety)\s+(?:restrictions|guidelines|filters|"
        r"limits|constraints)\b",
        "ethical|moral|content|safety",
    ),
    _p("role_play", 0.4, r"\bjailbr(?:eak|oken)\b", "jailbr"),
    # -- system prompt extraction
    _p(
        "system_prompt_extraction",
        0.9,
        r"\b(?:reveal|show|print|display|output|repeat|tell|give|share|leak|dump|what\s+(?:is|are|was|were))\s+"
        r"(?:me\s+|us\s+)?(?:your|the)\s+(?:(?:full|entire|original|initial|hidden|secret|exact|complete)\s+)*"
        r"(?:system\s+prompt|system\s+message|initial\s+prompt|hidden\s+prompt|pre-?prompt|meta[- ]?prompt)",
        "prompt|message",
    ),
    _p(
        "system_prompt_extraction",
        0.8,
        r"\b(?:reveal|show|print|display|output|repeat|dump|leak)\s+(?:me\s+)?your\s+(?:(?:full|original|"
        r"initial|hidden|secret|exact)\s+)*(?:instructions|guidelines|rules|configuration|directives)\b",
        "instructions|guidelines|rules|configuration|directives",
    ),
    _p(
        "system_prompt_extraction",
        0.85,
        r"\brepeat\s+(?:everything|all|the\s+(?:text|words))\s+(?:above|before)",
        "repeat",
    ),
    _p(
        "system_prompt_extraction",
        0.8,
        r"\bwhat\s+(?:were|are)\s+you\s+(?:told|instructed)\s+(?:before|initially|at\s+the\s+start)",
        "told|instructed",
    ),
    # -- fake chat-template delimiters and role turns
    _p(
        "delimiter",
        0.9,
        r"<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id)\|>",
        "<|",
    ),
    _p("delimiter", 0.85, r"\[/?(?:inst|sys)\]|<</?sys>>", "[inst]|[/inst]|[sys]|[/sys]|<<sys>>|<</sys>>"),
    _p(
        "delimiter",
        0.7,
        r"\bend\s+of\s+(?:the\s+)?(?:system\s+)?(?:prompt|instructions)\b",
        "prompt|instructions",
    ),
    _p(
        "delimiter",
        0.45,
        r"(?m)^\s*(?:#{2,}\s*|-{3,}\s*|={3,}\s*)?(?:system|assistant)\s*(?:prompt|message)?\s*:",
        "system|assistant",
    ),
    # -- hidden characters and encoding tricks
    _p(
        "encoding",
        0.6,
        r"[\u202a-\u202e\u2066-\u2069]+",
        "\u202a|\u202b|\u202c|\u202d|\u202e|\u2066|\u2067|\u2068|\u2069",
    ),
    _p("encoding", 0.6, r"\w[\u200b\u2060-\u2064\ufeff]+\w", "\u200b|\u2060|\u2061|\u2062|\u2063|\u2064|\ufeff"),
    _p(
        "encoding",
        0.8,
        r"\b(?:decode|base64|rot13|rot-13|hex)\b.{0,60}?\b(?:and|then)\s+(?:follow|execute|run|obey|do)\b",
        "decode|base64|rot13|rot-13|hex",
    ),
    _p("encoding", 0.3, r"[a-z0-9+/]{120,}={0,2}", ""),
    # -- refusal suppression
    _p(
        "refusal_suppression",
        0.7,
        r"\byou\s+(?:must|will|shall|should|can)\s*(?:never|not)\s+(?:refuse|decline|say\s+no)\b",
        "refuse|decline|say no",
    ),
    _p(
        "refusal_suppression",
        0.6,
        r"\bwithout\s+(?:any\s+)?(?:warnings?|disclaimers?|refus\w+|censorship)\b.{0,40}\b(?:answer|respond|reply)",
        "warning|disclaimer|refus|censorship",
    ),
)
_IGNORECASE = {id(p): re.compile(p.regex.pattern, re.S | re.I) for p in PATTERNS if not p.case_sensitive}


@functools.cache
def load_model(path: Path = MODEL_PATH) -> tuple[dict[str, float], float, dict[str, Any]]:
    """(feature weights, bias, metadata), read once per process."""
    with path.open(encoding="utf-8") as fh:
        data = json.load(fh)
    return data["weights"], float(data["bias"]), data.get("meta", {})


def classifier_probability(text: str, weights: dict[str, float], bias: float) -> float:
    """Logistic regression on L2-normalised binary features: sigmoid(b + sum(w) / sqrt(n))."""
    features = classifier_features(text)
    if not features:
        return sigmoid(bias)
    total = sum(weights.get(f, 0.0) for f in features)
    return sigmoid(bias + total / math.sqrt(len(features)))


# Patterns run chunk by chunk so that the keyword test skips the chunks that cannot match; chunks overlap by more
# than the longest pattern match, so a match across a chunk edge is still found whole.
PATTERN_CHUNK = 4000
PATTERN_OVERLAP = 400


def _chunks(text: str) -> list[tuple[int, int]]:
    if len(text) <= PATTERN_CHUNK + PATTERN_OVERLAP:
        return [(0, len(text))]
    return [(i, min(i + PATTERN_CHUNK + PATTERN_OVERLAP, len(text))) for i in range(0, len(text), PATTERN_CHUNK)]


def windows(text: str, limit: int) -> list[tuple[int, int]]:
    end_of_scan = min(len(text), limit)
    if end_of_scan <= WINDOW_CHARS:
        return [(0, end_of_scan)]
    spans = []
    start = 0
    while start < end_of_scan:
        spans.append((start, min(start + WINDOW_CHARS, end_of_scan)))
        if start + WINDOW_CHARS >= end_of_scan:
            break
        start += WINDOW_STRIDE
    return spans


@dataclass(frozen=True)
class PromptInjectionSettings:
    threshold: float = 0.5
    prompt_action: Action = "block"
    answer_action: Action = "flag"
    use_patterns: bool = True
    use_classifier: bool = True
    # Let the classifier decide on texts longer than LONG_TEXT_CHARS too (long pastes, uploaded files' text).
    classifier_long_texts: bool = False
    # The classifier reads at most this many characters (the patterns always read the whole text).
    max_classifier_chars: int = MAX_CLASSIFIER_CHARS

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> PromptInjectionSettings:
        d = reject_unknown_keys(d, cls.__dataclass_fields__, "prompt_injection")
        base = cls()
        max_chars = d.get("max_classifier_chars", base.max_classifier_chars)
        if isinstance(max_chars, bool) or not isinstance(max_chars, int) or not 1_000 <= max_chars <= 1_000_000:
            raise ScannerConfigError(
                f"max_classifier_chars must be a whole number from 1000 to 1000000, got {max_chars!r}"
            )
        return cls(
            threshold=check_threshold(d.get("threshold", base.threshold)),
            prompt_action=check_action(d.get("prompt_action", base.prompt_action), "prompt_action"),
            answer_action=check_action(d.get("answer_action", base.answer_action), "answer_action"),
            use_patterns=check_bool(d.get("use_patterns", base.use_patterns), "use_patterns"),
            use_classifier=check_bool(d.get("use_classifier", base.use_classifier), "use_classifier"),
            classifier_long_texts=check_bool(
                d.get("classifier_long_texts", base.classifier_long_texts), "classifier_long_texts"
            ),
            max_classifier_chars=max_chars,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "prompt_action": self.prompt_action,
            "answer_action": self.answer_action,
            "use_patterns": self.use_patterns,
            "use_classifier": self.use_classifier,
            "classifier_long_texts": self.classifier_long_texts,
            "max_classifier_chars": self.max_classifier_chars,
        }


class PromptInjectionScanner:
    name = "prompt_injection"

    def __init__(self, settings: PromptInjectionSettings | None = None) -> None:
        self.settings = settings or PromptInjectionSettings()
        if self.settings.use_classifier:
            self._weights, self._bias, _ = load_model()

    def _pattern_hits(self, text: str) -> list[tuple[_Pattern, int, int]]:
        hits: dict[tuple[str, int, int], tuple[_Pattern, int, int]] = {}
        variants = [text]
        leet = text.translate(_LEET)
        if leet != text:
            variants.append(leet)
        for variant in variants:
            lowered = variant.lower()
            same_offsets = len(lowered) == len(variant)
            for start, end in _chunks(variant):
                chunk_lower = lowered[start:end] if same_offsets else variant[start:end].lower()
                for pattern in PATTERNS:
                    if pattern.keywords != ("",) and not any(k in chunk_lower for k in pattern.keywords):
                        continue
                    if pattern.case_sensitive:
                        matches = pattern.regex.finditer(variant, start, end)
                    elif same_offsets:
                        matches = pattern.regex.finditer(lowered, start, end)
                    else:  # lower-casing moved offsets (e.g. "İ"): match the original case-insensitively
                        matches = _IGNORECASE[id(pattern)].finditer(variant, start, end)
                    for m in matches:
                        key = (pattern.category, m.start(), m.end())
                        if key not in hits or hits[key][0].weight < pattern.weight:
                            hits[key] = (pattern, m.start(), m.end())
        return sorted(hits.values(), key=lambda h: (h[1], -h[0].weight))

    def scan(self, text: str, context: ScanContext | None = None) -> ScanResult:
        started = time.perf_counter()
        s = self.settings
        hits = self._pattern_hits(text) if s.use_patterns and text else []
        pattern_score = max((p.weight for p, _, _ in hits), default=0.0)

        classifier_score = 0.0
        worst_window: tuple[int, int] | None = None
        if s.use_classifier and text.strip():
            for start, end in windows(text, s.max_classifier_chars):
                p = classifier_probability(text[start:end], self._weights, self._bias)
                if p > classifier_score:
                    classifier_score, worst_window = p, (start, end)

        classifier_counts = s.classifier_long_texts or len(text) <= LONG_TEXT_CHARS
        risk = clamp01(max(pattern_score, classifier_score if classifier_counts else 0.0))
        findings = [
            Finding(type=f"{FINDING_TYPE}:{p.category}", start=a, end=b, score=p.weight)
            for p, a, b in hits
            if p.weight >= s.threshold
        ]
        if classifier_counts and classifier_score >= s.threshold and worst_window is not None:
            findings.append(
                Finding("INJECTION_CLASSIFIER", worst_window[0], worst_window[1], round(classifier_score, 4))
            )

        flagged = risk >= s.threshold and (s.threshold > 0 or risk > 0)
        direction = direction_of(context)
        action: Action = (s.prompt_action if direction == "prompt" else s.answer_action) if flagged else "allow"
        details = {
            "classifier_score": round(classifier_score, 4),
            "pattern_score": round(pattern_score, 4),
            "categories": sorted({p.category for p, _, _ in hits if p.weight >= s.threshold}),
            "signals": sorted({p.category for p, _, _ in hits if p.weight < s.threshold}),
            "classifier_truncated": s.use_classifier and len(text) > s.max_classifier_chars,
            "classifier_counted": s.use_classifier and classifier_counts,
        }
        return ScanResult(
            scanner=self.name,
            is_valid=action != "block",
            risk_score=round(risk, 4),
            threshold=s.threshold,
            action=action,
            findings=findings,
            details=details,
            latency_ms=(time.perf_counter() - started) * 1000,
        )
