import time

import pytest

from apps.scanners.detectors.base import ScanContext, ScannerConfigError
from apps.scanners.detectors.toxicity import ToxicityScanner, ToxicitySettings
from apps.scanners.tests.onnx_builders import build_toxicity_classifier

PROMPT = ScanContext(direction="prompt")
ANSWER = ScanContext(direction="answer")


@pytest.fixture(scope="module")
def scanner():
    return ToxicityScanner()


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("You're a total moron and everyone knows it.", "insult"),
        ("Shut up, nobody asked you.", "insult"),
        ("I'm going to find you and hurt you.", "threat"),
        ("I know where you live.", "threat"),
        ("This fucking printer never works.", "profanity"),
        ("All immigrants are vermin and should be deported.", "hate"),
    ],
)
def test_insults_threats_profanity_and_hate_are_flagged(scanner, text, category):
    result = scanner.scan(text, PROMPT)

    assert result.action == "flag"
    assert result.is_valid is True  # flag is the default: the text goes through, marked
    assert category in result.details["categories"]


@pytest.mark.parametrize(
    "text",
    [
        "Have a lovely weekend, and thanks for the quick reply!",
        "The process was killed by the out-of-memory killer; how do I raise the limit?",
        "Kill the process with SIGTERM before you restart the service.",
        "The trash can in the kitchen is full.",
        "Scunthorpe played Middlesex in the cup final.",
        "Our team lost the match but we played well.",
        "",
    ],
)
def test_ordinary_text_is_allowed(scanner, text):
    result = scanner.scan(text, PROMPT)

    assert result.action == "allow", result.details
    assert result.findings == []


def test_lexicon_finding_positions_point_at_the_word(scanner):
    text = "Honestly, you are an idiot."

    result = scanner.scan(text, PROMPT)

    spans = [text[f.start : f.end] for f in result.findings if f.type == "TOXIC:insult"]
    assert "idiot" in spans or any("idiot" in s for s in spans)


def test_obfuscated_profanity_is_caught(scanner):
    result = scanner.scan("what a pile of sh1t", PROMPT)

    assert "profanity" in result.details["categories"]


def test_admin_block_words_block_and_flag_words_flag():
    scanner = ToxicityScanner(
        ToxicitySettings.from_dict({"block_words": ["Project Falcon"], "flag_words": ["competitor x"]})
    )

    blocked = scanner.scan("Tell me about project   falcon please", PROMPT)
    flagged = scanner.scan("How does Competitor X price its plans?", PROMPT)
    clean = scanner.scan("How do falcons hunt?", PROMPT)

    assert blocked.action == "block" and blocked.is_valid is False
    assert [f.type for f in blocked.findings] == ["BLOCKED_WORD"]
    assert flagged.action == "flag"
    assert flagged.findings[0].type == "FLAGGED_WORD"
    assert clean.action == "allow"


def test_answer_direction_uses_the_answer_action():
    scanner = ToxicityScanner(ToxicitySettings.from_dict({"answer_action": "block"}))

    assert scanner.scan("you stupid idiot", ANSWER).action == "block"
    assert scanner.scan("you stupid idiot", PROMPT).action == "flag"


def test_threshold_changes_what_is_flagged():
    lenient = ToxicityScanner(ToxicitySettings.from_dict({"threshold": 0.95}))
    strict = ToxicityScanner(ToxicitySettings.from_dict({"threshold": 0.3}))
    text = "damn, that was a close one"

    assert lenient.scan(text, PROMPT).action == "allow"
    assert strict.scan(text, PROMPT).action == "flag"


def test_an_insult_buried_in_a_long_answer_still_counts(scanner):
    text = "Here is the summary of the meeting notes you asked for. " * 40 + "Also, you are a worthless idiot."

    result = scanner.scan(text, ANSWER)

    assert result.action == "flag"
    assert any(f.start > 2000 for f in result.findings)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"threshold": 2}, "threshold must be between 0 and 1"),
        ({"block_words": "badword"}, "block_words must be a list"),
        ({"flag_words": ["  "]}, "flag_words entries must be non-empty"),
        ({"answer_action": "delete"}, "answer_action must be one of"),
        ({"onnx_model_path": "relative/model.onnx"}, "absolute path"),
        ({"onnx_toxic_classes": ["toxic"]}, "onnx_toxic_classes"),
        ({"colour": "red"}, "unknown toxicity setting"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(settings, message):
    with pytest.raises(ScannerConfigError, match=message):
        ToxicitySettings.from_dict(settings)


def test_defaults_flag_and_round_trip():
    settings = ToxicitySettings.from_dict({})

    assert (settings.prompt_action, settings.answer_action) == ("flag", "flag")
    assert ToxicitySettings.from_dict(settings.to_dict()) == settings


def test_an_admin_onnx_model_adds_its_score(tmp_path):
    path = build_toxicity_classifier(tmp_path / "tox.onnx")
    scanner = ToxicityScanner(
        ToxicitySettings.from_dict({"onnx_model_path": str(path), "use_lexicon": False, "use_model": False})
    )

    toxic = scanner.scan("i hate you stupid", PROMPT)
    clean = scanner.scan("thanks and hello", PROMPT)

    assert toxic.action == "flag"
    assert toxic.findings[0].type == "TOXIC_ONNX"
    assert toxic.details["onnx_score"] > 0.9
    assert clean.action == "allow"


def test_a_configured_onnx_path_that_does_not_exist_is_a_config_error(tmp_path):
    settings = ToxicitySettings.from_dict({"onnx_model_path": str(tmp_path / "missing.onnx")})

    with pytest.raises(ScannerConfigError, match="ONNX model file not found"):
        ToxicityScanner(settings)


def test_one_megabyte_finishes_fast(scanner):
    text = "The committee reviewed the budget and approved the new library opening hours. " * 13_000

    started = time.perf_counter()
    result = scanner.scan(text[:1_000_000], PROMPT)

    assert time.perf_counter() - started < 5.0
    assert result.action == "allow"
