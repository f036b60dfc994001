"""document_create and document_delete: what is stored, indexed, audited and removed."""

import hashlib
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.http import Http404

from apps.audit.models import AuditEvent
from apps.documents.extraction import DocumentError
from apps.documents.models import Document, DocumentChunk, DocumentStatus
from apps.documents.selectors import get_document_for_company
from apps.documents.services import clean_filename, document_create, document_delete
from apps.documents.tests.files import make_docx, make_pdf

SECTION = "Section {n}. The supplier delivers widgets of grade {n} to the customer every week. "


def long_text(sections: int = 30) -> bytes:
    return "\n\n".join((SECTION.format(n=n) * 8).strip() for n in range(sections)).encode()


def index_rows(document_pks: list[int]) -> int:
    """Rows of the full-text index for these documents' chunks, read from the index itself."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # An FTS5 query answers from the index, so entries whose chunk is gone would still be counted.
            cursor.execute(
                "SELECT count(*) FROM documents_chunk_fts WHERE documents_chunk_fts MATCH ?",
                [" OR ".join(f'document_id : "{pk}"' for pk in document_pks)],
            )
        else:
            cursor.execute(
                "SELECT count(*) FROM documents_documentchunk WHERE document_id = ANY(%s) AND search IS NOT NULL",
                [document_pks],
            )
        return cursor.fetchone()[0]


def test_create_from_an_upload_stores_file_text_chunks_index_and_audit(company, actor):
    upload = SimpleUploadedFile("supply.txt", long_text(), content_type="application/octet-stream")

    document = document_create(company=company, actor=actor, uploaded_file=upload)

    document.refresh_from_db()
    assert document.company == company
    assert (document.filename, document.kind, document.content_type) == ("supply.txt", "text", "text/plain")
    assert document.status == DocumentStatus.READY
    assert document.size == len(long_text())
    assert document.sha256 == hashlib.sha256(long_text()).hexdigest()
    assert document.file.read() == long_text()
    assert document.file.name == f"documents/{company.pk}/{document.public_id}.txt"
    assert document.text_length == len(long_text())
    assert document.chunk_count == document.chunks.count() > 5
    assert index_rows([document.pk]) == document.chunk_count
    event = AuditEvent.objects.get(action="document.created")
    assert (event.company, event.actor_user, event.target_id) == (company, actor.user, document.public_id)
    assert event.detail["filename"] == "supply.txt"


def test_create_from_name_and_bytes_records_pdf_pages(company, actor):
    pdf = make_pdf([SECTION.format(n=1) * 12, SECTION.format(n=2) * 12])

    document = document_create(company=company, actor=actor, name="report.pdf", content=pdf)

    assert (document.kind, document.page_count) == ("pdf", 2)
    assert sorted({chunk.page for chunk in document.chunks.all()}) == [1, 2]


def test_create_docx(company, actor):
    document = document_create(company=company, actor=actor, name="memo.docx", content=make_docx(["Hello team."]))

    assert document.kind == "docx"
    assert [chunk.text for chunk in document.chunks.all()] == ["Hello team."]


def test_oversized_upload_is_refused_before_reading_and_nothing_is_stored(company, actor, settings, media_root):
    settings.DOCUMENT_MAX_BYTES = 1000
    upload = SimpleUploadedFile("big.txt", b"a" * 1001)

    with pytest.raises(DocumentError) as caught:
        document_create(company=company, actor=actor, uploaded_file=upload)

    assert caught.value.code == DocumentError.TOO_LARGE
    assert "limit" in caught.value.message
    assert not Document.objects.exists()
    assert not media_root.exists() or not any(media_root.rglob("*.*"))
    event = AuditEvent.objects.get(action="document.rejected")
    assert (event.outcome, event.detail["code"]) == ("failure", "too_large")


def test_oversized_bytes_are_refused(company, actor, settings):
    settings.DOCUMENT_MAX_BYTES = 10

    with pytest.raises(DocumentError) as caught:
        document_create(company=company, actor=actor, name="a.txt", content=b"eleven byte")

    assert caught.value.code == DocumentError.TOO_LARGE


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("image.png", b"\x89PNG\r\n\x1a\n", DocumentError.UNSUPPORTED_TYPE),
        ("empty.txt", b"", DocumentError.EMPTY),
        ("broken.pdf", b"%PDF-1.4 nothing else", DocumentError.CORRUPT),
    ],
)
def test_bad_files_are_refused_and_nothing_is_stored(company, actor, name, content, code):
    with pytest.raises(DocumentError) as caught:
        document_create(company=company, actor=actor, name=name, content=content)

    assert caught.value.code == code
    assert not Document.objects.exists()


def test_keep_failed_stores_a_damaged_file_with_its_reason_and_no_chunks(company, actor):
    document = document_create(
        company=company, actor=actor, name="secret.pdf", content=make_pdf(["x"], password="pw"), keep_failed=True
    )

    assert document.status == DocumentStatus.FAILED
    assert (document.kind, document.failure_code) == ("pdf", DocumentError.ENCRYPTED)
    assert "password" in document.failure_reason
    assert document.chunks.count() == 0
    assert AuditEvent.objects.get(action="document.failed").outcome == "failure"


def test_keep_failed_still_refuses_unsupported_types(company, actor):
    with pytest.raises(DocumentError):
        document_create(company=company, actor=actor, name="a.png", content=b"\x89PNG....", keep_failed=True)


def test_delete_removes_chunks_index_rows_and_the_file_after_commit(company, actor, django_capture_on_commit_callbacks):
    keep = document_create(company=company, actor=actor, name="keep.txt", content=long_text())
    document = document_create(company=company, actor=actor, name="drop.txt", content=long_text())
    path = document.file.path

    with django_capture_on_commit_callbacks(execute=True):
        document_delete(company=company, actor=actor, document=document)

    assert not Document.objects.filter(pk=document.pk).exists()
    assert not DocumentChunk.objects.filter(document_id=document.pk).exists()
    assert index_rows([document.pk]) == 0
    assert index_rows([keep.pk]) == keep.chunk_count
    assert not os.path.exists(path)
    assert keep.file.storage.exists(keep.file.name)
    assert AuditEvent.objects.get(action="document.deleted").target_id == document.public_id


def test_deleting_a_company_also_empties_its_index(company, other_company, actor):
    mine = document_create(company=company, actor=actor, name="a.txt", content=long_text())
    theirs = document_create(company=other_company, actor=actor, name="b.txt", content=long_text())

    other_company.delete()

    assert index_rows([theirs.pk]) == 0
    assert index_rows([mine.pk]) == mine.chunk_count


def test_delete_refuses_another_companys_document(company, other_company, actor):
    theirs = document_create(company=other_company, actor=actor, name="b.txt", content=b"Theirs.")

    with pytest.raises(Http404):
        document_delete(company=company, actor=actor, document=theirs)

    assert Document.objects.filter(pk=theirs.pk).exists()


def test_lookup_by_public_id_is_scoped_to_the_company(company, other_company, actor):
    theirs = document_create(company=other_company, actor=actor, name="b.txt", content=b"Theirs.")

    assert get_document_for_company(other_company, theirs.public_id) == theirs
    with pytest.raises(Http404):
        get_document_for_company(company, theirs.public_id)
    with pytest.raises(Http404):
        get_document_for_company(company, "not-an-id")


def test_the_index_is_in_place_on_this_database(db):
    expected = {
        "sqlite": {"documents_chunk_fts", "documents_chunk_fts_insert", "documents_chunk_fts_delete"},
        "postgresql": {"documents_chunk_search"},
    }[connection.vendor]
    with connection.cursor() as cursor:
        cursor.execute(
            {
                "sqlite": "SELECT name FROM sqlite_master WHERE name LIKE 'documents_chunk_%%'",
                "postgresql": "SELECT indexname FROM pg_indexes WHERE indexname LIKE 'documents_chunk_%%'",
            }[connection.vendor]
        )
        names = {row[0] for row in cursor.fetchall()}

    assert expected <= names


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("C:\\Users\\ada\\notes.md", "notes.md"),
        ("tab\there.txt", "tabhere.txt"),
        ("", "file"),
        ("a" * 300 + ".pdf", "a" * 251 + ".pdf"),
    ],
)
def test_file_names_lose_folders_and_control_characters(name, expected):
    assert clean_filename(name) == expected
