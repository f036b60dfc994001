"""Toxicity: insults, profanity, threats and hate, from a curated lexicon, a shipped linear model and admin word lists.

- Lexicon (``models/toxicity_lexicon.json``, curated here): words and regular expressions per category, each
  category with the risk a match carries; every match is a finding with its position.
- Linear model (``models/toxicity_linear.json.gz``): hatesonar's TF-IDF + logistic regression, trained on Davidson
  et al. 2017 tweets, converted to pure Python by ``training/convert_hatesonar.py``. Its score is
  P(hate_speech) + P(offensive_language), taken over ~tweet-sized windows so one insult in a long answer counts.
- Admin lists: ``block_words`` always block, ``flag_words`` always flag.
- Optionally an admin-supplied ONNX text classifier (``onnx_model_path``), see onnx_model.py.

risk_score = max(lexicon, linear model, ONNX model). Recall is limited, see docs/scanners-models.md.
"""

from __future__ import annotations

import functools
import gzip
import json
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import onnx_model
from ._model_common import (
    check_action,
    check_bool,
    check_threshold,
    check_words,
    clamp01,
    direction_of,
    reject_unknown_keys,
)
from .base import Action, Finding, ScanContext, ScannerConfigError, ScanResult

MODELS = Path(__file__).parent / "models"
LEXICON_PATH = MODELS / "toxicity_lexicon.json"
LINEAR_MODEL_PATH = MODELS / "toxicity_linear.json.gz"

# hatesonar was trained on tweets: score windows of about a tweet, overlapping, and keep the worst.
WINDOW_CHARS = 280
WINDOW_STRIDE = 200
_TOKEN_RE = re.compile(r"[a-z0-9_]+")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})


def _word_regex(words: list[str]) -> re.Pattern[str] | None:
    parts = []
    for word in words:
        prefix = word.endswith("*")
        body = re.escape(word.rstrip("*")).replace(r"\ ", r"\s+")
        parts.append(body + (r"\w*" if prefix else r"(?:s|es)?"))
    if not parts:
        return None
    # (?<!\w) / (?!\w) rather than \b: some entries start or end with "*" ("f*ck"), where \b would not hold.
    return re.compile(r"(?<!\w)(?:" + "|".join(sorted(parts, key=len, reverse=True)) + r")(?!\w)")


@dataclass(frozen=True)
class _Category:
    name: str
    weight: float
    regexes: tuple[re.Pattern[str], ...]


@functools.cache
def load_lexicon() -> tuple[_Category, ...]:
    data = json.loads(LEXICON_PATH.read_text(encoding="utf-8"))
    categories = []
    for name, spec in data["categories"].items():
        regexes = [re.compile(p) for p in spec.get("patterns", [])]
        words = _word_regex(spec.get("words", []))
        if words is not None:
            regexes.insert(0, words)
        categories.append(_Category(name, float(spec["weight"]), tuple(regexes)))
    return tuple(categories)


@functools.cache
def load_linear_model() -> dict[str, Any]:
    return json.loads(gzip.decompress(LINEAR_MODEL_PATH.read_bytes()))


def linear_probabilities(text: str, model: dict[str, Any]) -> list[float]:
    """[P(hate), P(offensive), P(neither)] exactly as hatesonar's ONNX graph computes them."""
    idf: dict[str, float] = model["idf"]
    coef: dict[str, list[float]] = model["coef"]
    counts: dict[str, int] = {}
    for token in _TOKEN_RE.findall(text.lower()):
        if token in idf:
            counts[token] = counts.get(token, 0) + 1
    z = list(model["intercepts"])
    if counts:
        norm = math.sqrt(sum((c * idf[t]) ** 2 for t, c in counts.items()))
        for token, count in counts.items():
            weights = coef.get(token)
            if weights is not None:
                x = count * idf[token] / norm
                for k in range(len(z)):
                    z[k] += weights[k] * x
    top = max(z)
    exps = [math.exp(v - top) for v in z]
    total = sum(exps)
    return [e / total for e in exps]


