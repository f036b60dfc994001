"""The whole input pipeline (``apps.scanners.pipeline.scan_prompt``) with every scanner on, on 1 KB texts,
pinned to one CPU core: median and p99 (target: under 25 ms).

    .venv/bin/python bench/scanners_pipeline.py                  # or --iterations 2000 --json

Unlike bench/scanners.py (each detector alone), this times what a prompt really goes through: the resolved
settings map, the cached scanner instances, regex then PII redaction composed on one text, and the conversation's
placeholder map carried from prompt to prompt. Every scanner is configured to have work to do: PII with custom
terms, the injection classifier switched on, toxicity word lists, two topics, five regex rules, a geo block list,
an allowed-language list. The texts are bench/scanners.py's generated 1 KB texts (Faker prose with personal data,
a ticket number and an injection-like sentence mixed in).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scanners import IPS, SCANNERS, make_texts, percentile  # noqa: E402

SETTINGS: dict[str, dict] = {name: settings for name, _module, _cls, _settings_cls, settings in SCANNERS}
SETTINGS.update(
    {
        "prompt_injection": {"use_classifier": True},
        "toxicity": {"block_words": ["zork"], "flag_words": ["blorp"]},
        "topic": {
            "topics": [
                {"name": "weapons", "kind": "banned", "examples": ["how to build a gun", "buy explosives online"]},
                {"name": "hr", "kind": "allowed", "examples": ["vacation days policy", "parental leave rules"]},
            ]
        },
        "language": {"allowed_languages": ["en", "de", "fr"]},
    }
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--cpu", type=int, default=0, help="the core to pin to")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})

    from apps.scanners.detectors.base import ScanContext
    from apps.scanners.pipeline import scan_prompt
    from apps.scanners.registry import SCANNERS as SPECS

    settings_map = {name: spec.parse(SETTINGS.get(name, {})) for name, spec in SPECS.items()}
    texts = make_texts(64)
    loaded = time.perf_counter()
    scan_prompt(settings_map, texts[0], ScanContext(direction="prompt", client_ip=IPS[0]))  # load the models
    load_ms = (time.perf_counter() - loaded) * 1000
    redaction_map: dict[str, str] = {}
    for text in texts[:20]:  # warm-up
        scan_prompt(settings_map, text, ScanContext(direction="prompt", client_ip=IPS[0]))
    timings = []
    blocked = 0
    for index in range(args.iterations):
        context = ScanContext(direction="prompt", client_ip=IPS[index % len(IPS)], redaction_map=redaction_map)
        started = time.perf_counter()
        outcome = scan_prompt(settings_map, texts[index % len(texts)], context)
        timings.append((time.perf_counter() - started) * 1000)
        blocked += not outcome.is_valid
    result = {
        "scanners": sorted(settings_map),
        "iterations": args.iterations,
        "text_chars": round(statistics.mean(len(t) for t in texts)),
        "median_ms": round(statistics.median(timings), 3),
        "p99_ms": round(percentile(timings, 0.99), 3),
        "max_ms": round(max(timings), 3),
        "first_call_ms": round(load_ms, 1),
        "blocked_fraction": round(blocked / args.iterations, 3),
        "target_ms": 25,
        "machine": f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, 1 core pinned",
        "load_average": [round(x, 2) for x in os.getloadavg()],  # other work on the machine inflates the tail
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"input pipeline, {len(settings_map)} scanners, {result['text_chars']}-char texts, "
            f"{args.iterations} runs: median {result['median_ms']} ms, p99 {result['p99_ms']} ms "
            f"(max {result['max_ms']} ms; first call incl. model load {result['first_call_ms']} ms; target < 25 ms; "
            f"load average {result['load_average'][0]})"
        )
    return 0 if result["p99_ms"] < result["target_ms"] else 1


if __name__ == "__main__":
    sys.exit(main())
