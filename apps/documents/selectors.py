"""Reads of documents, always scoped to one company, and the passage retrieval used as a prompt's context."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection
from django.db.models import QuerySet

from apps.companies.models import Company
from apps.companies.selectors import get_for_company
from apps.documents.models import Document, DocumentChunk, DocumentStatus
from apps.documents.search import FTS5_DOCUMENT_FILTER_MAX, fts5_match, query_terms, websearch_query

# Ranked candidates read per wanted passage: a few more than needed, so that a passage too long for what is left
# of the budget can give way to a shorter one.
CANDIDATES_PER_PASSAGE = 3


@dataclass(frozen=True)
class Passage:
    """A chunk chosen as context for a prompt, with what a citation needs.

    ``score`` orders passages within one call only: bm25 on SQLite and ts_rank on PostgreSQL are on different
    scales, and a fallback passage (no query word matched) scores 0.
    """

    document_id: str  # the document's public id
    filename: str
    chunk_id: int
    ordinal: int
    text: str
    score: float
    page: int | None

    def as_citation(self) -> dict:
        return {
            "documentId": self.document_id,
            "fileName": self.filename,
            "chunk": self.ordinal,
            "page": self.page,
            "text": self.text,
            "score": round(self.score, 6),
        }


def document_list(*, company: Company | None) -> QuerySet[Document]:
    return Document.objects.for_company(company).order_by("-created", "-id")


def get_document_for_company(company: Company | None, public_id: str) -> Document:
    """The company's document with this public id; Http404 otherwise (also for another company's document)."""
    return get_for_company(Document.objects.all(), company, public_id=public_id)


def passages_for(
    *,
    company: Company | None,
    documents: Sequence[Document],
    query: str,
    budget_chars: int,
    limit: int,
) -> list[Passage]:
    """The passages of ``documents`` most relevant to ``query``, best first, at most ``limit`` of them and at most
    ``budget_chars`` characters together.

    Only the company's ready documents among ``documents`` count: another company's document passed by mistake
    is ignored, never read. When no word of the query matches (or the query has no searchable words), the
    documents' first chunks are returned, taking turns between documents, so that "summarize this file" still
    sees the file's beginning.
    """
    document_pks = sorted({doc.pk for doc in documents if doc.pk is not None})
    if company is None or budget_chars <= 0 or limit <= 0 or not document_pks:
        return []
    terms = query_terms(query)
    rows = _ranked_rows(company.pk, document_pks, terms, limit * CANDIDATES_PER_PASSAGE) if terms else []
    if not rows:
        rows = _leading_rows(company.pk, document_pks, limit, budget_chars)
    return _within_budget(rows, budget_chars, limit)


# A row: (chunk id, document public id, filename, ordinal, text, page, score).
Row = tuple[int, str, str, int, str, int | None, float]


def _ranked_rows(company_pk: int, document_pks: list[int], terms: list[str], count: int) -> list[Row]:
    # One query per prompt: the company scoping, the ranking and the document names together. The tenant filter
    # is in SQL even where the search expression names the documents: isolation must not depend on how a search
    # string was built.
    placeholders = ", ".join(["%s"] * len(document_pks))
    scope = [company_pk, DocumentStatus.READY.value, *document_pks]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"""
                SELECT c.id, d.public_id, d.filename, c.ordinal, c.text, c.page, ts_rank(c.search, q, 1) AS score
                FROM documents_documentchunk c
                JOIN documents_document d ON d.id = c.document_id,
                websearch_to_tsquery('english', %s) q
                WHERE d.company_id = %s AND d.status = %s AND c.document_id IN ({placeholders}) AND c.search @@ q
                ORDER BY score DESC, c.id
                LIMIT %s
                """,  # noqa: S608 - only placeholders are interpolated
                [websearch_query(terms), *scope, count],
            )
        elif connection.vendor == "sqlite":
            named = document_pks if len(document_pks) <= FTS5_DOCUMENT_FILTER_MAX else ()
            cursor.execute(
                f"""
                SELECT c.id, d.public_id, d.filename, c.ordinal, c.text, c.page,
                       -bm25(documents_chunk_fts, 1.0, 0.0) AS score
                FROM documents_chunk_fts
                JOIN documents_documentchunk c ON c.id = documents_chunk_fts.rowid
                JOIN documents_document d ON d.id = c.document_id
                WHERE documents_chunk_fts MATCH %s
                  AND d.company_id = %s AND d.status = %s AND c.document_id IN ({placeholders})
                ORDER BY score DESC, c.id
                LIMIT %s
                """,  # noqa: S608 - only placeholders are interpolated
                [fts5_match(terms, named), *scope, count],
            )
        else:  # pragma: no cover - settings allow only PostgreSQL and SQLite
            return []
        return [tuple(row) for row in cursor.fetchall()]


def _leading_rows(company_pk: int, document_pks: list[int], limit: int, budget_chars: int) -> list[Row]:
    """The first chunks of each document, taking turns (every document's chunk 0, then every chunk 1, ...)."""
    # Chunks are at most 1,200 characters and at least 500 but for a document's last; no more rounds than the
    # budget or the limit could use are read.
    rounds = max(1, min(limit, budget_chars // 500 + 1))
    chunks = (
        DocumentChunk.objects.filter(
            document__company_id=company_pk,
            document__status=DocumentStatus.READY,
            document_id__in=document_pks,
            ordinal__lt=rounds,
        )
        .order_by("ordinal", "document_id")
        .values_list("id", "document__public_id", "document__filename", "ordinal", "text", "page")
    )
    return [(*chunk, 0.0) for chunk in chunks]


def _within_budget(rows: list[Row], budget_chars: int, limit: int) -> list[Passage]:
    passages: list[Passage] = []
    left = budget_chars
    for chunk_id, public_id, filename, ordinal, text, page, score in rows:
        if len(passages) == limit or left <= 0:
            break
        if len(text) > left:
            if passages:
                continue  # a shorter passage further down may still fit
            text = _shorten(text, left)  # the best passage alone is too long: keep its beginning
        passages.append(
            Passage(
                document_id=public_id,
                filename=filename,
                chunk_id=chunk_id,
                ordinal=ordinal,
                text=text,
                score=float(score),
                page=page,
            )
        )
        left -= len(text)
    return passages


def _shorten(text: str, size: int) -> str:
    cut = text[:size]
    space = cut.rfind(" ")
    return cut[:space].rstrip() if space > size // 2 else cut
