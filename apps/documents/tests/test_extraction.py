"""Text extraction of every supported type, from files the tests build, and the clear errors for the rest."""

import codecs
import io
import time
import zipfile

import pytest

from apps.documents import extraction
from apps.documents.extraction import DocumentError, decode_text, extract_text
from apps.documents.tests.files import make_docx, make_pdf

LIMIT = 2_000_000


def extract(filename: str, content: bytes, max_chars: int = LIMIT):
    return extract_text(filename=filename, content=content, max_chars=max_chars)


def error_code(filename: str, content: bytes) -> str:
    with pytest.raises(DocumentError) as caught:
        extract(filename, content)
    assert caught.value.message  # every error has words for a person
    return caught.value.code


def test_pdf_text_comes_out_page_by_page_with_page_offsets():
    pdf = make_pdf(["The notice period is thirty days.", "Payment is due within 45 days (net)."])

    result = extract("contract.pdf", pdf)

    assert result.kind == "pdf"
    assert result.content_type == "application/pdf"
    assert result.page_count == 2
    assert result.text == "The notice period is thirty days.\n\nPayment is due within 45 days (net)."
    assert result.page_starts == (0, result.text.index("Payment"))


def test_pdf_is_recognised_by_its_content_whatever_its_name():
    result = extract("download", make_pdf(["Plain words."]))

    assert result.kind == "pdf"
    assert result.text == "Plain words."


def test_pdf_encrypted_with_an_empty_user_password_still_opens():
    result = extract("restricted.pdf", make_pdf(["Readable by anyone."], password=""))

    assert result.text == "Readable by anyone."


def test_docx_paragraphs_heading_and_table_in_document_order():
    content = make_docx(
        ["First paragraph.", "Second paragraph."], table=[["Name", "Role"], ["Ada", "Engineer"]], heading="Team"
    )

    result = extract("team.docx", content)

    assert result.kind == "docx"
    assert result.text == "Team\n\nFirst paragraph.\n\nSecond paragraph.\n\nName | Role\nAda | Engineer"
    assert result.page_starts == ()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("Grüße aus Köln".encode(), "Grüße aus Köln"),
        (codecs.BOM_UTF8 + "Grüße".encode(), "Grüße"),
        (codecs.BOM_UTF16_LE + "Grüße".encode("utf-16-le"), "Grüße"),
        (codecs.BOM_UTF16_BE + "Grüße".encode("utf-16-be"), "Grüße"),
        ("Grüße without a BOM".encode("utf-16-le"), "Grüße without a BOM"),
        ("Smart \u201cquotes\u201d \u2013 cp1252".encode("cp1252"), "Smart \u201cquotes\u201d \u2013 cp1252"),
        (b"Latin-1 only \x81\xe9", "Latin-1 only \x81é"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-le-bom", "utf-16-be-bom", "utf-16-no-bom", "cp1252", "latin-1"],
)
def test_text_encodings_are_detected(content, expected):
    assert decode_text(content) == expected


def test_markdown_and_csv_keep_their_text():
    markdown = extract("notes.md", b"# Title\r\n\r\n* one\r\n* two   \r\n\r\n\r\n\r\nEnd")
    csv = extract("table.csv", b"name,amount\nAda,10\nBob,20\n")

    assert (markdown.kind, markdown.content_type) == ("markdown", "text/markdown")
    assert markdown.text == "# Title\n\n* one\n* two\n\nEnd"
    assert (csv.kind, csv.text) == ("csv", "name,amount\nAda,10\nBob,20")


def test_html_keeps_visible_text_and_drops_scripts_styles_and_markup():
    page = b"""<!DOCTYPE html><html><head><title>Policy &amp; Rules</title>
    <style>body { color: red }</style><script>alert('x')</script></head>
    <body><h1>Travel   policy</h1><p>Book <b>economy</b> class.<br>Always.</p>
    <table><tr><td>Hotel</td><td>&euro;120</td></tr></table><noscript>enable js</noscript></body></html>"""

    result = extract("policy.html", page)

    assert result.kind == "html"
    assert result.text.startswith("Policy & Rules\n\nTravel policy\n\nBook economy class.\nAlways.")
    assert "| Hotel | €120" in result.text
    for hidden in ("alert", "color: red", "enable js", "<b>"):
        assert hidden not in result.text


def test_html_without_an_extension_is_sniffed():
    assert extract("page", b"<html><body><p>Hi there</p></body></html>").kind == "html"


def test_control_characters_are_removed_and_text_is_nfc():
    result = extract("a.txt", "Cafe\u0301\x07 ok\x0c".encode())

    assert result.text == "Café ok"


def test_text_beyond_the_character_limit_is_cut_and_marked():
    result = extract("long.txt", b"word " * 1000, max_chars=100)

    assert result.truncated is True
    assert len(result.text) <= 100


def test_pdf_beyond_the_character_limit_stops_early_and_is_marked():
    pdf = make_pdf([f"Page {n} " + "text " * 100 for n in range(20)])

    result = extract("long.pdf", pdf, max_chars=1000)

    assert result.truncated is True
    assert len(result.text) == 1000
    assert result.page_count == 20


@pytest.mark.parametrize(
    ("filename", "content"),
    [
        ("photo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20),
        ("photo.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 20),
        ("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 20),
        ("archive.gz", b"\x1f\x8b\x08\x00"),
        ("program.exe", b"MZ\x90\x00 this is not text"),
        ("data.json", b'{"a": 1}'),
        ("binary.txt", b"abc\x00\x01\x02\x03def\x00"),
        ("bundle.zip", b"PK\x03\x04" + b"\x00" * 30),
    ],
)
def test_unsupported_types_are_refused_with_a_clear_error(filename, content):
    assert error_code(filename, content) == DocumentError.UNSUPPORTED_TYPE


def _zip(parts: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("filename", "content"),
    [
        ("truncated.pdf", make_pdf(["Some text on a page."])[:200]),
        ("garbage.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 20),
        ("broken-xref.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\ntrailer << /Root 1 0 R >>"),
        ("not-a-pdf.pdf", b"Just some words in a file named like a PDF."),
        ("not-a-docx.docx", b"Just some words in a file named like a Word document."),
        ("empty-zip.docx", _zip({"hello.txt": b"hi"})),
        ("broken-xml.docx", _zip({"[Content_Types].xml": b"<Types", "word/document.xml": b"<w:document"})),
        ("truncated.docx", make_docx(["A paragraph."])[:300]),
    ],
)
def test_damaged_pdf_and_docx_files_are_a_clear_error_and_fail_fast(filename, content):
    started = time.perf_counter()

    assert error_code(filename, content) == DocumentError.CORRUPT
    assert time.perf_counter() - started < 5


def test_password_protected_pdf_is_refused_as_encrypted():
    assert error_code("secret.pdf", make_pdf(["Top secret."], password="s3cret")) == DocumentError.ENCRYPTED


def test_pdf_without_a_text_layer_says_there_is_no_text():
    assert error_code("scan.pdf", make_pdf([""])) == DocumentError.NO_TEXT


def test_empty_file_and_whitespace_only_file_are_refused():
    assert error_code("empty.txt", b"") == DocumentError.EMPTY
    assert error_code("blank.txt", b"  \n\n \t ") == DocumentError.NO_TEXT


def test_docx_that_would_inflate_beyond_the_limit_is_refused_before_parsing(monkeypatch):
    monkeypatch.setattr(extraction, "DOCX_MAX_UNCOMPRESSED_BYTES", 50_000)
    content = make_docx(["word " * 20_000])

    assert error_code("bomb.docx", content) == DocumentError.TOO_LARGE
