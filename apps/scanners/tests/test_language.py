import time

import pytest

from apps.scanners.detectors.base import ScanContext, ScannerConfigError
from apps.scanners.detectors.language import (
    LANGUAGE_CODES,
    MODEL_LABELS,
    LanguageScanner,
    LanguageSettings,
    _get_identifier,
)

ENGLISH = "Could you summarise the attached quarterly report and list the three largest risks for our team?"
GERMAN = "Kannst du bitte den beigefügten Quartalsbericht zusammenfassen und die drei größten Risiken nennen?"
FRENCH = "Peux-tu résumer le rapport trimestriel ci-joint et citer les trois risques les plus importants ?"


@pytest.mark.parametrize(("text", "language"), [(ENGLISH, "en"), (GERMAN, "de"), (FRENCH, "fr")])
def test_detects_the_language_and_allows_everything_by_default(text, language):
    result = LanguageScanner().scan(text, ScanContext())

    assert result.details["language"] == language
    assert result.details["status"] == "detected"
    assert (result.action, result.is_valid, result.findings) == ("allow", True, [])


def test_model_labels_match_the_shipped_model():
    assert sorted(set(_get_identifier().nb_classes)) == sorted(set(MODEL_LABELS))


def test_disallowed_language_is_blocked_in_prompts_and_flagged_in_answers():
    scanner = LanguageScanner(LanguageSettings(allowed_languages=["en", "FR"]))

    assert scanner.scan(FRENCH, ScanContext()).action == "allow"
    blocked = scanner.scan(GERMAN, ScanContext(direction="prompt"))
    assert (blocked.action, blocked.is_valid) == ("block", False)
    assert [(f.type, f.start, f.end) for f in blocked.findings] == [("LANGUAGE_NOT_ALLOWED:de", 0, len(GERMAN))]
    assert scanner.scan(GERMAN, ScanContext(direction="answer")).action == "flag"


@pytest.mark.parametrize(
    ("text", "reason"),
    [("", "too_short"), ("ok", "too_short"), ("12345 67890 !!! ???", "too_short"), ("hello", "low_confidence")],
)
def test_undetermined_is_an_explicit_result(text, reason):
    result = LanguageScanner().scan(text, ScanContext())

    assert result.details["status"] == "undetermined"
    assert result.details["reason"] == reason
    assert result.details["language"] is None
    assert result.action == "allow"  # the default undetermined_action, stated rather than implied


def test_undetermined_has_its_own_action():
    scanner = LanguageScanner(LanguageSettings(allowed_languages=["en"], undetermined_action="block"))

    result = scanner.scan("ok", ScanContext())

    assert (result.action, result.is_valid, result.findings[0].type) == ("block", False, "LANGUAGE_UNDETERMINED")


def test_one_megabyte_of_text_finishes_fast():
    text = (GERMAN + " ") * 10_500
    started = time.perf_counter()

    result = LanguageScanner().scan(text, ScanContext())

    assert time.perf_counter() - started < 2.0
    assert result.details["language"] == "de"


def test_binary_junk_decoded_as_text_is_not_a_crash():
    junk = bytes(range(256)).decode("latin-1") * 40

    result = LanguageScanner().scan(junk, ScanContext())

    assert result.details["status"] in {"detected", "undetermined"}


def test_non_text_input_is_a_type_error():
    with pytest.raises(TypeError, match="language: scan\\(\\) takes text as str"):
        LanguageScanner().scan(b"hello", ScanContext())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"allowed_languages": ["en", "english", "xx"]}, "ISO 639-1 codes .*unknown: english, xx"),
        ({"allowed_languages": "en"}, "allowed_languages must be a list of strings"),
        ({"undetermined_action": "redact"}, "undetermined_action must be one of allow, flag, block"),
        ({"prompt_action": "allow"}, "prompt_action must be one of flag, block"),
        ({"min_confidence": -0.1}, "min_confidence must be a number between 0 and 1"),
        ({"min_confidence": True}, "min_confidence must be a number between 0 and 1"),
        ({"min_letters": 0}, "min_letters must be a whole number between 1 and 1000"),
        ({"dialect": "x"}, "unknown setting\\(s\\) dialect"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(data, message):
    with pytest.raises(ScannerConfigError, match=message):
        LanguageSettings.from_dict(data)


def test_varieties_fold_into_iso_639_1_codes():
    assert {"ar", "zh", "en", "de"} <= LANGUAGE_CODES
    assert not {"arz", "yue", "zxx"} & LANGUAGE_CODES


def test_settings_round_trip_through_dicts():
    settings = LanguageSettings.from_dict({"allowed_languages": ["EN"], "undetermined_action": "flag"})

    assert settings.allowed_languages == ["en"]
    assert LanguageSettings.from_dict(settings.to_dict()) == settings
