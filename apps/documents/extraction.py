"""Text extraction from uploaded files: PDF (pypdf), DOCX (python-docx), plain text, Markdown, CSV and HTML.

Everything here is synchronous, CPU-bound and touches no database: an async caller (the chat's streaming view)
runs it in a worker thread, e.g. ``await sync_to_async(extract_text, thread_sensitive=False)(...)``, never on the
event loop. The type is decided from the content (magic bytes) and the file name together; the client's
Content-Type header is never trusted.
"""

from __future__ import annotations

import codecs
import io
import logging
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import PurePath

from apps.documents.models import DocumentKind

CONTENT_TYPES = {
    DocumentKind.PDF: "application/pdf",
    DocumentKind.DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    DocumentKind.TEXT: "text/plain",
    DocumentKind.MARKDOWN: "text/markdown",
    DocumentKind.CSV: "text/csv",
    DocumentKind.HTML: "text/html",
}
EXTENSIONS = {
    ".pdf": DocumentKind.PDF,
    ".docx": DocumentKind.DOCX,
    ".txt": DocumentKind.TEXT,
    ".text": DocumentKind.TEXT,
    ".md": DocumentKind.MARKDOWN,
    ".markdown": DocumentKind.MARKDOWN,
    ".csv": DocumentKind.CSV,
    ".html": DocumentKind.HTML,
    ".htm": DocumentKind.HTML,
}
TEXT_KINDS = frozenset({DocumentKind.TEXT, DocumentKind.MARKDOWN, DocumentKind.CSV, DocumentKind.HTML})
SUPPORTED_TYPES_TEXT = "PDF, Word (.docx), plain text (.txt), Markdown (.md), CSV and HTML"

# A .docx is a zip: refuse one whose parts would inflate beyond this before python-docx reads them (zip bombs).
DOCX_MAX_UNCOMPRESSED_BYTES = 256 * 1024 * 1024
# Signatures of common binary formats that are not supported, for a precise message instead of "binary file".
_OTHER_BINARY = {
    b"\xd0\xcf\x11\xe0": "Legacy Microsoft Office files (.doc, .xls, .ppt) are not supported; save as .docx or PDF.",
    b"\x89PNG": "Images are not supported: there is no text to extract (no OCR).",
    b"\xff\xd8\xff": "Images are not supported: there is no text to extract (no OCR).",
    b"GIF8": "Images are not supported: there is no text to extract (no OCR).",
    b"\x1f\x8b": "Compressed (gzip) files are not supported; upload the file itself.",
}

# pypdf reports recoverable defects of a PDF through logging; they are not our errors.
logging.getLogger("pypdf").setLevel(logging.ERROR)


class DocumentError(Exception):
    """A file that cannot become a document. ``code`` is for programs, ``message`` for people."""

    TOO_LARGE = "too_large"
    EMPTY = "empty"
    UNSUPPORTED_TYPE = "unsupported_type"
    CORRUPT = "corrupt"
    ENCRYPTED = "encrypted"
    NO_TEXT = "no_text"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Extraction:
    """The text of a file. ``page_starts`` holds the offset in ``text`` where each page begins (PDF only)."""

    kind: str
    content_type: str
    text: str
    page_starts: tuple[int, ...] = ()
    truncated: bool = False
    page_count: int | None = None


def detect_kind(*, filename: str, content: bytes) -> str:
    """The document kind from the magic bytes first, then the file name; DocumentError when unsupported."""
    suffix = PurePath(filename).suffix.lower()
    head = content[:1024]
    if b"%PDF-" in head:
        return DocumentKind.PDF
    if content.startswith(b"PK\x03\x04"):
        if _zip_has(content, "word/document.xml"):
            return DocumentKind.DOCX
        if suffix == ".docx":
            raise DocumentError(DocumentError.CORRUPT, "This .docx file is damaged: it has no document body.")
        raise DocumentError(
            DocumentError.UNSUPPORTED_TYPE, f"Zip archives are not supported. Supported: {SUPPORTED_TYPES_TEXT}."
        )
    for magic, message in _OTHER_BINARY.items():
        if content.startswith(magic):
            raise DocumentError(DocumentError.UNSUPPORTED_TYPE, message)
    kind = EXTENSIONS.get(suffix)
    if kind == DocumentKind.PDF:
        raise DocumentError(DocumentError.CORRUPT, "This file is named .pdf but is not a PDF document.")
    if kind == DocumentKind.DOCX:
        raise DocumentError(DocumentError.CORRUPT, "This file is named .docx but is not a Word document.")
    if kind is None and suffix:
        raise DocumentError(
            DocumentError.UNSUPPORTED_TYPE,
            f"Files of type {suffix} are not supported. Supported: {SUPPORTED_TYPES_TEXT}.",
        )
    if kind is None:
        # No extension at all: text it is, HTML when it says so.
        lowered = head.lower()
        kind = DocumentKind.HTML if b"<!doctype html" in lowered or b"<html" in lowered else DocumentKind.TEXT
    return kind