@functools.cache
def _prior(model_id: int) -> float:
    del model_id  # the cache key: one prior per loaded model
    hate, offensive, _ = linear_probabilities("", load_linear_model())
    return hate + offensive


def linear_toxicity(text: str, model: dict[str, Any]) -> tuple[float, float, float]:
    """(score, P(hate), P(offensive)). Davidson's tweets are 77% "offensive", so even an empty text gets ~0.28;
    the score is the rise above that prior, rescaled to 0..1, so that 0.5 means "clearly more than nothing"."""
    hate, offensive, _ = linear_probabilities(text, model)
    prior = _prior(id(model))
    return clamp01((hate + offensive - prior) / (1.0 - prior)), hate, offensive


def _windows(text: str) -> list[tuple[int, int]]:
    if len(text) <= WINDOW_CHARS:
        return [(0, len(text))]
    return [(i, min(i + WINDOW_CHARS, len(text))) for i in range(0, len(text) - WINDOW_STRIDE, WINDOW_STRIDE)]


def _phrase_regex(words: tuple[str, ...]) -> re.Pattern[str] | None:
    if not words:
        return None
    parts = sorted((re.escape(w.casefold()).replace(r"\ ", r"\s+") for w in words), key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)")


@dataclass(frozen=True)
class ToxicitySettings:
    threshold: float = 0.5
    prompt_action: Action = "flag"
    answer_action: Action = "flag"
    use_lexicon: bool = True
    use_model: bool = True
    block_words: tuple[str, ...] = ()
    flag_words: tuple[str, ...] = ()
    onnx_model_path: str | None = None
    # Which of the ONNX model's output columns mean "toxic" (their probabilities are added up).
    onnx_toxic_classes: tuple[int, ...] = field(default=())

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> ToxicitySettings:
        d = reject_unknown_keys(d, cls.__dataclass_fields__, "toxicity")
        base = cls()
        classes = d.get("onnx_toxic_classes") or ()
        if not isinstance(classes, list | tuple) or not all(
            isinstance(c, int) and not isinstance(c, bool) and 0 <= c < 1000 for c in classes
        ):
            raise ScannerConfigError(f"onnx_toxic_classes must be a list of class indexes, got {classes!r}")
        return cls(
            threshold=check_threshold(d.get("threshold", base.threshold)),
            prompt_action=check_action(d.get("prompt_action", base.prompt_action), "prompt_action"),
            answer_action=check_action(d.get("answer_action", base.answer_action), "answer_action"),
            use_lexicon=check_bool(d.get("use_lexicon", base.use_lexicon), "use_lexicon"),
            use_model=check_bool(d.get("use_model", base.use_model), "use_model"),
            block_words=check_words(d.get("block_words"), "block_words"),
            flag_words=check_words(d.get("flag_words"), "flag_words"),
            onnx_model_path=onnx_model.check_model_path(d.get("onnx_model_path")),
            onnx_toxic_classes=tuple(classes),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "prompt_action": self.prompt_action,
            "answer_action": self.answer_action,
            "use_lexicon": self.use_lexicon,
            "use_model": self.use_model,
            "block_words": list(self.block_words),
            "flag_words": list(self.flag_words),
            "onnx_model_path": self.onnx_model_path,
            "onnx_toxic_classes": list(self.onnx_toxic_classes),
        }


