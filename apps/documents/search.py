"""Turning a user's prompt into a full-text query that cannot be a syntax error on either database.

The prompt is never passed to a query parser as it is. It is reduced to its words (Unicode letters and digits),
lowercased, stop words and duplicates removed, and at most ``MAX_TERMS`` kept. Those words are then written
into the query language of each database by us: FTS5 gets each word as a double-quoted string (a string, never
an operator, column filter or prefix), PostgreSQL gets them joined by ``or`` through ``websearch_to_tsquery``,
which never raises a syntax error. Words are ORed, not ANDed: a prompt is a question in natural language, and the
ranking (bm25 / ts_rank) rewards the passages that match more of its words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

MAX_QUERY_CHARS = 4000
MAX_TERMS = 32
MAX_TERM_CHARS = 64
# Up to this many documents, the FTS5 expression itself names them; beyond, SQL filters the matches. Measured
# on 1,000 documents (12,000 chunks), p50: 1.8 vs 22 ms for 1 document, 15 vs 25 ms for 80, even at 150, 72 vs
# 35 ms for 250. The second grows with the company's whole corpus, the first only with the documents named.
FTS5_DOCUMENT_FILTER_MAX = 100

_WORD = re.compile(r"[^\W_]+")

# English function words: they match nearly every passage and only slow ranking down. PostgreSQL's 'english'
# configuration drops its own list too; this one keeps the two databases alike.
_STOP_WORDS_TEXT = """
a about above after again against all am an and any are as at be because been before being below between both
but by can could did do does doing down during each few for from further had has have having he her here hers
herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off on
once only or other our ours ourselves out over own same she should so some such than that the their theirs
them themselves then there these they this those through to too under until up very was we were what when
where which while who whom why will with would you your yours yourself yourselves please tell give explain
describe show say said also may might must shall
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())


def query_terms(query: str) -> list[str]:
    """The searchable words of ``query``, in order of first appearance."""
    terms: list[str] = []
    seen: set[str] = set()
    for match in _WORD.finditer((query or "")[:MAX_QUERY_CHARS]):
        word = match.group().lower()
        if word in seen or word in STOP_WORDS or len(word) > MAX_TERM_CHARS:
            continue
        if len(word) == 1 and not word.isdigit():
            continue
        seen.add(word)
        terms.append(word)
        if len(terms) == MAX_TERMS:
            break
    return terms


def fts5_match(terms: Iterable[str], document_ids: Sequence[int] = ()) -> str:
    """An FTS5 MATCH expression: any of ``terms`` in the text column, within ``document_ids`` when given.

    Terms are made of letters and digits only (see ``query_terms``); quoting them makes FTS5 read each as a
    plain string whatever it spells (OR, NEAR). The document filter inside the expression lets FTS5 intersect
    posting lists, so that the cost follows the size of the requested documents rather than of every company's
    chunks; it pays for a few documents and costs for hundreds (see ``FTS5_DOCUMENT_FILTER_MAX``).
    """
    expression = "text : (" + " OR ".join(_fts5_string(term) for term in terms) + ")"
    if not document_ids:
        return expression
    documents = " OR ".join(_fts5_string(str(int(pk))) for pk in document_ids)
    return f"document_id : ({documents}) AND {expression}"


def websearch_query(terms: Iterable[str]) -> str:
    """Input for PostgreSQL's ``websearch_to_tsquery``: the terms joined by its ``or`` operator."""
    return " or ".join(terms)


def _fts5_string(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'
