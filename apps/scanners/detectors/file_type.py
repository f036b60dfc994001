"""Allowed file types, judged by content rather than by name.

``scan_bytes(data, filename)`` decides three things:

1. **The content's type.** Binary formats by signature with ``filetype`` (images, PDF, archives, executables,
   media ...). ZIP containers are opened (central directory only, nothing is decompressed) to tell docx/xlsx/pptx,
   their macro-enabled variants (docm/xlsm/pptm: a ``vbaProject.bin`` inside), OpenDocument and EPUB apart.
   Anything else that decodes as text (UTF-8, UTF-16 with a BOM, or Windows-1252 without control characters) is
   classified by these rules, in order, on the first 64 KB:
   - ``json``: starts with ``{`` or ``[`` and the whole file parses as JSON;
   - ``xml`` / ``svg``: starts with ``<?xml`` (``svg`` when an ``<svg`` element follows) or with ``<svg``;
   - ``html``: starts with ``<!doctype html``, ``<html``, ``<head`` or ``<body``, or starts with ``<`` and
     contains at least two common HTML tags;
   - ``csv``: at least two of the first 20 non-empty lines, and 90% of them, have the same non-zero number of one
     delimiter among ``, ; TAB |``;
   - ``code``: a ``#!`` first line, or at least 20% of the first 200 non-empty lines look like code (keywords
     such as ``def``/``import``/``function``/``#include``/``SELECT``, or lines ending in ``;``, ``{`` or ``}``);
   - ``md``: at least two Markdown constructs (headings, list items, fenced code, links);
   - ``txt`` otherwise. Undecodable bytes are ``binary``; zero bytes are ``empty``.
2. **Whether it contradicts the name.** A known extension that names a different binary type, a binary
   extension on text, or text content that cannot be what its extension says (``.json`` that does not parse,
   ``.html`` without markup, markup in a ``.txt``/code file) is refused, naming both types. Plain-text
   extensions are lenient among themselves: a ``.txt`` holding Markdown or CSV is still a ``.txt``.
3. **Whether the type is allowed** (``allowed_types``), for the declared type when consistent, else the
   content's type.

``magika`` (Google's deep-learning classifier) was measured and left out: 9.5 ms per file on one thread for the
text and code distinctions these rules make, plus onnxruntime and a 34 MB CLI binary in its wheel.
"""

from __future__ import annotations

import codecs
import io
import json
import re
import time
import zipfile
from dataclasses import asdict, dataclass, field
from typing import Any

import filetype

from . import _checks
from .base import Finding, ScanContext, ScannerConfigError, ScanResult

NAME = "file_type"
SAMPLE_BYTES = 64 * 1024
# JSON is verified by parsing the whole file; past this size it is judged on its shape alone.
MAX_JSON_PARSE_BYTES = 10 * 1024 * 1024

TEXT_TYPES = ("txt", "md", "csv", "html", "json", "xml", "svg", "code")
_OFFICE_TYPES = ("docx", "xlsx", "pptx", "docm", "xlsm", "pptm", "odt", "ods", "odp", "epub")
_FILETYPE_ALIASES = {"jpg": "jpeg", "jpx": "jp2", "tif": "tiff"}
BINARY_TYPES = tuple(
    sorted({_FILETYPE_ALIASES.get(t.extension, t.extension) for t in filetype.types} | set(_OFFICE_TYPES))
)
KNOWN_TYPES = frozenset(TEXT_TYPES) | frozenset(BINARY_TYPES) | {"binary", "empty"}
DEFAULT_ALLOWED = ["pdf", "docx", "xlsx", "pptx", "txt", "md", "csv", "html", "json", "png", "jpeg", "gif", "webp"]

_CODE_EXTENSIONS = [
    "py",
    "js",
    "mjs",
    "cjs",
    "ts",
    "tsx",
    "jsx",
    "java",
    "kt",
    "kts",
    "scala",
    "c",
    "h",
    "cc",
    "cpp",
    "hpp",
    "cs",
    "go",
    "rs",
    "rb",
    "php",
    "pl",
    "lua",
    "r",
    "swift",
    "m",
    "sh",
    "bash",
    "zsh",
    "ps1",
    "sql",
    "css",
    "scss",
    "yaml",
    "yml",
    "toml",
    "ini",
    "cfg",
    "conf",
]
EXTENSIONS: dict[str, str] = (
    {t: t for t in BINARY_TYPES}
    | {ext: "code" for ext in _CODE_EXTENSIONS}
    | {
        "jpg": "jpeg",
        "jpe": "jpeg",
        "tif": "tiff",
        "txt": "txt",
        "text": "txt",
        "log": "txt",
        "md": "md",
        "markdown": "md",
        "csv": "csv",
        "tsv": "csv",
        "html": "html",
        "htm": "html",
        "xhtml": "html",
        "json": "json",
        "xml": "xml",
        "svg": "svg",
    }
)
# Declared text type -> content types it may hold without contradicting its name.
_COMPATIBLE = {
    "txt": {"txt", "md", "csv", "json", "code"},
    "code": {"txt", "md", "csv", "json", "code"},
    "md": {"txt", "md", "csv", "json", "code", "html"},  # Markdown may embed HTML
    "csv": {"csv", "txt"},  # a one-column CSV is plain lines
    "json": {"json"},
    "html": {"html"},
    "xml": {"xml", "svg"},
    "svg": {"svg"},
}

