"""Topic scanner: allowed and banned topics, each defined by an admin as a name plus a few example prompts.

Similarity is lexical by default: TF-IDF over light-stemmed word unigrams and bigrams (IDF from all the topics'
examples), cosine between each sentence group of the text and each example and each topic's centroid; a topic's
similarity is the best of those. Optionally an admin-supplied ONNX embedding model (onnx_model.py) adds a cosine
over embeddings, and the larger of the two counts.

- A banned topic whose similarity reaches the threshold -> BANNED_TOPIC:<name>, action ``banned_action`` (block).
- When allowed topics exist and none reaches the threshold -> OFF_TOPIC, action ``off_topic_action`` (flag).
- No topics (the default): everything is allowed.
risk_score is the best banned similarity, or 1 - the best allowed similarity when the text is off topic.
"""

from __future__ import annotations

import itertools
import math
import re
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from . import onnx_model
from ._model_common import check_action, check_threshold, clamp01, reject_unknown_keys
from .base import Action, Finding, ScanContext, ScannerConfigError, ScanResult

MAX_TOPICS = 50
MAX_EXAMPLES = 50
MAX_EXAMPLE_CHARS = 2000
SEGMENT_CHARS = 400
MAX_ONNX_SEGMENTS = 64

_WORD_RE = re.compile(r"\w+")
_SENTENCE_RE = re.compile(r"[^.!?\n]+[.!?\n]*|[.!?\n]+")
_STOPWORD_TEXT = (
    "a an the and or but if then else of to in on at by for with about from into over under is are was were be "
    "been being am do does did doing have has had having i me my we our you your he him his she her it its they "
    "them their this that these those what which who whom whose when where why how can could would should will "
    "shall may might must not no nor so than too very just also as up out some any all each both few more most "
    "other such own same only s t please tell me give let us want need know like get"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_SUFFIXES = ("ations", "ation", "ments", "ment", "ings", "ing", "edly", "ness", "ies", "ied", "ers", "er", "ed", "es",
             "ly", "s")  # fmt: skip


def stem(word: str) -> str:
    """A deliberately light stemmer: strip one common English suffix, keep at least a 3-letter stem."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            if suffix in ("ies", "ied"):
                word += "y"
            break
    # "explosive" and "explosives" (-> "explosiv") must meet: a final silent e is dropped too.
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def _terms(text: str) -> Counter[str]:
    stems = [stem(w) for w in _WORD_RE.findall(text.casefold()) if w not in _STOPWORDS and not w.isdigit()]
    terms = Counter(stems)
    terms.update(f"{a} {b}" for a, b in itertools.pairwise(stems))
    return terms


def _segments(text: str) -> list[tuple[int, int]]:
    """Sentence groups of up to ~SEGMENT_CHARS, so one banned sentence in a long text is not diluted."""
    if len(text) <= SEGMENT_CHARS:
        return [(0, len(text))]
    spans: list[tuple[int, int]] = []
    start = end = 0
    for m in _SENTENCE_RE.finditer(text):
        if m.end() - start > SEGMENT_CHARS and end > start:
            spans.append((start, end))
            start = end
        end = m.end()
        while end - start > 2 * SEGMENT_CHARS:  # one very long "sentence": cut it
            spans.append((start, start + SEGMENT_CHARS))
            start += SEGMENT_CHARS
    if end > start:
        spans.append((start, end))
    return spans


@dataclass(frozen=True)
class Topic:
    name: str
    kind: str  # "allowed" | "banned"
    examples: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "examples": list(self.examples)}


def _topic_from_dict(item: Any, index: int) -> Topic:
    if not isinstance(item, dict):
        raise ScannerConfigError(f"topics[{index}] must be an object with name, kind and examples")
    unknown = sorted(set(item) - {"name", "kind", "examples"})
    if unknown:
        raise ScannerConfigError(f"topics[{index}] has unknown field(s): {', '.join(map(str, unknown))}")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 64:
        raise ScannerConfigError(f"topics[{index}].name must be a non-empty name of at most 64 characters")
    name = name.strip()
    kind = item.get("kind", "banned")
    if kind not in ("allowed", "banned"):
        raise ScannerConfigError(f"topic {name!r}: kind must be 'allowed' or 'banned', got {kind!r}")
    examples = item.get("examples")
    if not isinstance(examples, list) or not examples:
        raise ScannerConfigError(f"topic {name!r} needs at least one example prompt")
    if len(examples) > MAX_EXAMPLES:
        raise ScannerConfigError(f"topic {name!r} has {len(examples)} examples; at most {MAX_EXAMPLES} are allowed")
    cleaned = []
    for example in examples:
        if not isinstance(example, str) or not example.strip():
            raise ScannerConfigError(f"topic {name!r}: examples must be non-empty text")
        if len(example) > MAX_EXAMPLE_CHARS:
            raise ScannerConfigError(f"topic {name!r}: an example is longer than {MAX_EXAMPLE_CHARS} characters")
        if not _terms(example):
            raise ScannerConfigError(f"topic {name!r}: example {example[:40]!r} has no meaningful words")
        cleaned.append(example.strip())
    return Topic(name, kind, tuple(cleaned))


@dataclass(frozen=True)
class TopicSettings:
    topics: tuple[Topic, ...] = ()
    threshold: float = 0.35
    banned_action: Action = "block"
    off_topic_action: Action = "flag"
    onnx_model_path: str | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> TopicSettings:
        d = reject_unknown_keys(d, cls.__dataclass_fields__, "topic")
        base = cls()
        raw_topics = d.get("topics") or []
        if not isinstance(raw_topics, list):
            raise ScannerConfigError("topics must be a list")
        if len(raw_topics) > MAX_TOPICS:
            raise ScannerConfigError(f"at most {MAX_TOPICS} topics are allowed, got {len(raw_topics)}")
        topics = tuple(_topic_from_dict(item, i) for i, item in enumerate(raw_topics))
        names = [t.name.casefold() for t in topics]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ScannerConfigError(f"topic names must be unique; repeated: {', '.join(duplicates)}")
        return cls(
            topics=topics,
            threshold=check_threshold(d.get("threshold", base.threshold)),
            banned_action=check_action(d.get("banned_action", base.banned_action), "banned_action"),
            off_topic_action=check_action(d.get("off_topic_action", base.off_topic_action), "off_topic_action"),
            onnx_model_path=onnx_model.check_model_path(d.get("onnx_model_path")),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "topics": [t.to_dict() for t in self.topics],
            "threshold": self.threshold,
            "banned_action": self.banned_action,
            "off_topic_action": self.off_topic_action,
            "onnx_model_path": self.onnx_model_path,
        }


def _normalise(vector: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(v * v for v in vector.values()))
    return {k: v / norm for k, v in vector.items()} if norm else {}


def _cosine_dense(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


class TopicScanner:
    name = "topic"

    def __init__(self, settings: TopicSettings | None = None) -> None:
        self.settings = s = settings or TopicSettings()
        docs = [(t.name, _terms(e)) for t in s.topics for e in t.examples]
        df: Counter[str] = Counter(term for _, terms in docs for term in terms)
        n = len(docs)
        self._idf = {term: math.log((n + 1) / (count + 1)) + 1.0 for term, count in df.items()}
        # Words no example uses say nothing about any topic; weighting them like the rarest known word would let
        # every extra word of a prompt drown the ones that matter, so they count like the most common word.
        self._unknown_word = 1.0
        self._unknown_pair = 0.5
        # Inverted index: term -> [(vector id, weight)]; a vector is one example or one topic centroid.
        self._owner: list[str] = []
        self._postings: dict[str, list[tuple[int, float]]] = {}
        for topic in s.topics:
            vectors = [_normalise({k: c * self._idf[k] for k, c in _terms(e).items()}) for e in topic.examples]
            centroid: dict[str, float] = {}
            for vector in vectors:
                for k, v in vector.items():
                    centroid[k] = centroid.get(k, 0.0) + v
            for vector in [*vectors, _normalise(centroid)]:
                vid = len(self._owner)
                self._owner.append(topic.name)
                for k, v in vector.items():
                    self._postings.setdefault(k, []).append((vid, v))
        self._onnx = None
        if s.onnx_model_path and s.topics:
            self._onnx = onnx_model.load_model(s.onnx_model_path)
            self._onnx_examples = [
                (t.name, vector) for t in s.topics for vector in self._onnx.embeddings(list(t.examples))
            ]

    def _lexical(self, text: str) -> dict[str, float]:
        terms = _terms(text)
        if not terms:
            return {}
        weights = {
            k: c * self._idf.get(k, self._unknown_pair if " " in k else self._unknown_word) for k, c in terms.items()
        }
        norm = math.sqrt(sum(v * v for v in weights.values()))
        scores: dict[int, float] = {}
        for k, w in weights.items():
            for vid, v in self._postings.get(k, ()):
                scores[vid] = scores.get(vid, 0.0) + w * v / norm
        best: dict[str, float] = {}
        for vid, score in scores.items():
            owner = self._owner[vid]
            best[owner] = max(best.get(owner, 0.0), score)
        return best

    def scan(self, text: str, context: ScanContext | None = None) -> ScanResult:
        started = time.perf_counter()
        s = self.settings
        kinds = {t.name: t.kind for t in s.topics}
        best: dict[str, tuple[float, tuple[int, int]]] = {}
        if s.topics and text.strip():
            spans = _segments(text)
            for span in spans:
                for name, score in self._lexical(text[span[0] : span[1]]).items():
                    if score > best.get(name, (0.0,))[0]:
                        best[name] = (score, span)
            if self._onnx is not None:
                spans = spans[:MAX_ONNX_SEGMENTS]
                for span, vector in zip(spans, self._onnx.embeddings([text[a:b] for a, b in spans]), strict=True):
                    for name, example in self._onnx_examples:
                        score = _cosine_dense(vector, example)
                        if score > best.get(name, (0.0,))[0]:
                            best[name] = (score, span)

        findings: list[Finding] = []
        banned = {n: v for n, v in best.items() if kinds[n] == "banned" and v[0] >= s.threshold}
        for name, (score, (a, b)) in sorted(banned.items()):
            findings.append(Finding(f"BANNED_TOPIC:{name}", a, b, round(clamp01(score), 4)))
        allowed_names = [t.name for t in s.topics if t.kind == "allowed"]
        best_allowed = max((best.get(n, (0.0,))[0] for n in allowed_names), default=0.0)
        off_topic = bool(allowed_names) and bool(text.strip()) and best_allowed < s.threshold

        action: Action = "allow"
        if banned:
            risk = max(v[0] for v in banned.values())
            action = s.banned_action
        elif off_topic:
            risk = 1.0 - best_allowed
            findings.append(Finding("OFF_TOPIC", 0, len(text), round(clamp01(risk), 4)))
            action = s.off_topic_action
        else:
            risk = max((v[0] for n, v in best.items() if kinds[n] == "banned"), default=0.0)
        return ScanResult(
            scanner=self.name,
            is_valid=action != "block",
            risk_score=round(clamp01(risk), 4),
            threshold=s.threshold,
            action=action,
            findings=findings,
            details={
                "similarities": {n: round(clamp01(v[0]), 4) for n, v in sorted(best.items())},
                "off_topic": off_topic,
            },
            latency_ms=(time.perf_counter() - started) * 1000,
        )
