"""Documents a company uploads (an agent's files, a conversation's files) and the passages cut from their text.

The full-text index of the chunks is not a Django field: on PostgreSQL it is a stored generated ``tsvector``
column with a GIN index, on SQLite an FTS5 table kept in step by triggers. Both are created by migration 0002.
"""

from __future__ import annotations

import uuid
from pathlib import PurePath

from django.db import models
from django.utils import timezone

from apps.companies.models import CompanyOwnedModel


def new_public_id() -> str:
    return str(uuid.uuid4())


def document_upload_to(document: Document, filename: str) -> str:
    # The stored name carries no part of the user's file name beyond a known suffix: no path tricks, no clashes.
    suffix = PurePath(filename).suffix.lower()[:10]
    return f"documents/{document.company_id}/{document.public_id}{suffix}"


class DocumentKind(models.TextChoices):
    PDF = "pdf", "PDF"
    DOCX = "docx", "Word document (.docx)"
    TEXT = "text", "Plain text"
    MARKDOWN = "markdown", "Markdown"
    CSV = "csv", "CSV"
    HTML = "html", "HTML"


class DocumentStatus(models.TextChoices):
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class Document(CompanyOwnedModel):
    """One uploaded file, its detected type and the outcome of text extraction."""

    public_id = models.CharField(max_length=36, unique=True, default=new_public_id, editable=False)
    filename = models.CharField(max_length=255, help_text="The file's name as uploaded (without any folder).")
    kind = models.CharField(max_length=16, choices=DocumentKind.choices, blank=True)
    content_type = models.CharField(max_length=100, blank=True, help_text="Detected from the content, not trusted.")
    size = models.PositiveBigIntegerField(help_text="Bytes.")
    sha256 = models.CharField(max_length=64)
    file = models.FileField(upload_to=document_upload_to, max_length=255)
    status = models.CharField(max_length=16, choices=DocumentStatus.choices, default=DocumentStatus.READY)
    failure_code = models.CharField(max_length=32, blank=True)
    failure_reason = models.CharField(max_length=255, blank=True)
    page_count = models.PositiveIntegerField(null=True, blank=True)
    text_length = models.PositiveIntegerField(default=0, help_text="Characters of text extracted (and kept).")
    text_truncated = models.BooleanField(default=False, help_text="The text was cut at DOCUMENT_MAX_CHARS.")
    chunk_count = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["company", "-created"], name="documents_company_recent")]

    def __str__(self) -> str:
        return self.filename


class DocumentChunk(models.Model):
    """A passage of a document's text, ~800-1,200 characters cut at paragraph or sentence boundaries.

    Chunks belong to their document's company through the document; they are read only through
    ``selectors.passages_for``, which scopes the documents first.
    """

    # The unique (document, ordinal) index serves lookups by document; a second index on document alone would
    # only cost writes.
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="chunks", db_index=False)
    ordinal = models.PositiveIntegerField(help_text="0 for the document's first chunk.")
    text = models.TextField()
    char_start = models.PositiveIntegerField(help_text="Offset of the chunk in the extracted text.")
    char_end = models.PositiveIntegerField()
    page = models.PositiveIntegerField(null=True, blank=True, help_text="1-based page where the chunk starts (PDF).")
    token_estimate = models.PositiveIntegerField(help_text="About four characters per token.")

    class Meta:
        ordering = ["document_id", "ordinal"]
        constraints = [models.UniqueConstraint(fields=["document", "ordinal"], name="documents_chunk_ordinal")]

    def __str__(self) -> str:
        return f"{self.document_id}#{self.ordinal}"