_HTML_START = re.compile(r"\A(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.IGNORECASE | re.DOTALL)
_HTML_TAG = re.compile(
    r"<(?:html|head|body|div|p|span|a|script|style|table|tr|td|ul|ol|li|h[1-6]|img|form|input|iframe|meta|link|br)"
    r"\b[^>]{0,500}>",
    re.IGNORECASE,
)
_CODE_LINE = re.compile(
    r"^\s*(?:def |class |import |from \S+ import |function\b|const |let |var |#include|#define|public |private |"
    r"package |using |fn |func |return\b|if\s*\(|for\s*\(|while\s*\(|SELECT |INSERT |UPDATE |CREATE TABLE)"
    r"|[;{}]\s*$",
)
_MD_LINE = re.compile(r"^(?:#{1,6} \S|\s*[-*+] \S|\s*\d+\. \S|```|~~~|>\s)|\[[^\]\n]+\]\([^)\s]+\)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")


@dataclass
class FileTypeSettings:
    allowed_types: list[str] = field(default_factory=lambda: list(DEFAULT_ALLOWED))
    action: str = "block"  # taken when the type is not allowed or contradicts the name

    def __post_init__(self) -> None:
        types = _checks.string_list(NAME, "allowed_types", self.allowed_types, max_items=len(KNOWN_TYPES))
        self.allowed_types = [t.strip().lower().lstrip(".") for t in types]
        self.allowed_types = [EXTENSIONS.get(t, t) for t in self.allowed_types]  # "jpg" means jpeg
        bad = [t for t in self.allowed_types if t not in KNOWN_TYPES]
        if bad:
            raise ScannerConfigError(
                f"{NAME}: allowed_types: unknown type(s) {', '.join(bad)}; known text types: "
                f"{', '.join(TEXT_TYPES)}; binary types include pdf, docx, xlsx, pptx, png, jpeg, gif, webp, zip"
            )
        _checks.choice(NAME, "action", self.action, ("flag", "block"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileTypeSettings:
        data = _checks.require_mapping(NAME, data)
        _checks.reject_unknown_keys(NAME, data, cls.__dataclass_fields__)
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- detection -----------------------------------------------------------------------------------------------


def declared_type(filename: str) -> str | None:
    """The type a file name claims, or None when it has no extension we know."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    if "." not in base.strip("."):
        return None
    return EXTENSIONS.get(base.rsplit(".", 1)[-1].lower())


def detect_type(data: bytes) -> str:
    """The content's type: one of KNOWN_TYPES."""
    if not data:
        return "empty"
    if data.startswith(b"PK\x03\x04"):
        container = _zip_type(data)
        if container:
            return container
    kind = filetype.guess(data[:8192])
    if kind is not None:
        return _FILETYPE_ALIASES.get(kind.extension, kind.extension)
    text = _decode(data)
    if text is None:
        return "binary"
    return _text_type(text, data)


def _zip_type(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            mimetype = ""
            if "mimetype" in names and archive.getinfo("mimetype").file_size < 200:
                mimetype = archive.read("mimetype").decode("ascii", "replace").strip()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return None  # damaged: let the signature check call it zip
    has_macros = any(name.endswith("vbaProject.bin") for name in names)
    for marker, plain, macro in (
        ("word/document.xml", "docx", "docm"),
        ("xl/workbook.xml", "xlsx", "xlsm"),
        ("ppt/presentation.xml", "pptx", "pptm"),
    ):
        if marker in names:
            return macro if has_macros else plain
    return {
        "application/vnd.oasis.opendocument.text": "odt",
        "application/vnd.oasis.opendocument.spreadsheet": "ods",
        "application/vnd.oasis.opendocument.presentation": "odp",
        "application/epub+zip": "epub",
    }.get(mimetype, "zip")


def _decode(data: bytes) -> str | None:
    sample = data[:SAMPLE_BYTES]
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if sample.startswith(bom):
            try:
                return codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
            except UnicodeDecodeError:
                return None
    if b"\x00" in sample:
        return None
    try:
        # Incremental: a multi-byte character cut at the sample's end is not an error.
        text = codecs.getincrementaldecoder("utf-8")().decode(sample, final=len(data) <= SAMPLE_BYTES)
    except UnicodeDecodeError:
        try:
            text = sample.decode("cp1252")
        except UnicodeDecodeError:
            return None
    if len(_CONTROL.findall(text)) > max(1, len(text) // 100):
        return None
    return text


def _text_type(text: str, data: bytes) -> str:
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped[:1] in ("{", "[") and _is_json(data):
        return "json"
    head = stripped[:2000].lower()
    if head.startswith("<?xml"):
        return "svg" if "<svg" in head else "xml"
    if head.startswith("<svg"):
        return "svg"
    if _HTML_START.match(stripped) or (
        stripped.startswith("<") and len({m.group().split()[0].lower() for m in _HTML_TAG.finditer(text)}) >= 2
    ):
        return "html"
    lines = [line for line in text.splitlines() if line.strip()]
    if _is_csv(lines[:20]):
        return "csv"
    if stripped.startswith("#!"):
        return "code"
    sample_lines = lines[:200]
    if sample_lines and sum(1 for line in sample_lines if _CODE_LINE.search(line)) >= max(2, len(sample_lines) / 5):
        return "code"
    if sum(1 for line in sample_lines if _MD_LINE.search(line)) >= 2:
        return "md"
    return "txt"


def _is_json(data: bytes) -> bool:
    if len(data) > MAX_JSON_PARSE_BYTES:
        return True  # too large to parse here; the shape (a leading { or [) is all we judge
    try:
        json.loads(data)
    except (ValueError, RecursionError):
        return False
    return True


def _is_csv(lines: list[str]) -> bool:
    if len(lines) < 2:
        return False
    for delimiter in (",", ";", "\t", "|"):
        counts = [line.count(delimiter) for line in lines]
        common = max(set(counts), key=counts.count)
        if common > 0 and counts.count(common) >= 0.9 * len(lines):
            return True
    return False


# -- the scanner ---------------------------------------------------------------------------------------------


class FileTypeScanner:
    name = NAME

    def __init__(self, settings: FileTypeSettings | None = None) -> None:
        self.settings = settings or FileTypeSettings()
        self._allowed = frozenset(self.settings.allowed_types)

    def scan(self, text: str, context: ScanContext | None = None) -> ScanResult:
        """Pasted text is judged as a file without a name."""
        text = _checks.require_text(NAME, text)
        return self.scan_bytes(text.encode("utf-8"), "")

    def scan_bytes(self, data: bytes, filename: str) -> ScanResult:
        started = time.perf_counter()
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"{NAME}: scan_bytes() takes the file as bytes, got {type(data).__name__}")
        if not isinstance(filename, str):
            raise TypeError(f"{NAME}: scan_bytes() takes the file name as str, got {type(filename).__name__}")
        data = bytes(data)
        detected = detect_type(data)
        declared = declared_type(filename)
        details: dict[str, Any] = {"declared_type": declared, "detected_type": detected, "size": len(data)}
        findings: list[Finding] = []
        if detected == "empty":
            # Zero bytes contradict no name; they are their own type, refused unless "empty" is allowed.
            details["effective_type"] = "empty"
            if "empty" not in self._allowed:
                details["reason"] = "empty"
                details["message"] = "the file is empty"
                findings.append(Finding("FILE_TYPE_NOT_ALLOWED:empty", 0, 0, 1.0))
        elif declared is not None and not _consistent(declared, detected):
            details["effective_type"] = detected
            details["reason"] = "mismatch"
            details["message"] = f"the name says {declared} but the content is {detected}"
            findings.append(Finding("FILE_TYPE_MISMATCH", 0, 0, 1.0))
        else:
            effective = declared if declared is not None else detected
            details["effective_type"] = effective
            if effective not in self._allowed:
                details["reason"] = "not_allowed"
                details["message"] = f"{effective} files are not allowed"
                findings.append(Finding(f"FILE_TYPE_NOT_ALLOWED:{effective}", 0, 0, 1.0))
        action = self.settings.action if findings else "allow"
        return ScanResult(
            scanner=NAME,
            is_valid=action != "block",
            risk_score=1.0 if findings else 0.0,
            threshold=0.5,
            action=action,  # type: ignore[arg-type]
            findings=findings,
            details=details,
            latency_ms=_checks.elapsed_ms(started),
        )


def _consistent(declared: str, detected: str) -> bool:
    if declared == detected:
        return True
    if declared in _COMPATIBLE:
        return detected in _COMPATIBLE[declared]
    return False  # a binary type is exactly what its signature says
