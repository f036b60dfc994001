import pytest

from apps.scanners.detectors.base import ScanContext, ScannerConfigError
from apps.scanners.detectors.geo import GeoScanner, GeoSettings, locate

# Addresses whose registry country is stable: Google DNS (US), RIPE NCC's own (NL), a UK ISP block (GB).
US, NL, GB = "8.8.8.8", "193.0.6.139", "81.2.69.160"


def scan(settings=None, ip=None):
    return GeoScanner(settings).scan("hello", ScanContext(client_ip=ip))


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        (US, ("country", "US")),
        (NL, ("country", "NL")),
        ("2001:4860:4860::8888", ("country", "US")),
        ("::ffff:81.2.69.160", ("country", "GB")),
        ("10.1.2.3", ("internal", None)),
        ("192.168.0.1", ("internal", None)),
        ("127.0.0.1", ("internal", None)),
        ("::1", ("internal", None)),
        ("fe80::1", ("internal", None)),
        ("169.254.1.1", ("internal", None)),
        ("100.64.0.1", ("internal", None)),
        ("224.0.0.1", ("unknown", None)),
        ("not-an-ip", ("unknown", None)),
        ("", ("missing", None)),
        (None, ("missing", None)),
    ],
)
def test_locate_classifies_addresses_offline(ip, expected):
    assert locate(ip) == expected


def test_default_detects_and_allows_everything_with_the_country_in_details():
    result = scan(ip=US)

    assert (result.action, result.is_valid, result.findings) == ("allow", True, [])
    assert result.details == {"status": "country", "country": "US", "mode": "allow_all"}


def test_allow_list_blocks_other_countries():
    settings = GeoSettings(mode="allow_list", countries=["de", "NL"])

    assert scan(settings, NL).action == "allow"
    blocked = scan(settings, US)
    assert (blocked.action, blocked.is_valid, blocked.details["country"]) == ("block", False, "US")
    assert [f.type for f in blocked.findings] == ["COUNTRY_NOT_ALLOWED"]


def test_block_list_blocks_listed_countries_or_flags_when_told():
    settings = GeoSettings(mode="block_list", countries=["GB"], action="flag")

    assert scan(settings, US).action == "allow"
    flagged = scan(settings, GB)
    assert (flagged.action, flagged.is_valid) == ("flag", True)


def test_internal_unknown_and_missing_have_their_own_settings():
    settings = GeoSettings(
        mode="allow_list", countries=["US"], internal_action="allow", unknown_action="flag", missing_action="block"
    )

    assert scan(settings, "10.0.0.1").action == "allow"
    assert scan(settings, "224.0.0.1").action == "flag"
    missing = scan(settings, None)
    assert (missing.action, missing.details["status"], missing.findings[0].type) == ("block", "missing", "IP_MISSING")


def test_internal_addresses_can_be_blocked():
    result = scan(GeoSettings(internal_action="block"), "127.0.0.1")

    assert (result.action, result.details["status"]) == ("block", "internal")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"mode": "everywhere"}, "mode must be one of allow_all, allow_list, block_list"),
        ({"mode": "allow_list", "countries": ["XX", "USA"]}, "ISO 3166-1 alpha-2 codes .*unknown: XX, USA"),
        ({"mode": "allow_list"}, "allow_list needs at least one country"),
        ({"internal_action": "redact"}, "internal_action must be one of allow, flag, block"),
        ({"action": "allow"}, "action must be one of flag, block"),
        ({"countries": "US"}, "countries must be a list of strings"),
        ({"region": "EU"}, "unknown setting\\(s\\) region"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(data, message):
    with pytest.raises(ScannerConfigError, match=message):
        GeoSettings.from_dict(data)


def test_settings_round_trip_through_dicts():
    settings = GeoSettings.from_dict({"mode": "block_list", "countries": ["ru"]})

    assert settings.countries == ["RU"]
    assert GeoSettings.from_dict(settings.to_dict()) == settings


def test_non_text_input_and_non_text_ip_are_type_errors():
    with pytest.raises(TypeError, match="geo: scan\\(\\) takes text as str"):
        GeoScanner().scan(None, ScanContext(client_ip=US))
    with pytest.raises(TypeError, match="client_ip must be a str"):
        GeoScanner().scan("", ScanContext(client_ip=b"8.8.8.8"))
