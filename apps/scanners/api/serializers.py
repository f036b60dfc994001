"""Bodies of the Scanner API. Input serializers refuse unknown fields; output serializers document the shape."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from apps.scanners.detectors.base import SCANNER_NAMES
from apps.users_api.serializers import StrictInputSerializer

DIRECTIONS = ("prompt", "answer")


def check_text(value: str) -> str:
    """Text a scanner can read: non-empty, bounded, valid Unicode (no lone surrogates), no NUL bytes."""
    limit = settings.SCANNER_MAX_TEXT_CHARS
    if not value.strip():
        raise serializers.ValidationError("The text is empty.")
    if len(value) > limit:
        raise serializers.ValidationError(f"The text has {len(value)} characters; the limit is {limit}.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise serializers.ValidationError("The text is not valid Unicode (it holds a lone surrogate).") from None
    if "\x00" in value:
        raise serializers.ValidationError(
            "The text holds NUL characters, so it is binary data rather than text; send files to ScanFile."
        )
    return value


class StrictCharField(serializers.CharField):
    """A JSON string only: DRF's CharField would quietly turn 12 or true into text."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class ScannerNamesField(serializers.ListField):
    child = serializers.ChoiceField(choices=SCANNER_NAMES)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_empty=False, max_length=len(SCANNER_NAMES), **kwargs)


class ScanInputSerializer(StrictInputSerializer):
    text = StrictCharField(trim_whitespace=False, allow_blank=True, help_text="The text to scan.")
    direction = serializers.ChoiceField(
        choices=DIRECTIONS, help_text="`prompt` (what a user sends to the AI) or `answer` (what the AI sends back)."
    )
    agentId = serializers.CharField(
        required=False,
        max_length=36,
        help_text="Run this agent's scanner settings instead of the company defaults.",
    )
    scanners = ScannerNamesField(required=False, help_text="Run only these scanners (each must be enabled).")

    def validate_text(self, value: str) -> str:
        return check_text(value)


class ScanFileInputSerializer(StrictInputSerializer):
    file = serializers.FileField(help_text="The file; its type is judged by its content, not its name.")
    agentId = serializers.CharField(required=False, max_length=36)

    def validate_file(self, value):
        limit = settings.SCANNER_MAX_FILE_BYTES
        if value.size > limit:
            raise serializers.ValidationError(f"The file has {value.size} bytes; the limit is {limit}.")
        return value


class FindingSerializer(serializers.Serializer):
    type = serializers.CharField(help_text='What was found, e.g. "EMAIL", "INJECTION_PATTERN:instruction_override".')
    start = serializers.IntegerField(help_text="Character offset into the scanned text.")
    end = serializers.IntegerField(help_text="Exclusive end offset.")
    score = serializers.FloatField()


class ScannerResultSerializer(serializers.Serializer):
    scanner = serializers.ChoiceField(choices=SCANNER_NAMES)
    isValid = serializers.BooleanField(help_text="False when this scanner blocks.")
    riskScore = serializers.FloatField(help_text="0 to 1.")
    threshold = serializers.FloatField()
    action = serializers.ChoiceField(choices=["allow", "flag", "redact", "block"], help_text="The action taken.")
    findings = FindingSerializer(many=True)
    details = serializers.DictField(help_text="Scanner-specific facts; never the raw sensitive value.")
    latencyMs = serializers.FloatField()


class ScanOutputSerializer(serializers.Serializer):
    isValid = serializers.BooleanField(help_text="False when any scanner blocks.")
    sanitizedText = serializers.CharField(
        help_text="The text with every redaction applied (PII as [EMAIL_1]-style placeholders)."
    )
    riskScore = serializers.FloatField(help_text="The highest risk score of all scanners.")
    results = ScannerResultSerializer(many=True)
    latencyMs = serializers.FloatField()
