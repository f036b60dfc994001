"""A compliance officer's search text, turned into a full-text query that cannot be a syntax error on either database.

The syntax (docs/compliance.md, Creating a Search):

- ``word word``: every word must occur (in any form English stemming relates: ``refund`` finds "refunds");
- ``"a quoted phrase"``: these words next to each other, in this order;
- ``prefix*``: a word beginning with these letters (``contract*`` finds "contractor", "contracts").

Anything else is read as text: operators of the databases' own languages (``OR``, ``NEAR``, ``-``, ``:``,
parentheses) are not operators here, an unbalanced quote runs to the end, and a search with no letter or digit
has no text criterion. The text is never handed to a query parser as typed. Each part is reduced to its words
(Unicode letters and digits, as ``apps.documents.search`` does for passages) and written into each database's
language by us: FTS5 gets double-quoted strings (never operators or column filters), PostgreSQL gets the parts
through ``websearch_to_tsquery`` (which never raises) and prefixes through ``to_tsquery`` over words made only of
letters and digits, each single-quoted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from apps.documents.search import STOP_WORDS

MAX_QUERY_CHARS = 500
MAX_PARTS = 16
MAX_WORD_CHARS = 64
# The PostgreSQL vector covers a message's first characters only: a tsvector is limited to 1 MB, and a generated
# column that failed on a very long message would fail the chat's own insert (migration 0002 creates it).
PG_INDEXED_CHARS = 100_000
PG_DOCUMENT = "chat_message.compliance_search"

_WORD = re.compile(r"[^\W_]+")
# A quoted phrase (the closing quote may be missing), or a run of anything but whitespace and quotes.
_PART = re.compile(r'"([^"]*)"?|([^\s"]+)')
# Characters of a part that PostgreSQL's parser may read inside a quoted websearch phrase (e-mail addresses,
# hyphenated words, decimals keep their shape); anything else becomes a space.
_PG_KEEP = re.compile(r"[^\w@.\-+ ]+")


@dataclass(frozen=True)
class Part:
    """One criterion of the text: ``words`` next to each other (one word: anywhere); the last is a prefix when
    ``prefix``. ``raw`` is what was typed, cleaned for PostgreSQL's parser."""

    words: tuple[str, ...]
    raw: str
    prefix: bool = False

    @property
    def is_phrase(self) -> bool:
        return len(self.words) > 1


@dataclass(frozen=True)
class TextQuery:
    parts: tuple[Part, ...]

    def __bool__(self) -> bool:
        return bool(self.parts)

    def fts5(self) -> str:
        """An FTS5 MATCH expression: every part, each a quoted string (a phrase; ``*`` after it: prefix)."""
        return " AND ".join(_fts5_string(" ".join(part.words)) + (" *" if part.prefix else "") for part in self.parts)

    def websearch(self) -> str:
        """Input for ``websearch_to_tsquery``: the parts without a prefix, each double-quoted (so ``or`` and ``-``
        are words, not operators); empty when every part is a prefix."""
        return " ".join(f'"{part.raw}"' for part in self.parts if not part.prefix)

    def prefix_tsquery(self) -> str:
        """Input for ``to_tsquery``: the prefix parts ANDed, ``'w1' <-> 'w2':*``; empty when there are none."""
        terms = []
        for part in self.parts:
            if part.prefix:
                quoted = [f"'{word}'" for word in part.words]
                quoted[-1] += ":*"
                terms.append("(" + " <-> ".join(quoted) + ")")
        return " & ".join(terms)

    @property
    def highlight_words(self) -> list[str]:
        return [word for part in self.parts for word in part.words]


def parse(text: str | None) -> TextQuery:
    """The parts of ``text``; a ``TextQuery`` that is false when nothing searchable is left."""
    text = (text or "")[:MAX_QUERY_CHARS].replace("\x00", " ")
    parts: list[Part] = []
    seen: set[tuple[tuple[str, ...], bool]] = set()
    for match in _PART.finditer(text):
        quoted, bare = match.group(1), match.group(2)
        chunk = quoted if quoted is not None else bare
        prefix = bare is not None and bare.endswith("*")
        words = tuple(word.lower()[:MAX_WORD_CHARS] for word in _WORD.findall(chunk))
        if not words:
            continue
        if bare is not None and len(words) == 1 and not prefix and words[0] in STOP_WORDS:
            continue  # "the", "of": they match nearly every message (PostgreSQL drops them too)
        if prefix and len(words[-1]) < 2:
            prefix = False  # "a*" would match half the dictionary: read as the word
        key = (words, prefix)
        if key in seen:
            continue
        seen.add(key)
        raw = " ".join(_PG_KEEP.sub(" ", chunk.rstrip("*")).split())
        parts.append(Part(words=words, raw=raw or " ".join(words), prefix=prefix))
        if len(parts) == MAX_PARTS:
            break
    return TextQuery(tuple(parts))


def _fts5_string(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'
