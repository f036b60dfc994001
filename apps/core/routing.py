"""Case-insensitive routes: the original server matches paths regardless of case
(``/api/oauth2/Token`` and ``/api/oauth2/token`` are the same), and integrations rely on it."""

import re

from django.urls import re_path
from django.urls.resolvers import URLPattern

_CONVERTERS = {"str": r"[^/]+", "int": r"[0-9]+", "slug": r"[-a-zA-Z0-9_]+", "uuid": r"[0-9a-fA-F-]{36}"}
_PARAM = re.compile(r"<(?:(?P<converter>[a-z]+):)?(?P<name>\w+)>")


def _literal(text: str) -> str:
    # "[Tt]" rather than a (?i) flag: Django can reverse a character class (to its first character, the
    # published spelling) but not an inline flag.
    return "".join(f"[{ch}{ch.swapcase()}]" if ch.isascii() and ch.isalpha() else re.escape(ch) for ch in text)


def ci_path(route: str, view, *, name: str | None = None, kwargs: dict | None = None) -> URLPattern:
    """Like ``django.urls.path`` for a full route, but matched case-insensitively.

    Literal segments match in any case; ``<name>`` and ``<conv:name>`` capture values unchanged
    (``str``, ``int``, ``slug`` and ``uuid``; captured values stay strings).
    """
    pattern, pos = [], 0
    for match in _PARAM.finditer(route):
        pattern.append(_literal(route[pos : match.start()]))
        converter = match.group("converter") or "str"
        pattern.append(f"(?P<{match.group('name')}>{_CONVERTERS[converter]})")
        pos = match.end()
    pattern.append(_literal(route[pos:]))
    return re_path(r"^" + "".join(pattern) + r"\Z", view, kwargs=kwargs, name=name)
