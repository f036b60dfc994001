"""Cutting a document's text into passages for retrieval.

Chunks are at most 1,200 characters, cut at the strongest boundary available: a blank line (paragraph) between
500 and 1,200 characters, else a line break (CSV rows, lists), a sentence end or a space between 800 and 1,200,
the one nearest 1,000; a hard cut only when 400 characters hold no whitespace at all. Only a document's last
chunk is shorter than 500. A chunk that had to be cut inside a paragraph starts the
next chunk up to ~150 characters early, at a sentence or word boundary, so that a passage keeps the sentence
before it; chunks cut at a paragraph boundary do not overlap. Pure CPU, no database.
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass

MIN_CHARS = 800
MIN_PARAGRAPH_CHARS = 500
TARGET_CHARS = 1000
MAX_CHARS = 1200
OVERLAP_CHARS = 150
CHARS_PER_TOKEN = 4

# Strongest first. Each match is a break: the chunk ends at match.start(), the next begins at match.end().
_BREAKS = (
    re.compile(r"\n[ \t]*\n\s*"),  # paragraph
    re.compile(r"[ \t]*\n\s*"),  # line
    re.compile(r"(?<=[.!?;:\u2026\u3002\uff01\uff1f])[\"')\]\u201d\u2019]*\s+"),  # sentence
    re.compile(r"\s+"),  # word
)
_PARAGRAPH = 0


@dataclass(frozen=True)
class Chunk:
    ordinal: int
    start: int
    end: int
    text: str
    page: int | None

    @property
    def token_estimate(self) -> int:
        return math.ceil(len(self.text) / CHARS_PER_TOKEN)


class _Breaks:
    """Every break position of one level (ends and next starts), searchable by window."""

    def __init__(self, pattern: re.Pattern[str], text: str) -> None:
        self.ends: list[int] = []
        self.next_starts: list[int] = []
        for match in pattern.finditer(text):
            self.ends.append(match.start())
            self.next_starts.append(match.end())

    def in_window(self, low: int, high: int) -> range:
        return range(bisect.bisect_left(self.ends, low), bisect.bisect_right(self.ends, high))


def chunk_text(text: str, *, page_starts: tuple[int, ...] = ()) -> list[Chunk]:
    """The chunks of ``text`` in order. ``page_starts`` (offsets where PDF pages begin) gives each chunk the page
    it starts on."""
    levels = [_Breaks(pattern, text) for pattern in _BREAKS]
    chunks: list[Chunk] = []
    start = _skip_space(text, 0)
    while start < len(text):
        if len(text) - start <= MAX_CHARS:
            end, next_start, level = len(text), len(text), _PARAGRAPH
        else:
            end, next_start, level = _cut(levels, start)
        body_end = _trim_end(text, start, end)
        if body_end > start:
            page = bisect.bisect_right(page_starts, start) if page_starts else None
            chunks.append(Chunk(len(chunks), start, body_end, text[start:body_end], page))
        if next_start >= len(text):
            break
        start = next_start if level == _PARAGRAPH else _overlap_start(levels, start, end, next_start)
    return chunks


def _cut(levels: list[_Breaks], start: int) -> tuple[int, int, int]:
    """Where to end the chunk that begins at ``start``: (end, next start, level of the break used)."""
    high, target = start + MAX_CHARS, start + TARGET_CHARS
    for level, breaks in enumerate(levels):
        # A whole paragraph is worth a shorter chunk; anything weaker is used only near the target size.
        low = start + (MIN_PARAGRAPH_CHARS if level == _PARAGRAPH else MIN_CHARS)
        window = breaks.in_window(low, high)
        if window:
            best = min(window, key=lambda i: abs(breaks.ends[i] - target))
            return breaks.ends[best], breaks.next_starts[best], level
    return high, high, len(levels)  # no whitespace in 400 characters: a hard cut


def _overlap_start(levels: list[_Breaks], start: int, end: int, next_start: int) -> int:
    """Begin the next chunk a little before ``end``: at the earliest line (else sentence, else word) boundary within
    OVERLAP_CHARS of it. Always after ``start``, so that chunking progresses."""
    low = max(start + 1, end - OVERLAP_CHARS)
    for breaks in levels[1:]:
        window = breaks.in_window(low - 1, end - 1)
        for i in window:
            if low <= breaks.next_starts[i] < end:
                return breaks.next_starts[i]
    return next_start


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def _trim_end(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1].isspace():
        end -= 1
    return end
