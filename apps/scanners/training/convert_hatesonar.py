"""Turn hatesonar's ONNX model into the pure-Python toxicity model models/toxicity_linear.json.gz.

    .venv/bin/python -m apps.scanners.training.convert_hatesonar

hatesonar 0.1.0 (MIT, H. Nakayama) ships model.onnx: scikit-learn TfidfVectorizer + L1 logistic regression trained on
Davidson et al. 2017 "Automated Hate Speech Detection and the Problem of Offensive Language" (24,783 tweets, classes
hate_speech / offensive_language / neither). We read the vocabulary, idf weights, coefficients and intercepts out of
the graph with the ``onnx`` package (dev dependency) and check that our pure-Python re-implementation gives the same
probabilities as onnxruntime on sample texts. The runtime then needs neither onnxruntime nor scikit-learn.
"""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

from apps.scanners.detectors.toxicity import LINEAR_MODEL_PATH, linear_probabilities

from .datasets import HATESONAR, read_member

SAMPLES = [
    "have a lovely day, see you at the meeting",
    "you are a stupid idiot and everybody hates you",
    "what a bitch, shut up",
    "the weather in london is grey again",
    "those people are trash and should go back where they came from",
]


def main() -> None:
    raw = read_member(HATESONAR, "hatesonar/model/model.onnx")
    model = onnx.load_from_string(raw)
    nodes = {n.op_type: n for n in model.graph.node}
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in nodes["TfIdfVectorizer"].attribute}
    tokenizer = {a.name: onnx.helper.get_attribute_value(a) for a in nodes["Tokenizer"].attribute}
    if tokenizer["tokenexp"] != b"[a-zA-Z0-9_]+" or attrs["max_gram_length"] != 1:
        raise SystemExit("unexpected hatesonar graph: the converter only knows unigram [a-zA-Z0-9_]+ tokens")
    words = [w.decode("utf-8") for w in attrs["pool_strings"]]
    indexes = list(attrs["ngram_indexes"])
    idf = numpy_helper.to_array(next(i for i in model.graph.initializer if i.name == "idfcst"))
    linear = {a.name: onnx.helper.get_attribute_value(a) for a in nodes["LinearClassifier"].attribute}
    classes = list(linear["classlabels_ints"])
    coefficients = np.array(linear["coefficients"]).reshape(len(classes), -1)

    out = {
        "meta": {
            "source": f"{HATESONAR.name}=={HATESONAR.version} model/model.onnx (sha256 of wheel {HATESONAR.sha256})",
            "licence": "MIT (hatesonar); training data: Davidson et al. 2017, MIT",
            "classes": ["hate_speech", "offensive_language", "neither"],
            "tokens": "lower-cased [a-z0-9_]+ unigrams; tf * idf, L2-normalised; multinomial logistic regression",
        },
        "intercepts": [round(float(x), 6) for x in linear["intercepts"]],
        "idf": {words[k]: round(float(idf[indexes[k]]), 4) for k in range(len(words))},
        "coef": {
            words[k]: [round(float(c), 6) for c in coefficients[:, indexes[k]]]
            for k in range(len(words))
            if np.any(coefficients[:, indexes[k]] != 0)
        },
    }
    LINEAR_MODEL_PATH.write_bytes(gzip.compress(json.dumps(out, separators=(",", ":")).encode(), mtime=0))
    print(
        f"wrote {LINEAR_MODEL_PATH} ({Path(LINEAR_MODEL_PATH).stat().st_size // 1024} KiB, {len(out['coef'])} weights)"
    )

    # onnxruntime's StringNormalizer wants the en_US.UTF-8 locale, which slim servers lack; C.UTF-8 lower-cases
    # ASCII the same way, which is all this vocabulary holds.
    normalizer = nodes["StringNormalizer"]
    normalizer.attribute.append(onnx.helper.make_attribute("locale", "C.UTF-8"))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    for text in SAMPLES:
        _, probs = session.run(None, {"text": np.array([text], dtype=object)})
        reference = [float(probs[0][k]) for k in classes]
        ours = linear_probabilities(text, out)
        worst = max(abs(a - b) for a, b in zip(reference, ours, strict=True))
        print(f"{worst:.5f} max difference  {text!r}")
        if not math.isfinite(worst) or worst > 1e-3:
            raise SystemExit("the pure-Python model disagrees with onnxruntime")


if __name__ == "__main__":
    main()