def extract_text(*, filename: str, content: bytes, max_chars: int) -> Extraction:
    """Extract and normalize the text of ``content``. Raises DocumentError (never anything else) when the file is
    empty, of an unsupported type, damaged, encrypted or without text. Text beyond ``max_chars`` is cut off."""
    if not content:
        raise DocumentError(DocumentError.EMPTY, "The file is empty.")
    kind = detect_kind(filename=filename, content=content)
    if kind == DocumentKind.PDF:
        pages, page_count = _pdf_pages(content, max_chars)
    elif kind == DocumentKind.DOCX:
        pages, page_count = [_docx_text(content)], None
    else:
        text = decode_text(content)
        pages, page_count = [html_to_text(text) if kind == DocumentKind.HTML else text], None
    text, page_starts, truncated = _join_pages(pages, max_chars)
    if not text:
        reason = (
            "No text could be extracted: the PDF may hold only scanned images (OCR is not supported)."
            if kind == DocumentKind.PDF
            else "The file holds no text."
        )
        raise DocumentError(DocumentError.NO_TEXT, reason)
    return Extraction(
        kind=kind,
        content_type=CONTENT_TYPES[kind],
        text=text,
        page_starts=page_starts if kind == DocumentKind.PDF else (),
        truncated=truncated,
        page_count=page_count,
    )


# -- text normalization ----------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff]")
_TRAILING_SPACE = re.compile(r"[ \t\xa0]+\n")
_MANY_NEWLINES = re.compile(r"\n{3,}")


