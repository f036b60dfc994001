"""Geographic gating: allow or block callers by the country of their IP address.

The country comes from ``iptocc``, whose wheel embeds the five Regional Internet Registries' delegation files
(refreshed with each release): no file, no network, ~0.1 µs a lookup. It is the country an address block is
*registered* to, which matches the country of use for roughly 95% of IPv4 addresses (the package's own note,
citing Zander 2012); VPNs and proxies defeat any IP-based gate, so treat it as policy, not as security.

Every outcome is explicit in ``details["status"]``:
- ``country``: a public address with a registered country (``details["country"]`` holds the ISO code);
- ``internal``: private, loopback, link-local, carrier-grade NAT or unspecified addresses (``internal_action``);
- ``unknown``: a public address no registry lists, or a malformed address (``unknown_action``);
- ``missing``: no client IP was given (``missing_action``).
The client IP itself is resolved by the caller (honouring ``TRUSTED_PROXY_COUNT``); this module only judges it.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import phonenumbers
from iptocc import country_code

from . import _checks
from .base import Finding, ScanContext, ScannerConfigError, ScanResult

NAME = "geo"
MODES = ("allow_all", "allow_list", "block_list")
OUTCOME_ACTIONS = ("allow", "flag", "block")
# ISO 3166-1 alpha-2: the regions libphonenumber knows (all assigned codes with a phone plan, plus XK which
# registries use for Kosovo) and the assigned codes without one. "001" is its "non-geographic" pseudo-region.
COUNTRY_CODES = frozenset(phonenumbers.SUPPORTED_REGIONS - {"001"}) | {"AQ", "BV", "GS", "HM", "PN", "TF", "UM"}
_CGNAT = ipaddress.ip_network("100.64.0.0/10")


@dataclass
class GeoSettings:
    mode: str = "allow_all"
    countries: list[str] = field(default_factory=list)
    action: str = "block"  # taken when the country is not allowed
    internal_action: str = "allow"
    unknown_action: str = "allow"
    missing_action: str = "allow"

    def __post_init__(self) -> None:
        _checks.choice(NAME, "mode", self.mode, MODES)
        self.countries = [c.upper() for c in _checks.string_list(NAME, "countries", self.countries, max_items=300)]
        bad = [c for c in self.countries if c not in COUNTRY_CODES]
        if bad:
            raise ScannerConfigError(
                f"{NAME}: countries must be ISO 3166-1 alpha-2 codes (such as US, DE, FR); unknown: {', '.join(bad)}"
            )
        if self.mode == "allow_list" and not self.countries:
            raise ScannerConfigError(f"{NAME}: mode allow_list needs at least one country (or use allow_all)")
        _checks.choice(NAME, "action", self.action, ("flag", "block"))
        _checks.choice(NAME, "internal_action", self.internal_action, OUTCOME_ACTIONS)
        _checks.choice(NAME, "unknown_action", self.unknown_action, OUTCOME_ACTIONS)
        _checks.choice(NAME, "missing_action", self.missing_action, OUTCOME_ACTIONS)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GeoSettings:
        data = _checks.require_mapping(NAME, data)
        _checks.reject_unknown_keys(NAME, data, cls.__dataclass_fields__)
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def locate(client_ip: str | None) -> tuple[str, str | None]:
    """(status, country) for an address: status is country, internal, unknown or missing."""
    if client_ip is None or not client_ip.strip():
        return "missing", None
    try:
        address = ipaddress.ip_address(client_ip.strip())
    except ValueError:
        return "unknown", None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:8.8.8.8 is 8.8.8.8 behind a dual-stack socket
    if (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_unspecified
        or (address.version == 4 and address in _CGNAT)
    ):
        return "internal", None
    country = country_code(str(address))
    return ("country", country) if country else ("unknown", None)


class GeoScanner:
    name = NAME

    def __init__(self, settings: GeoSettings | None = None) -> None:
        self.settings = settings or GeoSettings()
        self._countries = frozenset(self.settings.countries)

    def scan(self, text: str, context: ScanContext | None = None) -> ScanResult:
        started = time.perf_counter()
        _checks.require_text(NAME, text)
        context = context or ScanContext()
        if context.client_ip is not None and not isinstance(context.client_ip, str):
            raise TypeError(f"{NAME}: client_ip must be a str, got {type(context.client_ip).__name__}")
        status, country = locate(context.client_ip)
        settings = self.settings
        if status == "country":
            if settings.mode == "allow_list":
                allowed = country in self._countries
            elif settings.mode == "block_list":
                allowed = country not in self._countries
            else:
                allowed = True
            action = "allow" if allowed else settings.action
        else:
            action = {
                "internal": settings.internal_action,
                "unknown": settings.unknown_action,
                "missing": settings.missing_action,
            }[status]
        findings = []
        if action != "allow":
            # Not a span of the text: 0..0 says "about the request", the type says why.
            reason = "COUNTRY_NOT_ALLOWED" if status == "country" else f"IP_{status.upper()}"
            findings.append(Finding(reason, 0, 0, 1.0))
        return ScanResult(
            scanner=NAME,
            is_valid=action != "block",
            risk_score=1.0 if findings else 0.0,
            threshold=0.5,
            action=action,  # type: ignore[arg-type]
            findings=findings,
            details={"status": status, "country": country, "mode": settings.mode},
            latency_ms=_checks.elapsed_ms(started),
        )
