"""Precision and recall of the rule-based scanners on labelled data that is available offline.

    make bench-scanner-accuracy             # or: .venv/bin/python bench/scanner_accuracy.py --json

Data sources (all generated or shipped inside installed packages; nothing is downloaded):
- PII: texts built from Faker (the dev dependency behind factory-boy) with values inserted at known character
  positions: e-mails, phone numbers (en_US, en_GB, de_DE, fr_FR locales), card numbers, IBANs (DE, FR, NL, GB,
  ES, IT), national ids (US SSN, FR NIR, ES DNI/NIE, IT codice fiscale, NL BSN), VAT ids (DE, IT), IPv4/IPv6,
  between Faker sentences and distractors that must not be found (dates, times, amounts, order numbers,
  version strings, 16-digit numbers failing Luhn). A finding counts when its type and span match exactly.
- Language: the human translations shipped with Django (``django/conf/locale`` and ``contrib/*/locale`` .po
  files; English from their msgids): UI strings joined into texts of two lengths, per language the detector
  knows. A second set uses Faker's lorem word lists per locale (real words, random order).
- File types: files generated in memory (``apps/scanners/tests/sample_files.py`` plus Faker-filled text files
  of each text type), once with their right extension and once renamed to a wrong one.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from faker import Faker

from apps.scanners.detectors.base import ScanContext
from apps.scanners.detectors.file_type import FileTypeScanner, detect_type
from apps.scanners.detectors.language import LANGUAGE_CODES, detect
from apps.scanners.detectors.pii import PIIScanner
from apps.scanners.tests import sample_files


def ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


# -- PII -----------------------------------------------------------------------------------------------------


def _pii_generators(seed: int) -> dict[str, list]:
    fakers = {loc: Faker(loc) for loc in ("en_US", "en_GB", "de_DE", "fr_FR", "nl_NL", "es_ES", "it_IT")}
    for i, fake in enumerate(fakers.values()):
        fake.seed_instance(seed + i)

    def grouped(value: str) -> str:
        return " ".join(value[i : i + 4] for i in range(0, len(value), 4))

    return {
        "EMAIL": [lambda: fakers["en_US"].email(), lambda: fakers["de_DE"].email()],
        "PHONE": [lambda loc=loc: fakers[loc].phone_number() for loc in ("en_US", "en_GB", "de_DE", "fr_FR")],
        "CREDIT_CARD": [
            lambda: fakers["en_US"].credit_card_number(),
            lambda: grouped(fakers["en_US"].credit_card_number(card_type="visa16")),
        ],
        "IBAN": [lambda loc=loc: fakers[loc].iban() for loc in ("de_DE", "fr_FR", "nl_NL", "en_GB", "es_ES", "it_IT")]
        + [lambda: grouped(fakers["de_DE"].iban())],
        "NATIONAL_ID": [
            lambda: fakers["en_US"].ssn(),
            lambda: fakers["fr_FR"].ssn(),
            lambda: fakers["es_ES"].nif(),
            lambda: fakers["es_ES"].nie(),
            lambda: fakers["it_IT"].ssn(),
            lambda: fakers["nl_NL"].ssn(),
        ],
        "VAT_NUMBER": [lambda: fakers["de_DE"].vat_id(), lambda: fakers["it_IT"].vat_id()],
        "IP_ADDRESS": [lambda: fakers["en_US"].ipv4(), lambda: fakers["en_US"].ipv6()],
    }


def _valid_phone(value: str) -> bool:
    """Faker writes many numbers outside the real numbering plans; this says which are real-shaped."""
    import phonenumbers

    for region in ("US", "GB", "DE", "FR"):
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(value, region)):
                return True
        except phonenumbers.NumberParseException:
            continue
    return False


def _distractors(rng: random.Random) -> list:
    return [
        lambda: f"{rng.randint(2000, 2030)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        lambda: f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",
        lambda: f"{rng.randint(1, 99999)}.{rng.randint(0, 99):02d} EUR",
        lambda: f"order #{rng.randint(10_000, 99_999_999)}",
        lambda: f"v{rng.randint(0, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 50)}",
        lambda: _luhn_failing(rng),
        lambda: f"{rng.randint(1, 500)} units",
    ]


def _luhn_failing(rng: random.Random) -> str:
    from stdnum import luhn

    while True:
        value = "4" + "".join(str(rng.randint(0, 9)) for _ in range(15))
        if not luhn.is_valid(value):
            return value


def pii_accuracy(count: int, seed: int) -> dict:
    rng = random.Random(seed)
    prose = Faker("en_US")
    prose.seed_instance(seed)
    generators = _pii_generators(seed)
    distractors = _distractors(rng)
    scanner = PIIScanner()
    truth_total: Counter = Counter()
    true_pos: Counter = Counter()
    predicted: Counter = Counter()
    covered_chars = total_chars = 0
    distractor_hits = distractor_total = 0
    valid_phone_found = valid_phone_total = 0
    for _ in range(count):
        parts: list[str] = []
        truths: list[tuple[str, int, int]] = []
        distractor_spans: list[tuple[int, int]] = []
        cursor = 0
        for _ in range(rng.randint(3, 6)):
            sentence = re.sub(r"\d", "", prose.sentence(nb_words=10)) + " "
            parts.append(sentence)
            cursor += len(sentence)
            roll = rng.random()
            if roll < 0.6:
                kind = rng.choice(sorted(generators))
                value = rng.choice(generators[kind])()
                prefix = rng.choice(["Contact: ", "ref ", "Use ", "see "])
                parts.append(prefix)
                cursor += len(prefix)
                truths.append((kind, cursor, cursor + len(value)))
            elif roll < 0.9:
                value = rng.choice(distractors)()
                distractor_spans.append((cursor, cursor + len(value)))
            else:
                continue
            parts.append(value + ". ")
            cursor += len(value) + 2
        text = "".join(parts)
        findings = scanner.scan(text, ScanContext(direction="answer")).findings
        found = {(f.type, f.start, f.end) for f in findings}
        for kind, start, end in truths:
            truth_total[kind] += 1
            true_pos[kind] += (kind, start, end) in found
            if kind == "PHONE" and _valid_phone(text[start:end]):
                valid_phone_total += 1
                valid_phone_found += (kind, start, end) in found
            total_chars += end - start
            covered_chars += sum(
                max(0, min(end, f.end) - max(start, f.start)) for f in findings
            )  # type-agnostic: what redaction would hide
        for finding in findings:
            predicted[finding.type] += 1
        for start, end in distractor_spans:
            distractor_total += 1
            distractor_hits += any(f.start < end and f.end > start for f in findings)
    per_type = {
        kind: {
            "values": truth_total[kind],
            "precision": ratio(true_pos[kind], predicted[kind]),
            "recall": ratio(true_pos[kind], truth_total[kind]),
        }
        for kind in sorted(truth_total)
    }
    return {
        "texts": count,
        "per_type": per_type,
        "micro_precision": ratio(sum(true_pos.values()), sum(predicted.values())),
        "micro_recall": ratio(sum(true_pos.values()), sum(truth_total.values())),
        "characters_covered_by_any_finding": ratio(covered_chars, total_chars),
        "phone_recall_on_numbers_libphonenumber_deems_valid": ratio(valid_phone_found, valid_phone_total),
        "phone_values_libphonenumber_deems_valid": f"{valid_phone_total}/{truth_total['PHONE']}",
        "distractors": distractor_total,
        "distractors_flagged": distractor_hits,
    }


# -- language ------------------------------------------------------------------------------------------------


def _po_strings(path: Path, want_msgid: bool) -> list[str]:
    key = "msgid" if want_msgid else r"msgstr(?:\[\d\])?"
    found = []
    for match in re.finditer(rf'^{key} ((?:".*"\n?)+)', path.read_text(encoding="utf-8"), re.MULTILINE):
        value = "".join(re.findall(r'"(.*)"', match.group(1))).replace("\\n", " ").replace('\\"', '"')
        value = re.sub(r"%\(\w+\)[sd]|%[sdr]|\{\w*\}|<[^>]+>|&\w+;", "", value).strip()
        if len(value) > 3:
            found.append(value)
    return found


def django_translations() -> dict[str, list[str]]:
    import django

    root = Path(django.__file__).parent
    folders = {"zh_Hans": "zh", "nb": "no"}
    by_language: dict[str, list[str]] = defaultdict(list)
    for po in sorted(root.glob("**/locale/*/LC_MESSAGES/django.po")):
        folder = po.parent.parent.name
        language = folders.get(folder, folder)
        if language == "en":
            by_language["en"] += _po_strings(po, want_msgid=True)
        elif language in LANGUAGE_CODES:
            by_language[language] += _po_strings(po, want_msgid=False)
    return {lang: sorted(set(strings)) for lang, strings in by_language.items()}


def _join(strings: list[str], rng: random.Random, low: int, high: int, limit: int) -> list[str]:
    pool = strings[:]
    rng.shuffle(pool)
    texts, current = [], ""
    for value in pool:
        current = f"{current} {value}." if current else f"{value}."
        if len(current) >= low:
            if len(current) <= high:
                texts.append(current)
            current = ""
            if len(texts) >= limit:
                break
    return texts


def _score_language(samples: list[tuple[str, str]]) -> dict:
    correct: Counter = Counter()
    total: Counter = Counter()
    predicted: Counter = Counter()
    undetermined = 0
    for language, text in samples:
        guess, _, _ = detect(text)
        total[language] += 1
        if guess is None:
            undetermined += 1
            continue
        predicted[guess] += 1
        correct[language] += guess == language
    per_language = {
        lang: {
            "texts": total[lang],
            "precision": ratio(correct[lang], predicted[lang]),
            "recall": ratio(correct[lang], total[lang]),
        }
        for lang in sorted(total)
    }
    precisions = [v["precision"] for v in per_language.values() if v["precision"] is not None]
    return {
        "texts": len(samples),
        "languages": len(total),
        "accuracy": ratio(sum(correct.values()), len(samples)),
        "accuracy_when_determined": ratio(sum(correct.values()), len(samples) - undetermined),
        "undetermined": ratio(undetermined, len(samples)),
        "macro_precision": round(sum(precisions) / len(precisions), 4) if precisions else None,
        "macro_recall": round(sum(v["recall"] for v in per_language.values()) / len(per_language), 4),
        "worst": sorted(per_language.items(), key=lambda item: item[1]["recall"])[:5],
    }


def language_accuracy(seed: int, per_language: int) -> dict:
    rng = random.Random(seed)
    translations = django_translations()
    results = {}
    for label, low, high in (("django_po_100_200_chars", 100, 200), ("django_po_30_60_chars", 30, 60)):
        samples = [
            (lang, text)
            for lang, strings in sorted(translations.items())
            for text in _join(strings, rng, low, high, per_language)
        ]
        results[label] = _score_language(samples)
    lorem_locales = {
        "de": "de_DE", "fr": "fr_FR", "es": "es_ES", "it": "it_IT", "nl": "nl_NL", "pl": "pl_PL", "ru": "ru_RU",
        "cs": "cs_CZ", "da": "da_DK", "el": "el_GR", "he": "he_IL", "ja": "ja_JP", "zh": "zh_CN", "uk": "uk_UA",
        "vi": "vi_VN", "th": "th_TH", "fa": "fa_IR", "hy": "hy_AM", "az": "az_AZ", "bn": "bn_BD", "en": "en_US",
    }  # fmt: skip
    samples = []
    for lang, locale in lorem_locales.items():
        fake = Faker(locale)
        fake.seed_instance(seed)
        samples += [(lang, fake.sentence(nb_words=12)) for _ in range(per_language)]
    results["faker_lorem_12_words"] = _score_language(samples)
    return results


# -- file types ----------------------------------------------------------------------------------------------


def _text_files(seed: int, per_type: int) -> dict[str, list[bytes]]:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    files: dict[str, list[bytes]] = defaultdict(list)
    for _ in range(per_type):
        files["txt"].append("\n".join(fake.paragraphs(nb=3)).encode())
        heading, body, url = fake.sentence(), fake.paragraph(), fake.url()
        files["md"].append(f"# {heading}\n\n{body}\n\n- {fake.word()}\n- {fake.word()}\n\n[link]({url})\n".encode())
        rows = [f"{fake.name()},{fake.email()},{fake.pyint()}" for _ in range(8)]
        files["csv"].append(("name,email,amount\n" + "\n".join(rows) + "\n").encode())
        files["json"].append(json.dumps(fake.pydict(nb_elements=6, value_types=[str, int, float])).encode())
        page = f"<!DOCTYPE html><html><head><title>{fake.word()}</title></head><body><p>{body}</p></body></html>"
        files["html"].append(page.encode())
        name = fake.word()
        code = f"import json\n\n\ndef {name}(value):\n    result = json.dumps(value)\n    return result\n"
        files["code"].append(f"{code}\n\nclass {name.title()}:\n    pass\n".encode())
    return files


def file_type_accuracy(seed: int, per_type: int) -> dict:
    files = _text_files(seed, per_type)
    for kind, data in sample_files.BINARY_SAMPLES.items():
        files[kind].append(data)
    files["png"] += [sample_files.png(w, h) for w, h in ((3, 5), (16, 16), (1, 40))]
    files["binary"] = [sample_files.junk(4096, s) for s in range(per_type)]
    extension = {"jpeg": "jpg", "code": "py", "binary": "bin"}
    detected_right = total = 0
    confusion: Counter = Counter()
    for kind, samples in files.items():
        for data in samples:
            total += 1
            guess = detect_type(data)
            detected_right += guess == kind
            if guess != kind:
                confusion[f"{kind}->{guess}"] += 1
    scanner = FileTypeScanner()
    allowed_kinds = [k for k in files if k in scanner.settings.allowed_types]
    false_refusals = sum(
        scanner.scan_bytes(data, f"file.{extension.get(kind, kind)}").action != "allow"
        for kind in allowed_kinds
        for data in files[kind]
    )
    allowed_total = sum(len(files[kind]) for kind in allowed_kinds)
    wrong_names = {
        "pdf": "png",
        "png": "pdf",
        "docx": "pdf",
        "exe": "jpg",
        "html": "txt",
        "txt": "json",
        "json": "html",
    }
    caught = renamed = 0
    for kind, wrong in wrong_names.items():
        for data in files[kind]:
            renamed += 1
            caught += scanner.scan_bytes(data, f"renamed.{wrong}").details.get("reason") == "mismatch"
    return {
        "files": total,
        "types": len(files),
        "detection_accuracy": ratio(detected_right, total),
        "confusions": dict(confusion),
        "correctly_named_allowed_files_refused": f"{false_refusals}/{allowed_total}",
        "renamed_files_caught_as_mismatch": f"{caught}/{renamed}",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--pii-texts", type=int, default=1000)
    parser.add_argument("--per-language", type=int, default=30)
    parser.add_argument("--files-per-type", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = {
        "pii": pii_accuracy(args.pii_texts, args.seed),
        "language": language_accuracy(args.seed, args.per_language),
        "file_type": file_type_accuracy(args.seed, args.files_per_type),
    }
    print(json.dumps(report, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