def normalize_text(text: str) -> str:
    """NFC, Unix newlines, no control characters, no trailing spaces, at most one blank line in a row."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL.sub("", text)
    text = _TRAILING_SPACE.sub("\n", text)
    return _MANY_NEWLINES.sub("\n\n", text).strip()


def _join_pages(pages: list[str], max_chars: int) -> tuple[str, tuple[int, ...], bool]:
    parts: list[str] = []
    starts: list[int] = []
    length = 0
    truncated = False
    for raw in pages:
        page = normalize_text(raw)
        separator = 2 if parts else 0
        starts.append(length + separator if page else length)
        if not page:
            continue
        if length + separator + len(page) > max_chars:
            page = page[: max(0, max_chars - length - separator)]
            truncated = True
        if page:
            parts.append(page)
            length += separator + len(page)
        if truncated:
            break
    return "\n\n".join(parts), tuple(starts), truncated


# -- plain text ------------------------------------------------------------------------------------------------


def decode_text(content: bytes) -> str:
    """Decode a text file: a BOM decides (UTF-8, UTF-16, UTF-32); else UTF-8, UTF-16 without BOM when every other
    byte is NUL, Windows-1252, and Latin-1 as the last resort (it decodes anything). Binary content is refused."""
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if content.startswith(bom):
            return content[len(bom) :].decode(encoding, errors="replace")
    sample = content[:4096]
    nul_even, nul_odd = sample[0::2].count(0), sample[1::2].count(0)
    if len(sample) >= 4 and max(nul_even, nul_odd) > len(sample) * 0.4 and min(nul_even, nul_odd) < len(sample) * 0.05:
        return content.decode("utf-16-be" if nul_even > nul_odd else "utf-16-le", errors="replace")
    if 0 in sample:
        raise DocumentError(
            DocumentError.UNSUPPORTED_TYPE,
            f"This looks like a binary file, not text. Supported: {SUPPORTED_TYPES_TEXT}.",
        )
    for encoding in ("utf-8", "cp1252"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    return content.decode("latin-1")


# -- HTML ------------------------------------------------------------------------------------------------------

_BLOCK_TAGS_TEXT = (
    "address article aside blockquote dd details dialog div dl dt fieldset figcaption figure footer form h1 h2 h3 "
    "h4 h5 h6 header hr li main nav ol p pre section summary table tbody thead tfoot tr ul caption title"
)
_BLOCK_TAGS = frozenset(_BLOCK_TAGS_TEXT.split())
_SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "math", "iframe", "object", "head"})
_SPACES = re.compile(r"[ \t\n\r\f\v]+")


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping: list[str] = []
        self.in_pre = 0
        self.title: list[str] = []
        self.in_title = False

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in _SKIPPED_TAGS:
            self.skipping.append(tag)
        elif tag == "title":
            self.in_title = True
        elif tag == "br":
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" | ")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")
        if tag == "pre":
            self.in_pre += 1

    def handle_startendtag(self, tag: str, attrs) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self.skipping and tag == self.skipping[-1]:
            self.skipping.pop()
        elif tag == "title":
            self.in_title = False
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")
        if tag == "pre" and self.in_pre:
            self.in_pre -= 1

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title.append(data)
        elif not self.skipping:
            self.parts.append(data if self.in_pre else _SPACES.sub(" ", data))


def html_to_text(html: str) -> str:
    """The visible text of an HTML page (title first), without scripts, styles or markup."""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    title = _SPACES.sub(" ", "".join(collector.title)).strip()
    body = "".join(collector.parts)
    # Lines collapse their inner spaces; blocks keep their blank-line separation.
    body = "\n".join(line.strip(" ") for line in body.split("\n"))
    return f"{title}\n\n{body}" if title else body


# -- PDF -------------------------------------------------------------------------------------------------------


def _pdf_pages(content: bytes, max_chars: int) -> tuple[list[str], int]:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    try:
        reader = PdfReader(io.BytesIO(content), strict=False)
        if reader.is_encrypted:
            # Many PDFs are "encrypted" with an empty user password only to restrict printing; those open.
            try:
                opened = reader.decrypt("")
            except (DependencyError, FileNotDecryptedError, NotImplementedError):
                opened = 0
            if not opened:
                raise DocumentError(
                    DocumentError.ENCRYPTED, "This PDF is password-protected; upload a copy without a password."
                )
        pages: list[str] = []
        collected = 0
        page_count = len(reader.pages)
        for page in reader.pages:
            text = page.extract_text() or ""
            pages.append(text)
            collected += len(text)
            if collected > max_chars:
                break  # The rest would be cut off anyway: spare the CPU.
        return pages, page_count
    except DocumentError:
        raise
    except Exception as exc:
        # pypdf raises many exception types on malformed input (PdfReadError, KeyError, ValueError, ...).
        raise DocumentError(DocumentError.CORRUPT, "This PDF is damaged and could not be read.") from exc


# -- DOCX ------------------------------------------------------------------------------------------------------


def _zip_has(content: bytes, name: str) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return name in archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return False


def _docx_text(content: bytes) -> str:
    import docx
    from docx.table import Table

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
        if inflated > DOCX_MAX_UNCOMPRESSED_BYTES:
            raise DocumentError(DocumentError.TOO_LARGE, "This .docx file expands to too much data to be read.")
        document = docx.Document(io.BytesIO(content))
        blocks: list[str] = []
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                blocks.append(_docx_table_text(block))
            else:
                blocks.append(block.text)
        return "\n\n".join(block for block in blocks if block.strip())
    except DocumentError:
        raise
    except Exception as exc:
        # python-docx and lxml raise KeyError, ValueError, XMLSyntaxError, PackageNotFoundError, ... on damage.
        raise DocumentError(DocumentError.CORRUPT, "This Word document is damaged and could not be read.") from exc


def _docx_table_text(table) -> str:
    lines = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            # A merged cell is reported once per grid column it spans.
            if not cells or cells[-1] != text:
                cells.append(text)
        lines.append(" | ".join(cells))
    return "\n".join(lines)
