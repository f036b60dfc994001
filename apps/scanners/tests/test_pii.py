import time

import pytest

from apps.scanners.detectors.base import ScanContext, ScannerConfigError
from apps.scanners.detectors.pii import ENTITY_TYPES, PIIScanner, PIISettings, StreamingRestorer, restore

SAMPLE = (
    "Mail jane.roe@example.org, call +1 415-555-2671 or 030 1234567. Card 4111 1111 1111 1111, "
    "IBAN DE89 3704 0044 0532 0130 00 AND NL91ABNA0417164300. SSN 536-90-4399, NIR 2 95 10 99 126 111 93, "
    "DNI 54362315K, CF RCCMNL83S18D969H, BSN 111222333, VAT DE136695976. Server 192.168.1.20 and 2001:db8::1."
)


def spans(result, text):
    return [(f.type, text[f.start : f.end]) for f in result.findings]


def test_finds_every_kind_at_exact_offsets():
    result = PIIScanner().scan(SAMPLE, ScanContext(direction="answer"))

    assert spans(result, SAMPLE) == [
        ("EMAIL", "jane.roe@example.org"),
        ("PHONE", "+1 415-555-2671"),
        ("PHONE", "030 1234567"),
        ("CREDIT_CARD", "4111 1111 1111 1111"),
        ("IBAN", "DE89 3704 0044 0532 0130 00"),
        ("IBAN", "NL91ABNA0417164300"),
        ("NATIONAL_ID", "536-90-4399"),
        ("NATIONAL_ID", "2 95 10 99 126 111 93"),
        ("NATIONAL_ID", "54362315K"),
        ("NATIONAL_ID", "RCCMNL83S18D969H"),
        ("NATIONAL_ID", "111222333"),
        ("VAT_NUMBER", "DE136695976"),
        ("IP_ADDRESS", "192.168.1.20"),
        ("IP_ADDRESS", "2001:db8::1"),
    ]
    start = SAMPLE.index("jane.roe")
    assert (result.findings[0].start, result.findings[0].end) == (start, start + len("jane.roe@example.org"))


def test_offsets_count_characters_not_bytes():
    text = "Grüße, 日本語 — mail jane@example.org"

    finding = PIIScanner().scan(text, ScanContext(direction="answer")).findings[0]

    assert text[finding.start : finding.end] == "jane@example.org"


def test_answers_are_flagged_by_default_and_nothing_is_rewritten():
    result = PIIScanner().scan("write to jane@example.org", ScanContext(direction="answer"))

    assert (result.action, result.is_valid, result.sanitized_text) == ("flag", True, None)
    assert result.details["counts"] == {"EMAIL": 1}


def test_findings_and_details_never_hold_the_raw_value():
    result = PIIScanner().scan(SAMPLE, ScanContext())

    dumped = repr(result.findings) + repr(result.details)
    for secret in ("jane.roe", "4111", "DE89", "536-90-4399", "192.168"):
        assert secret not in dumped
    assert result.details["id_kinds"]["es.dni"] == 1


@pytest.mark.parametrize(
    "look_alike",
    [
        "4111 1111 1111 1112",  # 16 digits failing Luhn
        "DE89 3704 0044 0532 0130 01",  # IBAN with a wrong check
        "000-12-3456",  # SSN area 000 is never issued
        "54362315A",  # DNI with the wrong letter
        "111222334",  # BSN failing the 11-test
        "DE136695977",  # VAT with a wrong check digit
        "999.1.1.1",  # not an IPv4 address
    ],
)
def test_checksums_reject_look_alikes(look_alike):
    # Phones left out: a bare 9-digit run is a valid phone number in some region, which is a different question.
    scanner = PIIScanner(PIISettings(entities=[t for t in ENTITY_TYPES if t != "PHONE"]))

    result = scanner.scan(f"ref {look_alike} end", ScanContext())

    assert result.findings == []
    assert result.action == "allow"


