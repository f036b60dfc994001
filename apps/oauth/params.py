"""Reading the parameters of the OAuth2 endpoints strictly, so that a bad request is a 400 with a reason
line and never a 500.

The token, revoke and introspect endpoints take a form-encoded or a JSON body. Every parameter is a single
string: a repeated parameter (RFC 6749 §3.1, §3.2), a non-string JSON value and a NUL byte (which
PostgreSQL cannot store or compare) are refused. Unknown parameters are ignored (RFC 6749 §3.1).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote_plus

from django.http import HttpRequest, QueryDict

# Far above any real token request (a code, a secret, a verifier and a redirect URI are a few hundred
# bytes), far below what would cost memory.
MAX_BODY_BYTES = 16 * 1024

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE = "application/json"


class BadRequest(Exception):
    """A request the endpoint refuses with ``400 text/plain`` and ``reason`` as the body."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnsupportedMediaType(Exception):
    """A body that is neither form-encoded nor JSON (415)."""


def _pick(pairs: Iterable[tuple[str, object]], known: Iterable[str], keep_empty: Iterable[str] = ()) -> dict[str, str]:
    """The known parameters as single strings; empty strings count as absent unless listed in ``keep_empty``."""
    known = frozenset(known)
    values: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in pairs:
        if name not in known:
            continue
        if name in seen:
            raise BadRequest(f"Invalid {name}: the parameter is repeated")
        seen.add(name)
        if value is None:  # JSON null: the caller means "not given"
            continue
        if not isinstance(value, str):
            raise BadRequest(f"Invalid {name}: must be a string")
        if "\x00" in value:
            raise BadRequest(f"Invalid {name}: contains a NUL byte")
        if value != "" or name in keep_empty:
            values[name] = value
    return values


def query_params(request: HttpRequest, known: Iterable[str], keep_empty: Iterable[str] = ()) -> dict[str, str]:
    """The known parameters of the query string (the authorize endpoint)."""
    query: QueryDict = request.GET
    return _pick(((name, value) for name, values in query.lists() for value in values), known, keep_empty)


def _media_type(request: HttpRequest) -> str:
    return (request.META.get("CONTENT_TYPE") or "").split(";", 1)[0].strip().lower()


def body_params(request: HttpRequest, known: Iterable[str]) -> dict[str, str]:
    """The known parameters of a form-encoded or JSON body.

    Raises ``UnsupportedMediaType`` for any other body (multipart included: RFC 6749 speaks only of
    form-encoding and the published page adds JSON) and ``BadRequest`` for everything malformed.
    """
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise BadRequest("Invalid request: bad Content-Length") from None
    if declared > MAX_BODY_BYTES:
        raise BadRequest(f"Invalid request: the body is larger than {MAX_BODY_BYTES} bytes")
    raw = request.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest(f"Invalid request: the body is larger than {MAX_BODY_BYTES} bytes")
    media_type = _media_type(request)
    if not raw and media_type in ("", FORM_CONTENT_TYPE, JSON_CONTENT_TYPE):
        return {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("Invalid request: the body is not UTF-8") from None
    if media_type == FORM_CONTENT_TYPE:
        try:
            pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("Invalid request: malformed form body") from None
        return _pick(pairs, known)
    if media_type == JSON_CONTENT_TYPE:
        try:
            pairs = json.loads(text, object_pairs_hook=_JSONPairs)
        except (ValueError, RecursionError):
            raise BadRequest("Invalid request: malformed JSON body") from None
        if not isinstance(pairs, _JSONPairs):
            raise BadRequest("Invalid request: the JSON body must be an object")
        return _pick(pairs, known)
    raise UnsupportedMediaType(media_type)


class _JSONPairs(list):
    """A JSON object kept as its list of pairs, so that a repeated key is seen rather than overwritten."""

    def __init__(self, pairs: list[tuple[str, object]]) -> None:
        super().__init__(pairs)


def basic_credentials(request: HttpRequest) -> tuple[str, str] | None:
    """Client credentials from ``Authorization: Basic`` (RFC 6749 §2.3.1): each part form-urlencoded.

    None when the header is absent or not Basic. A Basic header that cannot be decoded raises
    ``ValueError``: the client tried to authenticate and failed (401, not 400).
    """
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError("undecodable Basic credentials") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise ValueError("Basic credentials without a colon")
    client_id, secret = unquote_plus(client_id), unquote_plus(secret)
    if "\x00" in client_id or "\x00" in secret:
        raise ValueError("NUL byte in Basic credentials")
    return client_id, secret
