"""Personal information: find it, then block, redact (reversibly, per conversation) or flag.

What is detected, and how a candidate is confirmed:

- ``EMAIL``: addresses shaped like ``local@domain.tld`` (ASCII; internationalised addresses are not matched).
- ``PHONE``: numbers that Google's libphonenumber (``phonenumbers``) finds and considers *valid* for one of the
  configured regions (numbers written with ``+`` and a country code are found whatever the region list says).
- ``CREDIT_CARD``: 13-19 digits, optionally grouped by spaces or dashes, that pass the Luhn checksum.
- ``IBAN``: upper-case IBANs, compact or grouped by spaces, whose length matches the country and whose mod-97
  check passes (``python-stdnum``).
- ``NATIONAL_ID`` / ``VAT_NUMBER``: the identifiers listed in ``NATIONAL_ID_KINDS``, each confirmed by its
  ``python-stdnum`` validator (a checksum for all but the US SSN, which has none: it is only matched in its
  dashed ``123-45-6789`` form and checked against the SSA's never-issued ranges).
- ``IP_ADDRESS``: IPv4 and IPv6 addresses that Python's ``ipaddress`` accepts.
- ``CUSTOM_TERM``: admin-listed terms (client or project names), case-insensitive, whole words only.

Not detected: **person names, postal addresses and other free-text personal data**. They need named-entity
recognition, and no such model ships inside a package on the registries this product may use offline, so the
scanner does not pretend: list known names as custom terms instead.

Redaction replaces each value with a ``[TYPE_N]`` placeholder. ``ScanContext.redaction_map`` (placeholder ->
original) is shared by a conversation: the same value always gets the same placeholder and numbering continues,
so the engine sees stable tokens and ``restore()`` / ``StreamingRestorer`` put the originals back into the answer
the user sees. Findings and details never contain a raw value, only types, positions and counts.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.de import idnr
from stdnum.es import dni, nie
from stdnum.eu import vat as eu_vat
from stdnum.fr import nir
from stdnum.gb import nhs
from stdnum.it import codicefiscale
from stdnum.nl import bsn
from stdnum.us import ssn

from . import _checks
from .base import Finding, ScanContext, ScannerConfigError, ScanResult

NAME = "pii"

ENTITY_TYPES = ("EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "NATIONAL_ID", "VAT_NUMBER", "IP_ADDRESS", "CUSTOM_TERM")
PII_ACTIONS = ("block", "redact", "flag", "allow")

# When two candidates overlap, the more specific (checksummed) one wins: a grouped IBAN also looks like a phone
# number, an SSN-shaped string like a date range, a card number like a phone number.
_PRIORITY = {
    "CUSTOM_TERM": 0,
    "EMAIL": 1,
    "IBAN": 2,
    "VAT_NUMBER": 3,
    "NATIONAL_ID": 4,  # before cards: a French NIR is 15 digits and 1 in 10 of them also pass Luhn
    "CREDIT_CARD": 5,
    "IP_ADDRESS": 6,
    "PHONE": 7,
}
_SCORES = {"PHONE": 0.9, "IP_ADDRESS": 0.9}  # everything else is confirmed by a checksum or exact term: 1.0


@dataclass(frozen=True)
class _IdKind:
    finding_type: str
    pattern: re.Pattern[str]
    is_valid: Callable[[str], bool]


_NO_WORD_BEFORE = r"(?<![\w-])"
_NO_WORD_AFTER = r"(?![\w-])"

# Candidate shapes per identifier; the stdnum validator decides. Key = stdnum module path, shown to admins.
NATIONAL_ID_KINDS: dict[str, _IdKind] = {
    "us.ssn": _IdKind("NATIONAL_ID", re.compile(_NO_WORD_BEFORE + r"\d{3}-\d{2}-\d{4}" + _NO_WORD_AFTER), ssn.is_valid),
    "gb.nhs": _IdKind(
        "NATIONAL_ID", re.compile(_NO_WORD_BEFORE + r"\d{3}[ -]?\d{3}[ -]?\d{4}" + _NO_WORD_AFTER), nhs.is_valid
    ),
    "de.idnr": _IdKind(
        "NATIONAL_ID", re.compile(_NO_WORD_BEFORE + r"\d{2} ?\d{3} ?\d{3} ?\d{3}" + _NO_WORD_AFTER), idnr.is_valid
    ),
    "fr.nir": _IdKind(
        "NATIONAL_ID",
        re.compile(_NO_WORD_BEFORE + r"[12] ?\d{2} ?\d{2} ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}" + _NO_WORD_AFTER),
        nir.is_valid,
    ),
    "es.dni": _IdKind("NATIONAL_ID", re.compile(_NO_WORD_BEFORE + r"\d{8}-?[A-Z]" + _NO_WORD_AFTER), dni.is_valid),
    "es.nie": _IdKind(
        "NATIONAL_ID", re.compile(_NO_WORD_BEFORE + r"[XYZ]-?\d{7}-?[A-Z]" + _NO_WORD_AFTER), nie.is_valid
    ),
    "it.codicefiscale": _IdKind(
        "NATIONAL_ID",
        re.compile(
            _NO_WORD_BEFORE
            + r"[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]"
            + _NO_WORD_AFTER
        ),
        codicefiscale.is_valid,
    ),
    "nl.bsn": _IdKind(
        "NATIONAL_ID", re.compile(_NO_WORD_BEFORE + r"\d{4}\.?\d{2}\.?\d{3}" + _NO_WORD_AFTER), bsn.is_valid
    ),
    # VAT numbers carry their country prefix, which keeps bare digit runs (order numbers...) out.
    "eu.vat": _IdKind(
        "VAT_NUMBER",
        re.compile(
            _NO_WORD_BEFORE
            + r"(?:AT|BE|BG|CY|CZ|DE|DK|EE|EL|ES|FI|FR|HR|HU|IE|IT|LT|LU|LV|MT|NL|PL|PT|RO|SE|SI|SK|XI) ?"
            + r"[0-9A-Z]{8,12}"
            + _NO_WORD_AFTER
        ),
        eu_vat.is_valid,
    ),
}

# gb.nhs is opt-in: a 10-digit NHS number is written like a US phone number, and 1 in 11 of those pass its check.
DEFAULT_NATIONAL_IDS = tuple(key for key in NATIONAL_ID_KINDS if key != "gb.nhs")

# Linear-time by construction: every pattern starts with a look-behind that stops a match from starting inside a
# run it could have started earlier, so 1 MB of letters or digits is scanned once, not once per position.
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.)+[A-Za-z]{2,24}(?![A-Za-z0-9-])"
)
# Card numbers as printed: 4-4-4-4(-3) or Amex 4-6-5 groups with one separator kind, or 13-19 digits in a row.
# Other groupings ("001-335-504-9258") are phone numbers even when they happen to pass Luhn.
_CARD = re.compile(
    r"(?<![\d-])(?:\d{4}([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{3})?|\d{4}([ -])\d{6}\2\d{5}|\d{13,19})(?![\d])(?!-\d)"
)
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d]|\.\d)")
_IPV6 = re.compile(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Fa-f:])")
_DIGIT_RUN = re.compile(r"\d")
# 7 to 17 digits, optionally after "+", separated by at most three of space ( ) . - / between digits.
# A letter glued to the end ("54362315K") makes it an identifier, except "x" for an extension ("...6083x77").
# "#" before it makes it an order or ticket number; an extension ("x232", "ext. 12") belongs to the number.
_PHONE_CANDIDATE = re.compile(
    r"(?<![\w+#])(?:\+|\(\+?)?\d(?:[ ().\-/]{0,3}\d){6,16}(?:\s?(?:x|ext\.?)\s?\d{1,6})?(?!\d)(?![A-WYZa-wyz])"
)
# A bare run of digits is a phone number only with a trunk prefix (0...) or ten digits or more: shorter bare
# runs are far more often amounts, order numbers or ids than phone numbers written without any grouping.
_BARE_SHORT_NUMBER = re.compile(r"[1-9]\d{6,8}")
_AMOUNT = re.compile(r"\d{1,3}(?:[.,' ]\d{3})*[.,]\d{2}|\d+[.,]\d{2}")
_MAX_PHONE_SPLITS = 20
_DATE_OR_TIME = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}")
_PLACEHOLDER = re.compile(r"\[([A-Z][A-Z_]*?)_(\d+)\]")
# The longest placeholder the restorer must be able to hold back while a stream is cut in the middle of it.
_MAX_PLACEHOLDER_LENGTH = max(len(t) for t in ENTITY_TYPES) + 12


@dataclass
class PIISettings:
    prompt_action: str = "redact"
    answer_action: str = "flag"
    entities: list[str] = field(default_factory=lambda: list(ENTITY_TYPES))
    phone_regions: list[str] = field(default_factory=lambda: ["US", "GB", "DE", "FR", "ES", "IT", "NL"])
    national_ids: list[str] = field(default_factory=lambda: list(DEFAULT_NATIONAL_IDS))
    custom_terms: list[str] = field(default_factory=list)
    threshold: float = 0.5

    def __post_init__(self) -> None:
        _checks.choice(NAME, "prompt_action", self.prompt_action, PII_ACTIONS)
        _checks.choice(NAME, "answer_action", self.answer_action, PII_ACTIONS)
        self.entities = _checks.string_list(NAME, "entities", self.entities, max_items=len(ENTITY_TYPES))
        for entity in self.entities:
            _checks.choice(NAME, "entities", entity, ENTITY_TYPES)
        self.phone_regions = _checks.string_list(NAME, "phone_regions", self.phone_regions, max_items=20)
        supported = phonenumbers.SUPPORTED_REGIONS
        for region in self.phone_regions:
            if region not in supported:
                raise ScannerConfigError(
                    f"{NAME}: phone_regions: {region!r} is not a region phonenumbers knows "
                    "(use upper-case ISO 3166-1 alpha-2 codes such as US, GB, DE)"
                )
        self.national_ids = _checks.string_list(NAME, "national_ids", self.national_ids, max_items=50)
        for kind in self.national_ids:
            _checks.choice(NAME, "national_ids", kind, NATIONAL_ID_KINDS)
        self.custom_terms = _checks.string_list(NAME, "custom_terms", self.custom_terms, max_items=2000)
        if any(not term.strip() for term in self.custom_terms):
            raise ScannerConfigError(f"{NAME}: custom_terms must not contain empty terms")
        self.threshold = _checks.fraction(NAME, "threshold", self.threshold)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PIISettings:
        data = _checks.require_mapping(NAME, data)
        _checks.reject_unknown_keys(NAME, data, cls.__dataclass_fields__)
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@lru_cache(maxsize=256)
def _custom_terms_pattern(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    if not terms:
        return None
    # Longest first so "Acme Corp" wins over "Acme"; \w look-arounds make the match whole-word in any script.
    alternatives = "|".join(re.escape(term.strip()) for term in sorted(set(terms), key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


@dataclass(frozen=True)
class _Candidate:
    type: str
    start: int
    end: int
    detail: str | None = None  # national id kind, e.g. "fr.nir"


class PIIScanner:
    name = NAME

    def __init__(self, settings: PIISettings | None = None) -> None:
        self.settings = settings or PIISettings()
        self._entities = frozenset(self.settings.entities)
        self._id_kinds = [(key, NATIONAL_ID_KINDS[key]) for key in self.settings.national_ids]
        self._terms = _custom_terms_pattern(tuple(self.settings.custom_terms))

    # -- detection -------------------------------------------------------------------------------------------

    def detect(self, text: str) -> list[_Candidate]:
        """Non-overlapping, confirmed candidates in text order."""
        candidates: list[_Candidate] = []
        wanted = self._entities
        if "CUSTOM_TERM" in wanted and self._terms is not None:
            candidates += [_Candidate("CUSTOM_TERM", m.start(), m.end()) for m in self._terms.finditer(text)]
        if "EMAIL" in wanted and "@" in text:
            candidates += [_Candidate("EMAIL", m.start(), m.end()) for m in _EMAIL.finditer(text)]
        # Everything below needs digits; prose without any skips the lot.
        if _DIGIT_RUN.search(text) is None:
            return _resolve_overlaps(candidates)
        if "IBAN" in wanted:
            candidates += _find_ibans(text)
        if "CREDIT_CARD" in wanted:
            candidates += [
                _Candidate("CREDIT_CARD", m.start(), m.end())
                for m in _CARD.finditer(text)
                if luhn.is_valid(re.sub(r"[ -]", "", m.group()))
            ]
        for key, kind in self._id_kinds:
            if kind.finding_type not in wanted:
                continue
            candidates += [
                _Candidate(kind.finding_type, m.start(), m.end(), key)
                for m in kind.pattern.finditer(text)
                if kind.is_valid(m.group())
            ]
        if "IP_ADDRESS" in wanted:
            candidates += _find_ips(text)
        if "PHONE" in wanted:
            candidates += self._find_phones(text, _resolve_overlaps(candidates))
        return _resolve_overlaps(candidates)

    def _find_phones(self, text: str, taken: list[_Candidate]) -> list[_Candidate]:
        # Running phonenumbers' PhoneNumberMatcher over the whole text once per region costs ~50 ms per KB of
        # number-rich text. Instead a cheap pattern proposes digit groups outside the spans already taken by
        # checksummed types, and phonenumbers decides whether each is a valid number of a configured region.
        masked = _mask(text, taken)
        found: list[_Candidate] = []
        splits_left = _MAX_PHONE_SPLITS
        for match in _PHONE_CANDIDATE.finditer(masked):
            value = match.group()
            if _DATE_OR_TIME.fullmatch(value) or _BARE_SHORT_NUMBER.fullmatch(value) or _AMOUNT.fullmatch(value):
                continue
            digits = sum(ch.isdigit() for ch in re.split(r"\s?(?:x|ext)", value, maxsplit=1)[0])
            if digits <= 15 and self._is_valid_phone(value):
                found.append(_Candidate("PHONE", match.start(), match.end()))
            elif digits >= 12 and splits_left > 0 and not value.isdigit():
                # Two numbers written one after the other: let the matcher split them. It costs milliseconds
                # each, so a text made of digit soup gets a bounded number of tries.
                splits_left -= 1
                found += self._phones_inside(value, match.start())
        return found

    def _is_valid_phone(self, value: str) -> bool:
        for region in self.settings.phone_regions:
            try:
                number = phonenumbers.parse(value, region)
            except phonenumbers.NumberParseException:
                return False  # the shape is wrong for every region, not only this one
            if phonenumbers.is_valid_number(number):
                return True
            if value.startswith("+"):
                return False  # the country code is explicit: other regions would give the same answer
        return False

    def _phones_inside(self, value: str, offset: int) -> list[_Candidate]:
        spans: set[tuple[int, int]] = set()
        for region in self.settings.phone_regions:
            for match in phonenumbers.PhoneNumberMatcher(value, region, leniency=phonenumbers.Leniency.VALID):
                spans.add((offset + match.start, offset + match.end))
        return [_Candidate("PHONE", start, end) for start, end in sorted(spans)]

    # -- the scan --------------------------------------------------------------------------------------------

    def scan(self, text: str, context: ScanContext | None = None) -> ScanResult:
        started = time.perf_counter()
        text = _checks.require_text(NAME, text)
        context = context or ScanContext()
        configured = self.settings.prompt_action if context.direction == "prompt" else self.settings.answer_action
        candidates = [] if configured == "allow" else self.detect(text)
        findings = [Finding(c.type, c.start, c.end, _SCORES.get(c.type, 1.0)) for c in candidates]
        findings = [f for f in findings if f.score >= self.settings.threshold]
        kept = {(f.start, f.end) for f in findings}
        candidates = [c for c in candidates if (c.start, c.end) in kept]

        details: dict[str, Any] = {"direction": context.direction}
        if findings:
            details["counts"] = dict(Counter(f.type for f in findings))
            id_kinds = Counter(c.detail for c in candidates if c.detail)
            if id_kinds:
                details["id_kinds"] = dict(id_kinds)
        action = configured if findings else "allow"
        sanitized = None
        if action == "redact":
            if context.redaction_map is None:
                # The caller keeps the context for the conversation; the map it now holds serves restore().
                context.redaction_map = {}
            sanitized = redact(text, candidates, context.redaction_map)
        return ScanResult(
            scanner=NAME,
            is_valid=action != "block",
            risk_score=max((f.score for f in findings), default=0.0),
            threshold=self.settings.threshold,
            action=action,
            findings=findings,
            details=details,
            sanitized_text=sanitized,
            latency_ms=_checks.elapsed_ms(started),
        )


def _find_ibans(text: str) -> list[_Candidate]:
    found = []
    for match in _IBAN.finditer(text):
        # The match may have swallowed a following upper-case word ("... 0130 00 AND"); try the grouped prefixes
        # from longest to shortest so the IBAN inside is still found.
        value = match.group()
        ends = [len(value)] + [i for i in range(len(value) - 1, 14, -1) if value[i] == " "]
        for end in ends:
            if _mod97_ok(value[:end]) and stdnum_iban.is_valid(value[:end]):
                found.append(_Candidate("IBAN", match.start(), match.start() + end))
                break
    return found


def _mod97_ok(value: str) -> bool:
    """The IBAN check (ISO 7064 mod 97-10) alone: cheap enough to try every prefix of a long candidate."""
    compact = value.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def _find_ips(text: str) -> list[_Candidate]:
    found = []
    for match in _IPV4.finditer(text):
        try:
            ipaddress.IPv4Address(match.group())
        except ValueError:
            continue
        found.append(_Candidate("IP_ADDRESS", match.start(), match.end()))
    if ":" in text:
        for match in _IPV6.finditer(text):
            value = match.group()
            if not any(ch.isalnum() for ch in value):
                continue  # "::" alone is an address only in theory; in prose it is punctuation
            try:
                ipaddress.IPv6Address(value)
            except ValueError:
                continue
            found.append(_Candidate("IP_ADDRESS", match.start(), match.end()))
    return found


def _mask(text: str, spans: list[_Candidate]) -> str:
    """The text with the given spans blanked out, same length so offsets stay valid."""
    if not spans:
        return text
    parts, cursor = [], 0
    for span in spans:
        parts += [text[cursor : span.start], "\x00" * (span.end - span.start)]
        cursor = span.end
    parts.append(text[cursor:])
    return "".join(parts)


def _resolve_overlaps(candidates: list[_Candidate]) -> list[_Candidate]:
    """Keep the higher-priority (then longer) candidate where two overlap; O(n log n) for 1 MB texts."""
    starts: list[int] = []  # chosen spans, sorted by start; they never overlap each other
    ends: list[int] = []
    chosen: list[_Candidate] = []
    for cand in sorted(candidates, key=lambda c: (_PRIORITY[c.type], -(c.end - c.start), c.start)):
        i = bisect.bisect_left(starts, cand.start)
        if i < len(starts) and starts[i] < cand.end:
            continue  # a chosen span starts inside this one
        if i > 0 and ends[i - 1] > cand.start:
            continue  # the chosen span before it reaches into it
        starts.insert(i, cand.start)
        ends.insert(i, cand.end)
        chosen.insert(i, cand)
    return chosen


# -- redaction and restoration -------------------------------------------------------------------------------


def redact(text: str, candidates: list[_Candidate], redaction_map: dict[str, str]) -> str:
    """Replace each candidate with its placeholder, reusing and extending redaction_map in place."""
    by_value = {original: placeholder for placeholder, original in redaction_map.items()}
    next_number = Counter[str]()
    for placeholder in redaction_map:
        match = _PLACEHOLDER.fullmatch(placeholder)
        if match:
            next_number[match.group(1)] = max(next_number[match.group(1)], int(match.group(2)))
    parts: list[str] = []
    cursor = 0
    for cand in candidates:
        original = text[cand.start : cand.end]
        placeholder = by_value.get(original)
        if placeholder is None:
            next_number[cand.type] += 1
            placeholder = f"[{cand.type}_{next_number[cand.type]}]"
            redaction_map[placeholder] = original
            by_value[original] = placeholder
        parts += [text[cursor : cand.start], placeholder]
        cursor = cand.end
    parts.append(text[cursor:])
    return "".join(parts)


def restore(text: str, redaction_map: dict[str, str] | None) -> str:
    """Put the originals back where the engine's answer repeats a placeholder; unknown placeholders stay."""
    if not redaction_map or "[" not in text:
        return text
    return _PLACEHOLDER.sub(lambda m: redaction_map.get(m.group(0), m.group(0)), text)


_PARTIAL_PLACEHOLDER = re.compile(r"\[(?:[A-Z][A-Z_]*(?:\d+)?)?\Z")


class StreamingRestorer:
    """Restores placeholders in a streamed answer, whose chunks may cut a placeholder in two.

    ``feed(chunk)`` returns the text that is safe to show now; a tail that could still become a placeholder
    (``[EMAIL_`` ...) is held back until the next chunk decides it. ``flush()`` returns whatever is held back at
    the end of the stream. At most about 30 characters are ever held.
    """

    def __init__(self, redaction_map: dict[str, str] | None) -> None:
        self._map = redaction_map or {}
        self._pending = ""

    def feed(self, chunk: str) -> str:
        text = self._pending + chunk
        self._pending = ""
        cut = text.rfind("[")
        if cut != -1 and len(text) - cut <= _MAX_PLACEHOLDER_LENGTH and _PARTIAL_PLACEHOLDER.match(text, cut):
            text, self._pending = text[:cut], text[cut:]
        return restore(text, self._map)

    def flush(self) -> str:
        text, self._pending = self._pending, ""
        return restore(text, self._map)
