"""Writes of documents: create (store, extract, chunk, index) and delete. Each leaves an audit event.

Synchronous and partly CPU-bound (extraction of a large PDF takes seconds): an async caller runs these through
``sync_to_async(document_create)(...)`` (thread-sensitive, as Django's docs advise for ORM work), never on the
event loop.
"""

from __future__ import annotations

import hashlib
import unicodedata
from functools import partial
from pathlib import PurePath

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import Http404

from apps.audit.models import Outcome
from apps.audit.services import Actor, audit_event_record
from apps.companies.models import Company
from apps.documents.chunking import chunk_text
from apps.documents.extraction import CONTENT_TYPES, DocumentError, Extraction, detect_kind, extract_text
from apps.documents.models import Document, DocumentChunk, DocumentStatus

# Failures that describe the file's content rather than the request: with keep_failed, such a document is kept
# (status "failed", with its reason) so that an admin sees what went wrong with which file.
KEEPABLE_FAILURES = frozenset({DocumentError.CORRUPT, DocumentError.ENCRYPTED, DocumentError.NO_TEXT})
MAX_FILENAME_CHARS = 255


def document_create(
    *,
    company: Company,
    actor: Actor,
    uploaded_file: UploadedFile | None = None,
    name: str | None = None,
    content: bytes | None = None,
    keep_failed: bool = False,
) -> Document:
    """Store a file of ``company`` as a document: detect its type, extract its text, cut it into chunks and index
    them. Give either ``uploaded_file`` or ``name`` and ``content``.

    Raises DocumentError (code and message for the user) when the file is too large, empty, of an unsupported
    type, damaged, encrypted or has no text; nothing is stored then, and a failure is audited. With
    ``keep_failed``, a damaged, encrypted or textless file is stored anyway with status "failed" and its reason.
    """
    filename = clean_filename(uploaded_file.name if uploaded_file is not None else name)
    try:
        data = _read(uploaded_file, content)
        extraction: Extraction | None = extract_text(
            filename=filename, content=data, max_chars=settings.DOCUMENT_MAX_CHARS
        )
        failure: DocumentError | None = None
    except DocumentError as error:
        if not keep_failed or error.code not in KEEPABLE_FAILURES:
            audit_event_record(
                action="document.rejected",
                company=company,
                actor=actor,
                outcome=Outcome.FAILURE,
                detail={"filename": filename, "code": error.code, "reason": error.message},
            )
            raise
        extraction, failure = None, error

    chunks = chunk_text(extraction.text, page_starts=extraction.page_starts) if extraction else []
    document = Document(
        company=company,
        filename=filename,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        status=DocumentStatus.READY if extraction else DocumentStatus.FAILED,
        chunk_count=len(chunks),
    )
    if extraction is not None:
        document.kind, document.content_type = extraction.kind, extraction.content_type
        document.text_length, document.text_truncated = len(extraction.text), extraction.truncated
        document.page_count = extraction.page_count
    else:
        document.kind = _kind_or_blank(filename, data)
        document.content_type = CONTENT_TYPES.get(document.kind, "")
        document.failure_code, document.failure_reason = failure.code, failure.message[:255]

    document.file.save(filename, ContentFile(data), save=False)
    try:
        with transaction.atomic():
            document.save()
            # On SQLite the FTS5 index follows these inserts through triggers; on PostgreSQL the tsvector column
            # is generated from the text. Either way the index commits (or rolls back) with the rows.
            DocumentChunk.objects.bulk_create(
                [
                    DocumentChunk(
                        document=document,
                        ordinal=chunk.ordinal,
                        text=chunk.text,
                        char_start=chunk.start,
                        char_end=chunk.end,
                        page=chunk.page,
                        token_estimate=chunk.token_estimate,
                    )
                    for chunk in chunks
                ],
                batch_size=500,
            )
            audit_event_record(
                action="document.created" if extraction else "document.failed",
                company=company,
                actor=actor,
                outcome=Outcome.SUCCESS if extraction else Outcome.FAILURE,
                target=document,
                detail=_audit_detail(document),
            )
    except BaseException:
        document.file.delete(save=False)  # the rows never landed: leave no orphan file behind
        raise
    return document


@transaction.atomic
def document_delete(*, company: Company, actor: Actor, document: Document) -> None:
    """Delete a document of ``company``: its chunks, their index entries and, once committed, its stored file."""
    if document.company_id != company.pk:
        raise Http404  # another company's document is as good as missing
    detail = _audit_detail(document)
    stored_name, storage = document.file.name, document.file.storage
    audit_event_record(action="document.deleted", company=company, actor=actor, target=document, detail=detail)
    document.chunks.all().delete()
    document.delete()
    if stored_name:
        # After the commit only: a rolled-back delete must still find its file.
        transaction.on_commit(partial(storage.delete, stored_name))


def clean_filename(name: str | None) -> str:
    """The file's own name (no folders), printable, at most 255 characters, keeping its extension."""
    base = PurePath((name or "").replace("\\", "/")).name
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if ch.isprintable()).strip()
    if len(base) > MAX_FILENAME_CHARS:
        suffix = PurePath(base).suffix[:16]
        base = base[: MAX_FILENAME_CHARS - len(suffix)] + suffix
    return base or "file"


def _read(uploaded_file: UploadedFile | None, content: bytes | None) -> bytes:
    limit = settings.DOCUMENT_MAX_BYTES
    too_large = DocumentError(DocumentError.TOO_LARGE, f"The file is larger than the limit of {_megabytes(limit)} MB.")
    if uploaded_file is not None:
        if uploaded_file.size is not None and uploaded_file.size > limit:
            raise too_large
        uploaded_file.seek(0)
        data = uploaded_file.read(limit + 1)
    else:
        data = content or b""
    if len(data) > limit:
        raise too_large
    return data


def _kind_or_blank(filename: str, data: bytes) -> str:
    try:
        return detect_kind(filename=filename, content=data)
    except DocumentError:
        return ""


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g}"


def _audit_detail(document: Document) -> dict:
    detail = {
        "filename": document.filename,
        "size": document.size,
        "sha256": document.sha256,
        "kind": document.kind,
        "chunks": document.chunk_count,
    }
    if document.status == DocumentStatus.FAILED:
        detail["code"] = document.failure_code
    return detail
