"""The eight scanners by name: their settings class, their scanner class, their label and group.

The one place that maps a scanner's name (as the API and the settings spell it) to the detection library.
Out-of-the-box settings are each settings class's own defaults, which are what issue 11 asks for a company that
never saved anything: pii redacts prompts and flags answers, prompt_injection blocks (patterns and classifier),
toxicity flags, language and geo allow everything, file_type allows common document and
image types, regex and topic have no rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apps.scanners.detectors import file_type, geo, language, pii, prompt_injection, regex, topic, toxicity
from apps.scanners.detectors.base import AI_SCANNERS, GENERAL_SCANNERS, SCANNER_NAMES, ScannerConfigError

__all__ = ["AI_SCANNERS", "GENERAL_SCANNERS", "SCANNERS", "SCANNER_NAMES", "ScannerConfigError", "ScannerSpec"]


@dataclass(frozen=True)
class ScannerSpec:
    name: str
    label: str
    settings_class: type
    scanner_class: type
    directions: tuple[str, ...]  # where the scanner runs: "prompt" (input), "answer" (output)
    help: str
    out_of_the_box: dict[str, Any] | None = None  # a company's settings before an admin saves any

    def default_settings(self) -> Any:
        return self.settings_class.from_dict(dict(self.out_of_the_box or {}))

    def parse(self, data: Any) -> Any:
        """Validated settings, or ScannerConfigError with a message an admin can act on."""
        if not isinstance(data, dict):
            raise ScannerConfigError(f"{self.name}: settings must be an object, got {type(data).__name__}")
        return self.settings_class.from_dict(data)

    def build(self, settings: Any) -> Any:
        return self.scanner_class(settings)


SCANNERS: dict[str, ScannerSpec] = {
    spec.name: spec
    for spec in (
        ScannerSpec(
            "prompt_injection",
            "Prompt Injection Detection",
            prompt_injection.PromptInjectionSettings,
            prompt_injection.PromptInjectionScanner,
            ("prompt",),
            "Known injection and jailbreak patterns plus a linear classifier; blocks by default.",
        ),
        ScannerSpec(
            "toxicity",
            "Toxicity",
            toxicity.ToxicitySettings,
            toxicity.ToxicityScanner,
            ("prompt", "answer"),
            "Insults, profanity, threats and hate, with your own block and flag word lists.",
        ),
        ScannerSpec(
            "topic",
            "Topic Scanner",
            topic.TopicSettings,
            topic.TopicScanner,
            ("prompt", "answer"),
            "Allowed and banned topics, each a name plus a few example prompts.",
        ),
        ScannerSpec(
            "language",
            "Language Detection",
            language.LanguageSettings,
            language.LanguageScanner,
            ("prompt",),
            "Allowed languages (ISO 639-1 codes); an empty list allows every language.",
        ),
        ScannerSpec(
            "pii",
            "Personal Information",
            pii.PIISettings,
            pii.PIIScanner,
            ("prompt", "answer"),
            "E-mail, phone, payment cards, IBANs, national ids, IP addresses and your own terms.",
        ),
        ScannerSpec(
            "regex",
            "Regex Scanner",
            regex.RegexSettings,
            regex.RegexScanner,
            ("prompt", "answer"),
            "Your patterns (RE2 syntax, linear time), each blocking, redacting or flagging.",
        ),
        ScannerSpec(
            "geo",
            "Geographic Gating",
            geo.GeoSettings,
            geo.GeoScanner,
            ("prompt",),
            "Allowed or blocked countries by the caller's IP address; internal addresses have their own setting.",
        ),
        ScannerSpec(
            "file_type",
            "Allowed File Types",
            file_type.FileTypeSettings,
            file_type.FileTypeScanner,
            (),  # files only: scan_file(), never on prompt or answer text
            "File types judged by content, not by name; a name that contradicts the content is refused.",
        ),
    )
}
assert tuple(sorted(SCANNERS)) == tuple(sorted(SCANNER_NAMES))
