"""Files the tests (and bench/documents.py) build on the fly: real PDFs written with pypdf's object model and real
.docx files written with python-docx, so that no binary fixture needs to be committed."""

from __future__ import annotations

import io
import textwrap

import docx
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

LINE_CHARS = 90
LINES_PER_PAGE = 50


def _pdf_string(text: str) -> bytes:
    # A PDF literal string in the standard Latin encoding, with its three special characters escaped.
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return b"(" + escaped.encode("latin-1", errors="replace") + b")"


def make_pdf(pages: list[str], *, password: str | None = None) -> bytes:
    """A PDF with one page per string, the text set in Helvetica, wrapped to lines; optionally encrypted."""
    writer = PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
            NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
        }
    )
    font_ref = writer._add_object(font)
    for text in pages:
        page = writer.add_blank_page(width=612, height=792)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font_ref})}
        )
        lines = []
        for paragraph in text.split("\n"):
            lines.extend(textwrap.wrap(paragraph, LINE_CHARS) or [""])
        ops = [b"BT", b"/F1 10 Tf", b"12 TL", b"40 760 Td"]
        for line in lines[: LINES_PER_PAGE * 2]:
            ops.append(_pdf_string(line) + b" Tj T*")
        ops.append(b"ET")
        stream = DecodedStreamObject()
        stream.set_data(b"\n".join(ops))
        page[NameObject("/Contents")] = writer._add_object(stream)
    if password is not None:
        writer.encrypt(user_password=password, owner_password=password + "-owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def make_docx(paragraphs: list[str], *, table: list[list[str]] | None = None, heading: str | None = None) -> bytes:
    document = docx.Document()
    if heading:
        document.add_heading(heading, level=1)
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
