"""Redirect URI registration rules (RFC 6749 §3.1.2, RFC 9700 §4.1): absolute, https (plain http only for
loopback hosts), no fragment, no user info, each entry once. Matching at request time is exact string
equality with a registered entry, so nothing is normalised here either."""

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

from apps.oauth.models import split_redirect_uris

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})


def redirect_uri_problem(uri: str) -> str | None:
    """Why ``uri`` cannot be registered, or None when it can."""
    if any(ch.isspace() for ch in uri) or any(ord(ch) < 0x20 for ch in uri):
        return "must not contain spaces or control characters"
    if "#" in uri:
        return "must not contain a fragment (#...)"
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return "is not a valid URI"
    if parts.scheme not in ("https", "http") or not parts.netloc:
        return "must be an absolute https:// URI"
    if "@" in parts.netloc:
        return "must not contain user information (user@host)"
    host = parts.netloc.rsplit(":", 1)[0] if not parts.netloc.endswith("]") else parts.netloc
    host = host.lower()
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
        return "must use https (plain http is allowed only for localhost, 127.0.0.1 and [::1])"
    if not parts.hostname:
        return "must name a host"
    return None


def clean_redirect_uris(value: str | list[str]) -> list[str]:
    """Validate every entry; raise one ValidationError that names each bad entry and why."""
    uris = split_redirect_uris(value) if isinstance(value, str) else [u.strip() for u in value if u.strip()]
    if not uris:
        raise ValidationError("At least one redirect URI is required.", code="required")
    errors, seen = [], set()
    for uri in uris:
        problem = redirect_uri_problem(uri)
        if problem:
            errors.append(ValidationError(f"{uri}: {problem}.", code="invalid"))
        elif uri in seen:
            errors.append(ValidationError(f"{uri}: is listed twice.", code="duplicate"))
        seen.add(uri)
    if errors:
        raise ValidationError(errors)
    return uris
