"""The one JSON parser of every API view: bounded nesting depth and body size.

DRF's own JSONParser lets a deeply nested body raise ``RecursionError``: a 500. Here it is a 400 problem+json.
DRF hands JSON parsers ``request.body``, which Django already holds to ``DATA_UPLOAD_MAX_MEMORY_SIZE``
(``RequestDataTooBig``, answered by apps/core/errors.py); the parser checks the size again so that the bound
does not depend on how DRF feeds it the stream.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.settings import api_settings
from rest_framework.utils.json import strict_constant

# Far deeper than any request body of the API (the Users API nests two levels), far below Python's recursion
# limit, so that code reading the data never recurses dangerously either.
MAX_JSON_DEPTH = 64

# In valid JSON every '"' outside a string opens one, so this strips the strings in one linear pass
# (possessive quantifiers: no backtracking).
_JSON_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]++")
_BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def json_depth(text: str) -> int:
    """The nesting depth of a valid JSON text (0 for a scalar)."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(accumulate(map(_BRACKET_STEP.__getitem__, brackets)), default=0)


def body_limit() -> int | None:
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


class BoundedJSONParser(JSONParser):
    """JSON bodies up to ``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes and ``MAX_JSON_DEPTH`` levels; else 400."""

    max_depth = MAX_JSON_DEPTH

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        request = parser_context.get("request")
        limit = body_limit()
        if limit is not None:
            declared = request.META.get("CONTENT_LENGTH") if request is not None else None
            if declared and declared.isdigit() and int(declared) > limit:
                raise ParseError(f"The body is larger than {limit} bytes.")
            raw = stream.read(limit + 1)
            if len(raw) > limit:
                raise ParseError(f"The body is larger than {limit} bytes.")
        else:
            raw = stream.read()
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = raw.decode(encoding)
            data = json.loads(text, parse_constant=strict_constant if api_settings.STRICT_JSON else None)
        except UnicodeDecodeError:
            raise ParseError(f"The body is not valid {encoding}.") from None
        except RecursionError:
            raise ParseError(f"The JSON body is nested deeper than {self.max_depth} levels.") from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        if json_depth(text) > self.max_depth:
            raise ParseError(f"The JSON body is nested deeper than {self.max_depth} levels.")
        return data