class ToxicityScanner:
    name = "toxicity"

    def __init__(self, settings: ToxicitySettings | None = None) -> None:
        self.settings = s = settings or ToxicitySettings()
        self._lexicon = load_lexicon() if s.use_lexicon else ()
        self._linear = load_linear_model() if s.use_model else None
        self._block = _phrase_regex(s.block_words)
        self._flag = _phrase_regex(s.flag_words)
        self._onnx = None
        if s.onnx_model_path:
            # Loading here (not at first scan) makes a bad path a settings error the admin sees at once.
            self._onnx = onnx_model.load_model(s.onnx_model_path)
            width = len(self._onnx.probabilities(["hello"])[0])
            classes = s.onnx_toxic_classes or ((1,) if width == 2 else ())
            if not classes:
                raise ScannerConfigError(
                    f"the ONNX model has {width} classes: set onnx_toxic_classes to the indexes that mean toxic"
                )
            if max(classes) >= width:
                raise ScannerConfigError(f"onnx_toxic_classes {list(classes)} is out of range for {width} classes")
            self._onnx_classes = classes

    def _lexicon_hits(self, lowered: str) -> list[tuple[str, float, int, int]]:
        hits: dict[tuple[int, int], tuple[str, float, int, int]] = {}
        variants = [lowered]
        leet = lowered.translate(_LEET)
        if leet != lowered:
            variants.append(leet)
        for variant in variants:
            for category in self._lexicon:
                for regex in category.regexes:
                    for m in regex.finditer(variant):
                        key = (m.start(), m.end())
                        if key not in hits or hits[key][1] < category.weight:
                            hits[key] = (category.name, category.weight, m.start(), m.end())
        return sorted(hits.values(), key=lambda h: h[2])

    def scan(self, text: str, context: ScanContext | None = None) -> ScanResult:
        started = time.perf_counter()
        s = self.settings
        lowered = text.lower()
        if len(lowered) != len(text):  # lower-casing changed offsets ("İ"): casefold char by char instead
            lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
        findings: list[Finding] = []
        details: dict[str, Any] = {}

        hits = self._lexicon_hits(lowered) if self._lexicon and text else []
        lexicon_score = max((w for _, w, _, _ in hits), default=0.0)
        findings += [Finding(f"TOXIC:{name}", a, b, w) for name, w, a, b in hits if w >= s.threshold]
        details["categories"] = sorted({name for name, w, _, _ in hits if w >= s.threshold})
        details["signals"] = sorted({name for name, w, _, _ in hits if w < s.threshold})

        model_score = 0.0
        if self._linear is not None and text.strip():
            for a, b in _windows(text):
                score, hate, offensive = linear_toxicity(text[a:b], self._linear)
                if score > model_score:
                    model_score = score
                    details["model_hate"] = round(hate, 4)
                    details["model_offensive"] = round(offensive, 4)
                    worst = (a, b)
            if model_score >= s.threshold:
                findings.append(Finding("TOXIC_MODEL", worst[0], worst[1], round(model_score, 4)))
        details["model_score"] = round(model_score, 4)

        onnx_score = 0.0
        if self._onnx is not None and text.strip():
            spans = _windows(text)
            rows = self._onnx.probabilities([text[a:b] for a, b in spans])
            for (a, b), row in zip(spans, rows, strict=True):
                score = sum(row[k] for k in self._onnx_classes)
                if score > onnx_score:
                    onnx_score, worst = score, (a, b)
            if onnx_score >= s.threshold:
                findings.append(Finding("TOXIC_ONNX", worst[0], worst[1], round(clamp01(onnx_score), 4)))
            details["onnx_score"] = round(onnx_score, 4)

        word_action: Action | None = None
        if self._block is not None:
            blocked = [Finding("BLOCKED_WORD", m.start(), m.end(), 1.0) for m in self._block.finditer(lowered)]
            findings += blocked
            word_action = "block" if blocked else None
        if self._flag is not None and word_action is None:
            flagged = [Finding("FLAGGED_WORD", m.start(), m.end(), 1.0) for m in self._flag.finditer(lowered)]
            findings += flagged
            word_action = "flag" if flagged else None

        risk = clamp01(max(lexicon_score, model_score, onnx_score, 1.0 if word_action else 0.0))
        action: Action = "allow"
        if risk >= s.threshold and risk > 0:
            action = s.prompt_action if direction_of(context) == "prompt" else s.answer_action
        if word_action == "block" or (word_action == "flag" and action == "allow"):
            action = word_action
        findings.sort(key=lambda f: (f.start, f.end))
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
