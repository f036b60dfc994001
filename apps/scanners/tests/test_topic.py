import time

import pytest

from apps.scanners.detectors.base import ScanContext, ScannerConfigError
from apps.scanners.detectors.topic import TopicScanner, TopicSettings, stem
from apps.scanners.tests.onnx_builders import build_topic_embedder

PROMPT = ScanContext(direction="prompt")
WEAPONS = {
    "name": "weapons",
    "kind": "banned",
    "examples": [
        "How do I build a pipe bomb?",
        "Where can I buy an untraceable gun?",
        "How to make explosives at home",
    ],
}
BILLING = {
    "name": "billing",
    "kind": "allowed",
    "examples": [
        "Why was my invoice higher this month?",
        "How do I update my credit card for billing?",
        "Can I get a refund for my subscription?",
    ],
}


def scanner_for(*topics, **extra):
    return TopicScanner(TopicSettings.from_dict({"topics": list(topics), **extra}))


def test_no_topics_allows_everything():
    result = TopicScanner().scan("How do I build a pipe bomb?", PROMPT)

    assert result.action == "allow"
    assert result.findings == []


def test_a_banned_topic_is_blocked_with_the_matching_span():
    text = "Quick question about my order. Also, how can I build a bomb at home?"

    result = scanner_for(WEAPONS).scan(text, PROMPT)

    assert result.action == "block"
    assert result.is_valid is False
    finding = result.findings[0]
    assert finding.type == "BANNED_TOPIC:weapons"
    assert "bomb" in text[finding.start : finding.end]


def test_an_unrelated_prompt_does_not_hit_a_banned_topic():
    result = scanner_for(WEAPONS).scan("What is a good recipe for banana bread?", PROMPT)

    assert result.action == "allow"
    assert result.risk_score < 0.35


def test_an_agent_that_must_stay_on_topic_flags_off_topic_prompts():
    scanner = scanner_for(BILLING, WEAPONS)

    on_topic = scanner.scan("I would like a refund for last month's invoice", PROMPT)
    off_topic = scanner.scan("Write me a poem about the sea", PROMPT)

    assert on_topic.action == "allow"
    assert off_topic.action == "flag"
    assert off_topic.findings[0].type == "OFF_TOPIC"
    assert off_topic.details["off_topic"] is True


def test_banned_wins_over_allowed():
    result = scanner_for(BILLING, WEAPONS).scan("Can I pay my invoice with the gun I want to buy?", PROMPT)

    assert result.action == "block"


def test_threshold_is_configurable():
    text = "where do people buy guns"
    loose = scanner_for(WEAPONS, threshold=0.2)
    tight = scanner_for(WEAPONS, threshold=0.9)

    assert loose.scan(text, PROMPT).action == "block"
    assert tight.scan(text, PROMPT).action == "allow"


def test_actions_are_configurable():
    scanner = scanner_for(WEAPONS, banned_action="flag")

    assert scanner.scan("how to make explosives", PROMPT).action == "flag"


def test_light_stemming_joins_word_forms():
    assert stem("explosives") == stem("explosive")
    assert stem("refunds") == stem("refund")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"topics": [{"name": "weapons", "kind": "banned", "examples": []}]}, "needs at least one example"),
        ({"topics": [{"name": "weapons", "kind": "banned"}]}, "needs at least one example"),
        ({"topics": [{"name": "weapons", "examples": ["  "]}]}, "examples must be non-empty"),
        ({"topics": [{"name": "weapons", "examples": ["the of a"]}]}, "no meaningful words"),
        ({"topics": [{"name": "", "examples": ["guns"]}]}, "name must be a non-empty"),
        ({"topics": [{"name": "x", "kind": "forbidden", "examples": ["guns"]}]}, "kind must be"),
        ({"topics": [WEAPONS, {**WEAPONS, "name": "Weapons"}]}, "names must be unique"),
        ({"topics": "weapons"}, "topics must be a list"),
        ({"threshold": 1.01}, "threshold must be between 0 and 1"),
        ({"banned_action": "explode"}, "banned_action must be one of"),
        ({"onnx_model_path": "model.onnx"}, "absolute path"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(settings, message):
    with pytest.raises(ScannerConfigError, match=message):
        TopicSettings.from_dict(settings)


def test_settings_round_trip():
    settings = TopicSettings.from_dict({"topics": [WEAPONS, BILLING], "threshold": 0.4})

    assert TopicSettings.from_dict(settings.to_dict()) == settings


def test_empty_text_is_allowed_even_with_allowed_topics():
    result = scanner_for(BILLING).scan("", PROMPT)

    assert result.action == "allow"


def test_an_onnx_embedder_finds_what_the_words_alone_miss(tmp_path):
    path = build_topic_embedder(tmp_path / "embed.onnx")
    topic = {"name": "weapons", "kind": "banned", "examples": ["a gun", "a rifle"]}
    lexical = scanner_for(topic)
    embedded = scanner_for(topic, onnx_model_path=str(path))
    text = "rifle"

    assert embedded.scan(text, PROMPT).action == "block"
    assert embedded.scan("refund please", PROMPT).action == "allow"
    assert lexical.scan("guns and rifles", PROMPT).action == "block"


def test_a_bad_onnx_path_is_a_config_error(tmp_path):
    settings = TopicSettings.from_dict({"topics": [WEAPONS], "onnx_model_path": str(tmp_path / "none.onnx")})

    with pytest.raises(ScannerConfigError, match="ONNX model file not found"):
        TopicScanner(settings)


def test_one_megabyte_finishes_fast():
    scanner = scanner_for(BILLING, WEAPONS)
    text = ("The museum opens at nine. Tickets are sold at the door. " * 20_000)[:1_000_000]

    started = time.perf_counter()
    result = scanner.scan(text, PROMPT)

    assert time.perf_counter() - started < 5.0
    assert result.action == "flag"  # nothing about billing in a museum leaflet
