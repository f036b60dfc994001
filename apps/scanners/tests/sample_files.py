"""Small real files of each type, built in memory (shared by the file-type tests and bench/scanner_accuracy.py)."""

from __future__ import annotations

import io
import json
import random
import struct
import zipfile
import zlib


def png(width: int = 2, height: int = 2) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def jpeg() -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"


def gif() -> bytes:
    return (
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
        b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
    )


def webp() -> bytes:
    body = b"WEBPVP8 " + struct.pack("<I", 10) + b"\x00" * 10
    return b"RIFF" + struct.pack("<I", len(body)) + body


def pdf(text: str = "Hello") -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        + f"% {text}\n".encode()
        + b"trailer << /Root 1 0 R >>\n%%EOF\n"
    )


def _zip(entries: dict[str, bytes], first: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        names = sorted(entries, key=lambda name: name != first)
        for name in names:
            archive.writestr(name, entries[name])
    return buffer.getvalue()


_CONTENT_TYPES = b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'


def docx(macros: bool = False) -> bytes:
    entries = {"[Content_Types].xml": _CONTENT_TYPES, "_rels/.rels": b"<Relationships/>", "word/document.xml": b"<w/>"}
    if macros:
        entries["word/vbaProject.bin"] = b"\xd0\xcf\x11\xe0"
    return _zip(entries, "[Content_Types].xml")


def xlsx() -> bytes:
    return _zip({"[Content_Types].xml": _CONTENT_TYPES, "xl/workbook.xml": b"<x/>"}, "[Content_Types].xml")


def pptx() -> bytes:
    return _zip({"[Content_Types].xml": _CONTENT_TYPES, "ppt/presentation.xml": b"<p/>"}, "[Content_Types].xml")


def plain_zip() -> bytes:
    return _zip({"notes.txt": b"hello", "data/a.csv": b"a,b\n1,2\n"})


def exe() -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


def elf() -> bytes:
    return b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200


def junk(size: int = 4096, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


TEXT_SAMPLES: dict[str, bytes] = {
    "txt": b"Dear team,\nthe meeting moves to Thursday. Please bring the signed forms.\nThanks, Jo\n",
    "md": b"# Release notes\n\n- Faster search\n- New [dashboard](https://example.org/d)\n\n```\nmake run\n```\n",
    "csv": b"name,email,amount\nAda,ada@example.org,12.50\nBob,bob@example.org,7.00\nCy,cy@example.org,3.10\n",
    "json": json.dumps({"users": [{"id": 1, "name": "Ada"}], "total": 1}).encode(),
    "html": b"<!DOCTYPE html>\n<html><head><title>T</title></head><body><p>Hello</p></body></html>\n",
    "code": b"import os\n\n\ndef main():\n    path = os.getcwd()\n    return path\n\n\nclass Thing:\n    pass\n",
    "xml": b'<?xml version="1.0"?>\n<catalog><book id="1"><title>X</title></book></catalog>\n',
    "svg": b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
}

BINARY_SAMPLES = {
    "png": png(),
    "jpeg": jpeg(),
    "gif": gif(),
    "webp": webp(),
    "pdf": pdf(),
    "docx": docx(),
    "docm": docx(macros=True),
    "xlsx": xlsx(),
    "pptx": pptx(),
    "zip": plain_zip(),
    "exe": exe(),
    "elf": elf(),
}