@pytest.mark.parametrize("not_a_phone", ["call 1234", "pages 12-34", "room 12 34 56"])
def test_short_digit_groups_are_not_phone_numbers(not_a_phone):
    assert PIIScanner().scan(not_a_phone, ScanContext()).findings == []


def test_a_card_number_inside_a_longer_digit_run_is_not_a_card():
    result = PIIScanner().scan("order 41111111111111110000 shipped", ScanContext())

    assert [f.type for f in result.findings] != ["CREDIT_CARD"]


def test_dates_and_amounts_are_not_phone_numbers():
    result = PIIScanner().scan("On 2024-10-12 at 10:30 we sold 1500 units for 23.50 EUR.", ScanContext())

    assert result.findings == []


def test_phone_regions_decide_national_formats():
    text = "ring 030 1234567 today"
    us_only = PIIScanner(PIISettings(phone_regions=["US"]))
    germany = PIIScanner(PIISettings(phone_regions=["DE"]))

    assert us_only.scan(text, ScanContext()).findings == []
    assert [f.type for f in germany.scan(text, ScanContext()).findings] == ["PHONE"]


def test_custom_terms_are_case_insensitive_whole_words():
    scanner = PIIScanner(PIISettings(custom_terms=["Project Falcon", "Acme"]))
    text = "project falcon for ACME, not Acmeville or xAcme."

    result = scanner.scan(text, ScanContext(direction="answer"))

    assert spans(result, text) == [("CUSTOM_TERM", "project falcon"), ("CUSTOM_TERM", "ACME")]


def test_redaction_uses_numbered_placeholders_and_restore_round_trips():
    context = ScanContext()
    text = "From a@example.com to b@example.com, cc a@example.com."

    result = PIIScanner().scan(text, context)

    assert result.action == "redact"
    assert result.sanitized_text == "From [EMAIL_1] to [EMAIL_2], cc [EMAIL_1]."
    assert context.redaction_map == {"[EMAIL_1]": "a@example.com", "[EMAIL_2]": "b@example.com"}
    assert restore(result.sanitized_text, context.redaction_map) == text


def test_placeholders_stay_consistent_across_a_conversation():
    context = ScanContext()
    scanner = PIIScanner()
    scanner.scan("mail a@example.com", context)

    second = scanner.scan("mail c@example.com and a@example.com, card 4111111111111111", context)

    assert second.sanitized_text == "mail [EMAIL_2] and [EMAIL_1], card [CREDIT_CARD_1]"
    assert context.redaction_map["[EMAIL_2]"] == "c@example.com"


def test_restore_leaves_unknown_placeholders_and_plain_text_alone():
    answer = "Dear [EMAIL_1], see [EMAIL_9] and [sic]."

    assert restore(answer, {"[EMAIL_1]": "a@example.com"}) == "Dear a@example.com, see [EMAIL_9] and [sic]."
    assert restore(answer, None) == answer


@pytest.mark.parametrize("cut_points", [[3], [10, 11, 12], list(range(1, 40)), [19, 25]])
def test_streaming_restorer_handles_placeholders_split_across_chunks(cut_points):
    redaction_map = {"[EMAIL_1]": "a@example.com", "[CREDIT_CARD_12]": "4111111111111111"}
    answer = "Hi [EMAIL_1], card [CREDIT_CARD_12] ok [x"
    chunks, previous = [], 0
    for cut in [*cut_points, len(answer)]:
        chunks.append(answer[previous:cut])
        previous = cut
    restorer = StreamingRestorer(redaction_map)

    shown = "".join(restorer.feed(chunk) for chunk in chunks) + restorer.flush()

    assert shown == "Hi a@example.com, card 4111111111111111 ok [x"


def test_streaming_restorer_holds_back_only_a_possible_placeholder():
    restorer = StreamingRestorer({"[EMAIL_1]": "a@example.com"})

    assert restorer.feed("list [1, 2] and [EMA") == "list [1, 2] and "
    assert restorer.feed("IL_1] done") == "a@example.com done"
    assert restorer.flush() == ""


