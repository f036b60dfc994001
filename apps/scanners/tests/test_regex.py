import re
import time

import pytest

from apps.scanners.detectors.base import ScanContext, ScannerConfigError
from apps.scanners.detectors.regex import RegexScanner, RegexSettings


def scanner(*rules):
    return RegexScanner(RegexSettings.from_dict({"rules": list(rules)}))


def test_no_rules_by_default_allows_everything():
    result = RegexScanner().scan("anything at all", ScanContext())

    assert (result.action, result.findings, result.is_valid) == ("allow", [], True)


def test_matches_are_reported_at_exact_character_offsets():
    text = "Grüße: ticket ABC-1234 and abc-9"

    result = scanner({"name": "ticket", "pattern": r"(?i)abc-\d+", "action": "flag"}).scan(text, ScanContext())

    assert [(f.type, text[f.start : f.end]) for f in result.findings] == [
        ("REGEX:ticket", "ABC-1234"),
        ("REGEX:ticket", "abc-9"),
    ]
    assert result.action == "flag"
    assert result.details == {"matches": {"ticket": 2}}


def test_redact_replaces_matches_with_the_literal_replacement():
    rule = {"name": "code", "pattern": r"X-\d{4}", "action": "redact", "replacement": r"[CODE \1]"}

    result = scanner(rule).scan("use X-1234 or X-9999 now", ScanContext())

    assert result.action == "redact"
    assert result.sanitized_text == r"use [CODE \1] or [CODE \1] now"


def test_strongest_action_wins_across_rules():
    result = scanner(
        {"name": "soft", "pattern": "alpha", "action": "flag"},
        {"name": "hard", "pattern": "beta", "action": "block"},
        {"name": "hide", "pattern": "gamma", "action": "redact"},
    ).scan("alpha beta gamma", ScanContext())

    assert (result.action, result.is_valid, result.sanitized_text) == ("block", False, None)
    assert {f.type for f in result.findings} == {"REGEX:soft", "REGEX:hard", "REGEX:hide"}


def test_overlapping_redactions_do_not_leak_the_tail():
    result = scanner(
        {"name": "a", "pattern": "secret", "action": "redact", "replacement": "#"},
        {"name": "b", "pattern": "cret-code", "action": "redact", "replacement": "#"},
    ).scan("the secret-code here", ScanContext())

    assert result.sanitized_text == "the # here"


def test_rules_apply_only_to_their_directions():
    rules = scanner({"name": "x", "pattern": "token", "action": "block", "directions": ["answer"]})

    assert rules.scan("token", ScanContext(direction="prompt")).action == "allow"
    assert rules.scan("token", ScanContext(direction="answer")).action == "block"


def test_catastrophic_backtracking_pattern_runs_in_linear_time():
    rules = scanner({"name": "evil", "pattern": r"(a+)+$", "action": "block"})
    text = "a" * 5000 + "b"
    started = time.perf_counter()

    result = rules.scan(text, ScanContext())

    assert time.perf_counter() - started < 0.5
    assert result.action == "allow"


def test_python_re_would_hang_on_the_same_pattern():
    # The reason RE2 is used: Python's backtracking engine needs 2**n steps here (n=20: about a million).
    started = time.perf_counter()
    assert re.search(r"(a+)+$", "a" * 20 + "b") is None
    python_seconds = time.perf_counter() - started
    started = time.perf_counter()
    scanner({"name": "evil", "pattern": r"(a+)+$"}).scan("a" * 20 + "b", ScanContext())

    assert time.perf_counter() - started < python_seconds


def test_one_megabyte_with_many_matches_finishes_fast_and_caps_findings():
    text = "ab1 " * 250_000
    started = time.perf_counter()

    result = scanner({"name": "n", "pattern": r"\d", "action": "flag"}).scan(text, ScanContext())

    assert time.perf_counter() - started < 3.0
    assert len(result.findings) == 1000
    assert result.details["truncated"] is True


def test_empty_text_is_allowed():
    assert scanner({"name": "x", "pattern": "x", "action": "block"}).scan("", ScanContext()).action == "allow"


def test_non_text_input_is_a_type_error():
    with pytest.raises(TypeError, match="regex: scan\\(\\) takes text as str"):
        scanner({"name": "x", "pattern": "x"}).scan(b"x", ScanContext())


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"name": "br", "pattern": r"(a)\1"}, "RE2 cannot run this pattern: invalid escape sequence: \\\\1"),
        ({"name": "look", "pattern": r"(?=x)y"}, "RE2 cannot run this pattern: invalid perl operator: \\(\\?="),
        ({"name": "open", "pattern": "("}, "RE2 cannot run this pattern: missing \\)"),
        ({"name": "empty", "pattern": "a*"}, "the pattern matches the empty string"),
        ({"name": "x", "pattern": "x", "action": "delete"}, "action must be one of block, redact, flag"),
        ({"pattern": "x"}, "name is required"),
        ({"name": "x", "pattern": ""}, "pattern is required"),
        ({"name": "x", "pattern": "x", "directions": ["sideways"]}, "directions must be one of prompt, answer"),
        ({"name": "x", "pattern": "x" * 2001}, "longer than 2000 characters"),
        ({"name": "x", "pattern": "x", "colour": "red"}, "unknown setting\\(s\\) colour"),
    ],
)
def test_bad_rules_are_refused_with_the_reason(rule, message):
    with pytest.raises(ScannerConfigError, match=message):
        RegexSettings.from_dict({"rules": [rule]})


def test_duplicate_rule_names_are_refused():
    with pytest.raises(ScannerConfigError, match="rule names must be unique; repeated: same"):
        RegexSettings.from_dict({"rules": [{"name": "same", "pattern": "a"}, {"name": "same", "pattern": "b"}]})


def test_rules_must_be_a_list():
    with pytest.raises(ScannerConfigError, match="rules must be a list"):
        RegexSettings.from_dict({"rules": "x"})


def test_settings_round_trip_through_dicts():
    settings = RegexSettings.from_dict({"rules": [{"name": "x", "pattern": "x+", "action": "redact"}]})

    assert RegexSettings.from_dict(settings.to_dict()) == settings
