"""The scanners as one pipeline: a prompt, a streamed answer, a file.

    results = scan_prompt(settings_map, text, ScanContext(direction="prompt", client_ip=ip, redaction_map=m))
    guard = AnswerGuard(settings_map, redaction_map=m); step = guard.feed(delta); ...; final = guard.finish()
    results = scan_file(settings_map, data, filename)

``settings_map`` is what ``selectors.scanner_settings_for(company, agent)`` returns: the enabled scanners and
their validated settings. Everything here is plain, synchronous, CPU-bound Python with no database access.
Async callers (the chat pipeline, ASGI views) must run it off the event loop, e.g.
``await sync_to_async(scan_prompt, thread_sensitive=False)(...)`` or in a thread pool: a 1 KB prompt costs a few
milliseconds, but a 1 MB one costs far more, and the loop would stall every other stream meanwhile.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any

from apps.scanners.detectors.base import Finding, ScanContext, ScanResult
from apps.scanners.detectors.pii import StreamingRestorer
from apps.scanners.registry import SCANNERS

# Text scanners in the order they run. Scanners that only judge run on the original text; the two that can
# rewrite it (regex, then pii) come last, and each later rewrite starts from the earlier one's output.
TEXT_ORDER = ("geo", "language", "prompt_injection", "toxicity", "topic", "regex", "pii")
_STRENGTH = {"allow": 0, "flag": 1, "redact": 2, "block": 3}

# A streamed answer is judged sentence by sentence; a run-on answer without punctuation is cut at a space
# once this many characters are pending, so a violation is never held back for long.
SEGMENT_MAX_CHARS = 400
_SENTENCE_END = re.compile(r"[.!?\u3002\uff01\uff1f](?=\s)|\n")


@dataclass
class PipelineResult:
    is_valid: bool
    sanitized_text: str
    risk_score: float
    results: list[ScanResult] = field(default_factory=list)
    latency_ms: float = 0.0

    @property
    def blocked_by(self) -> list[ScanResult]:
        return [r for r in self.results if r.action == "block"]

    @property
    def hits(self) -> list[ScanResult]:
        """Results worth recording: anything but a clean "allow"."""
        return [r for r in self.results if r.action != "allow"]

    def block_reason(self) -> str:
        """Why the text was refused, naming scanners and finding types but never the sensitive value."""
        parts = []
        for result in self.blocked_by:
            types = sorted({f.type for f in result.findings})
            parts.append(f"{SCANNERS[result.scanner].label}" + (f" ({', '.join(types)})" if types else ""))
        return "Blocked by " + "; ".join(parts) if parts else ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "isValid": self.is_valid,
            "sanitizedText": self.sanitized_text,
            "riskScore": round(self.risk_score, 4),
            "results": [result_to_dict(r) for r in self.results],
            "latencyMs": round(self.latency_ms, 3),
        }


def result_to_dict(result: ScanResult) -> dict[str, Any]:
    return {
        "scanner": result.scanner,
        "isValid": result.is_valid,
        "riskScore": round(result.risk_score, 4),
        "threshold": result.threshold,
        "action": result.action,
        "findings": [finding_to_dict(f) for f in result.findings],
        "details": result.details,
        "latencyMs": round(result.latency_ms, 3),
    }


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    return {"type": finding.type, "start": finding.start, "end": finding.end, "score": round(finding.score, 4)}


# -- built scanners, cached by their settings ----------------------------------------------------------------

_CACHE_SIZE = 256
_cache: OrderedDict[tuple[str, str], Any] = OrderedDict()
_cache_lock = threading.Lock()


def scanner_for(name: str, settings: Any) -> Any:
    """A scanner built from settings, reused while the settings are the same (building one compiles patterns
    and term lists; the detectors keep no per-scan state, so one instance serves every thread)."""
    key = (name, json.dumps(settings.to_dict(), sort_keys=True, default=str))
    with _cache_lock:
        scanner = _cache.get(key)
        if scanner is not None:
            _cache.move_to_end(key)
            return scanner
    scanner = SCANNERS[name].build(settings)
    with _cache_lock:
        _cache[key] = scanner
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return scanner


def text_scanners_for(settings_map: dict[str, Any], direction: str, names: list[str] | None = None) -> list[str]:
    """The text scanners to run, in pipeline order: those named (when given), else those made for direction."""
    if names is not None:
        return [n for n in TEXT_ORDER if n in names and n in settings_map] + (
            ["file_type"] if "file_type" in names and "file_type" in settings_map else []
        )
    return [n for n in TEXT_ORDER if n in settings_map and direction in SCANNERS[n].directions]


def _combine(text: str, results: list[ScanResult], sanitized: str, started: float) -> PipelineResult:
    return PipelineResult(
        is_valid=all(r.is_valid for r in results),
        sanitized_text=sanitized,
        risk_score=max((r.risk_score for r in results), default=0.0),
        results=results,
        latency_ms=(time.perf_counter() - started) * 1000,
    )


def scan_text(
    settings_map: dict[str, Any], text: str, context: ScanContext, *, names: list[str] | None = None
) -> PipelineResult:
    """Every applicable scanner on text. Findings are offsets into ``text``; ``sanitized_text`` is text with
    every redaction applied (regex first, then PII placeholders recorded in ``context.redaction_map``)."""
    started = time.perf_counter()
    results: list[ScanResult] = []
    sanitized = text
    for name in text_scanners_for(settings_map, context.direction, names):
        scanner = scanner_for(name, settings_map[name])
        if name == "pii" and sanitized != text:
            # Offsets must point into the original text, so judge the original on a copy of the map; the
            # placeholders themselves go into the text that regex already rewrote.
            result = scanner.scan(text, replace(context, redaction_map=dict(context.redaction_map or {})))
            if result.action == "redact":
                rewritten = scanner.scan(sanitized, context)
                sanitized = rewritten.sanitized_text or sanitized
        else:
            result = scanner.scan(text, context)
            if result.action == "redact" and result.sanitized_text is not None:
                sanitized = result.sanitized_text
        results.append(result)
    return _combine(text, results, sanitized, started)


def scan_prompt(
    settings_map: dict[str, Any], text: str, context: ScanContext | None = None, *, names: list[str] | None = None
) -> PipelineResult:
    """The input pipeline: run before anything reaches the engine. Send ``sanitized_text`` (placeholders, never
    the originals) to the engine only when ``is_valid``; keep ``context.redaction_map`` with the conversation."""
    context = context or ScanContext(direction="prompt")
    return scan_text(settings_map, text, context, names=names)


def scan_file(
    settings_map: dict[str, Any], data: bytes, filename: str, *, text: str | None = None, client_ip: str | None = None
) -> PipelineResult:
    """The file's type by content, then (when the type passes and there is text) the text as a prompt.

    ``text`` is the extracted text when the caller has it (a PDF's, a DOCX's); without it, a file that is
    UTF-8 text is scanned as such. Findings of the text scanners are offsets into that text.
    """
    started = time.perf_counter()
    results: list[ScanResult] = []
    sanitized = ""
    if "file_type" in settings_map:
        results.append(scanner_for("file_type", settings_map["file_type"]).scan_bytes(data, filename))
    if all(r.is_valid for r in results):
        if text is None:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            if text is not None and "\x00" in text:
                text = None  # binary that happens to decode
        if text:
            names = [n for n in TEXT_ORDER if n != "geo"]  # the file's text, not the caller, is judged
            inner = scan_text(settings_map, text, ScanContext(direction="prompt", client_ip=client_ip), names=names)
            results += inner.results
            sanitized = inner.sanitized_text
    return _combine(sanitized, results, sanitized, started)


def may_withhold(name: str, settings: Any) -> bool:
    """Whether this output scanner, so configured, could block or rewrite an answer (so the stream must wait for
    its verdict on each sentence before showing it)."""
    strong = ("block", "redact")
    if name == "regex":
        return any(rule.action in strong for rule in settings.rules)
    if name == "topic":
        return bool(settings.topics) and (settings.banned_action in strong or settings.off_topic_action in strong)
    return getattr(settings, "answer_action", "flag") in strong


def without_inert(settings_map: dict[str, Any]) -> dict[str, Any]:
    """``settings_map`` without the scanners whose settings make every verdict "allow" (out of the box: language
    with no allowed-language list, geo allowing every country and address). A caller that keeps only hits, as the
    chat does, skips them: the language model (about 90 MB per process, 1.4 s to load) then stays unloaded."""
    return {name: settings for name, settings in settings_map.items() if not _inert(name, settings)}


def _inert(name: str, settings: Any) -> bool:
    if name == "language":
        return not settings.allowed_languages and settings.undetermined_action == "allow"
    if name == "geo":
        actions = (settings.internal_action, settings.unknown_action, settings.missing_action)
        return settings.mode == "allow_all" and all(action == "allow" for action in actions)
    return False


def redact_for_engine(settings_map: dict[str, Any], text: str, context: ScanContext) -> str:
    """The text as the engine may see it: the regex and PII redactions of the prompt direction, with the
    conversation's placeholders (``context.redaction_map``, extended in place). For earlier turns of a
    conversation, whose stored text holds the originals, before they go back to the engine as history, and for
    the document passages the chat adds to the instructions as context (their citations keep the originals)."""
    names = [n for n in ("regex", "pii") if n in settings_map]
    if not names:
        return text
    return scan_text(settings_map, text, replace(context, direction="prompt"), names=names).sanitized_text


# -- the streamed answer -------------------------------------------------------------------------------------


@dataclass
class GuardStep:
    """What ``AnswerGuard.feed`` decided: text to show now, and the blocking results if the answer must stop."""

    release: str = ""
    blocked: list[ScanResult] | None = None


class AnswerGuard:
    """Output scanning on a streamed answer, one sentence at a time.

    ``feed(delta)`` buffers until a sentence ends, scans the finished sentences with the output scanners, and
    returns them to show (PII placeholders restored, redactions applied) or, on a block, nothing more and the
    blocking results: the caller stops the stream and stores the answer as cut. ``finish()`` scans what is
    left and returns the final step plus the merged results over the whole answer (offsets into the engine's
    text). Text is held back at most one sentence (or ``SEGMENT_MAX_CHARS``).
    """

    def __init__(self, settings_map: dict[str, Any], *, redaction_map: dict[str, str] | None = None) -> None:
        self._settings = settings_map
        self._names = text_scanners_for(settings_map, "answer")
        self._restorer = StreamingRestorer(redaction_map)
        # When no output scanner can block or rewrite (the out-of-the-box settings only flag), deltas pass at once
        # and the sentences are judged behind them, for the record: no buffering delay for nothing.
        self.withholds = any(may_withhold(n, settings_map[n]) for n in self._names)
        # No output scanner and no placeholder to restore: every delta passes as it is, and finish() is trivial
        # (callers may then run it inline rather than in a worker thread).
        self.passthrough = not self._names and not redaction_map
        self._pending = ""
        self._offset = 0  # where the pending text starts in the whole answer
        self._merged: dict[str, ScanResult] = {}
        self.blocked: list[ScanResult] | None = None
        self.text = ""  # the engine's answer so far (placeholders, not originals)

    def feed(self, delta: str) -> GuardStep:
        if self.passthrough:
            self.text += delta
            return GuardStep(release=delta)
        if self.blocked is not None:
            return GuardStep(blocked=self.blocked)
        self.text += delta
        self._pending += delta
        shown = ""
        if not self.withholds:
            shown = self._restorer.feed(delta)
        cut = self._cut_point()
        if cut == 0:
            return GuardStep(release=shown)
        segment, self._pending = self._pending[:cut], self._pending[cut:]
        step = self._judge(segment)
        step.release = shown + step.release
        return step

    def scans_on(self, delta: str) -> bool:
        """Whether ``feed(delta)`` would run scanners (a sentence ends, or the buffer is full): async callers run
        those feeds in a worker thread and the others (a buffer append) inline."""
        return bool(self._names) and (
            _SENTENCE_END.search(delta) is not None or len(self._pending) + len(delta) >= SEGMENT_MAX_CHARS
        )

    def finish(self) -> tuple[GuardStep, PipelineResult]:
        step = GuardStep(blocked=self.blocked)
        if self.blocked is None:
            segment, self._pending = self._pending, ""
            step = self._judge(segment) if segment else GuardStep()
            if self.blocked is None:
                step.release += self._restorer.flush()
        results = list(self._merged.values())
        result = PipelineResult(
            is_valid=self.blocked is None,
            sanitized_text=self.text,
            risk_score=max((r.risk_score for r in results), default=0.0),
            results=results,
        )
        return step, result

    def _cut_point(self) -> int:
        last = 0
        for match in _SENTENCE_END.finditer(self._pending):
            last = match.end()
        if last == 0 and len(self._pending) >= SEGMENT_MAX_CHARS:
            space = self._pending.rfind(" ")
            last = space + 1 if space > 0 else len(self._pending)
        return last

    def _judge(self, segment: str) -> GuardStep:
        outcome = scan_text(self._settings, segment, ScanContext(direction="answer"), names=self._names)
        self._merge(outcome.results)
        self._offset += len(segment)
        if not self.withholds:
            return GuardStep()  # already shown as it came; a flag is only recorded
        if not outcome.is_valid:
            self.blocked = outcome.blocked_by
            return GuardStep(blocked=self.blocked)
        return GuardStep(release=self._restorer.feed(outcome.sanitized_text))

    def _merge(self, results: list[ScanResult]) -> None:
        for r in results:
            shifted = [Finding(f.type, f.start + self._offset, f.end + self._offset, f.score) for f in r.findings]
            previous = self._merged.get(r.scanner)
            if previous is None:
                self._merged[r.scanner] = replace(r, findings=shifted, sanitized_text=None)
                continue
            previous.findings += shifted
            previous.risk_score = max(previous.risk_score, r.risk_score)
            previous.latency_ms += r.latency_ms
            if _STRENGTH[r.action] > _STRENGTH[previous.action]:
                previous.action = r.action
                previous.details = r.details
            previous.is_valid = previous.is_valid and r.is_valid