def test_block_action_rejects_the_prompt():
    result = PIIScanner(PIISettings(prompt_action="block")).scan("card 4111111111111111", ScanContext())

    assert (result.action, result.is_valid, result.risk_score) == ("block", False, 1.0)


def test_disabled_entities_are_not_reported():
    scanner = PIIScanner(PIISettings(entities=["EMAIL"]))

    result = scanner.scan("a@example.com 4111111111111111", ScanContext(direction="answer"))

    assert [f.type for f in result.findings] == ["EMAIL"]


def test_empty_text_is_allowed():
    result = PIIScanner().scan("", ScanContext())

    assert (result.action, result.findings, result.risk_score) == ("allow", [], 0.0)


@pytest.mark.parametrize("bad", [None, b"a@example.com", 42])
def test_non_text_input_is_a_type_error(bad):
    with pytest.raises(TypeError, match="pii: scan\\(\\) takes text as str"):
        PIIScanner().scan(bad, ScanContext())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"prompt_action": "delete"}, "prompt_action must be one of block, redact, flag, allow"),
        ({"entities": ["EMAIL", "NAME"]}, "entities must be one of"),
        ({"phone_regions": ["XX"]}, "'XX' is not a region phonenumbers knows"),
        ({"national_ids": ["gb.nino"]}, "national_ids must be one of"),
        ({"custom_terms": ["ok", "  "]}, "custom_terms must not contain empty terms"),
        ({"threshold": 1.5}, "threshold must be a number between 0 and 1"),
        ({"colour": "red"}, "unknown setting\\(s\\) colour"),
        ("redact", "settings must be an object"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(data, message):
    with pytest.raises(ScannerConfigError, match=message):
        PIISettings.from_dict(data)


def test_settings_round_trip_through_dicts():
    settings = PIISettings.from_dict({"prompt_action": "block", "custom_terms": ["Acme"]})

    assert PIISettings.from_dict(settings.to_dict()) == settings


@pytest.mark.parametrize(
    "junk",
    [
        "a" * 1_000_000,
        "1" * 1_000_000,
        "1 " * 500_000,
        "a@" * 500_000,
        ":" * 1_000_000,
        "DE89 " * 200_000,
        "1." * 500_000,
    ],
)
def test_one_megabyte_of_adversarial_text_finishes_fast(junk):
    started = time.perf_counter()

    PIIScanner(PIISettings(custom_terms=["Acme"])).scan(junk, ScanContext())

    assert time.perf_counter() - started < 5.0


def test_one_megabyte_of_text_with_pii_is_redacted():
    text = ("Some words here, mail a@example.com, call +1 415-555-2671. " * 17_000)[:1_000_000]
    context = ScanContext()
    started = time.perf_counter()

    result = PIIScanner().scan(text, context)

    assert time.perf_counter() - started < 10.0
    assert result.details["counts"]["EMAIL"] >= 16_000
    assert restore(result.sanitized_text, context.redaction_map) == text


@pytest.mark.parametrize(
    "distractor", ["order #76860156", "total 74648.92 EUR", "ref 4987426556665833", "id 7686015", "v2.10.33"]
)
def test_order_numbers_amounts_and_long_digit_runs_are_not_phone_numbers(distractor):
    assert PIIScanner().scan(f"See {distractor} today.", ScanContext()).findings == []


def test_a_phone_extension_belongs_to_the_number():
    text = "Call +1-415-555-2671x123 now"

    result = PIIScanner().scan(text, ScanContext(direction="answer"))

    assert spans(result, text) == [("PHONE", "+1-415-555-2671x123")]


def test_a_french_nir_that_also_passes_luhn_is_a_national_id():
    text = "NIR 162050506100170 on file"

    result = PIIScanner().scan(text, ScanContext(direction="answer"))

    assert spans(result, text) == [("NATIONAL_ID", "162050506100170")]


def test_phone_like_groupings_that_pass_luhn_are_not_cards():
    text = "dial 001-335-504-9258"

    assert [f.type for f in PIIScanner().scan(text, ScanContext()).findings] != ["CREDIT_CARD"]
