"""Validators of general use."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

IMAGE_MAX_BYTES = 2 * 1024 * 1024
# The leading bytes of the raster formats we accept; SVG is refused because it can carry scripts.
IMAGE_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
}


def validate_image_upload(file) -> None:
    """A PNG, JPEG, GIF or WebP file of at most 2 MB, judged by its content, not its name."""
    if file is None or getattr(file, "_committed", False):
        return  # nothing uploaded, or a file stored earlier (it was checked then)
    if not file.size:
        raise ValidationError("The image is empty.", code="empty")
    if file.size > IMAGE_MAX_BYTES:
        raise ValidationError("The image is larger than 2 MB.", code="too_large")
    position = file.tell() if hasattr(file, "tell") else 0
    try:
        file.seek(0)
        head = file.read(16)
    finally:
        file.seek(position)
    if isinstance(head, str):
        head = head.encode()
    is_webp = head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if not is_webp and not any(head.startswith(signature) for signature in IMAGE_SIGNATURES):
        raise ValidationError("Upload a PNG, JPEG, GIF or WebP image.", code="not_an_image")


def validate_http_url(value: str) -> None:
    """An absolute http:// or https:// URL with a host (no other schemes, no credentials in it)."""
    if not value:
        return
    try:
        parts = urlsplit(value)
    except ValueError:
        raise ValidationError("Enter a valid URL.", code="invalid") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("Enter an http:// or https:// URL.", code="scheme")
    if parts.username or parts.password:
        raise ValidationError("Do not put credentials in the URL; use the key fields.", code="credentials")
    if any(ch.isspace() for ch in value):
        raise ValidationError("Enter a valid URL (no spaces).", code="invalid")
