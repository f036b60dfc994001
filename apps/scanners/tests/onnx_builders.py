"""Tiny ONNX text models the tests build themselves (no model files shipped, nothing downloaded).

Both take one string tensor [batch] of lower-case text, split it into [a-z]+ tokens and count a small vocabulary
(TfIdfVectorizer in TF mode). The classifier adds a linear layer and a softmax; the embedder returns the counts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save

TOXIC_VOCAB = ["hate", "idiot", "stupid", "love", "thanks", "hello"]
TOPIC_VOCAB = ["bomb", "gun", "explosive", "rifle", "invoice", "refund", "billing", "payment"]


def _counting_nodes(vocab: list[str]) -> list:
    return [
        helper.make_node(
            "Tokenizer",
            ["text"],
            ["tokens"],
            domain="com.microsoft",
            mark=0,
            mincharnum=1,
            pad_value="#",
            tokenexp="[a-z]+",
        ),
        helper.make_node(
            "TfIdfVectorizer",
            ["tokens"],
            ["counts"],
            mode="TF",
            min_gram_length=1,
            max_gram_length=1,
            max_skip_count=0,
            ngram_counts=[0],
            ngram_indexes=list(range(len(vocab))),
            pool_strings=vocab,
        ),
    ]


def _save(graph, path: Path) -> Path:
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    )
    model.ir_version = 8
    save(model, str(path))
    return path


def build_toxicity_classifier(path: Path) -> Path:
    """Two classes, [clean, toxic]: "hate", "idiot", "stupid" push towards toxic, "love", "thanks" away."""
    weights = np.array([[-2.0, 2.0], [-3.0, 3.0], [-2.0, 2.0], [2.0, -2.0], [2.0, -2.0], [0.0, 0.0]], np.float32)
    nodes = [
        *_counting_nodes(TOXIC_VOCAB),
        helper.make_node("MatMul", ["counts", "W"], ["logits_raw"]),
        helper.make_node("Add", ["logits_raw", "B"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_toxicity",
        [helper.make_tensor_value_info("text", TensorProto.STRING, [None])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 2])],
        initializer=[
            numpy_helper.from_array(weights, "W"),
            numpy_helper.from_array(np.array([1.0, -1.0], np.float32), "B"),
        ],
    )
    return _save(graph, path)


def build_topic_embedder(path: Path) -> Path:
    """Embedding = counts over TOPIC_VOCAB, so "rifle" lands near "gun" only if an example says rifle."""
    graph = helper.make_graph(
        _counting_nodes(TOPIC_VOCAB),
        "tiny_embedder",
        [helper.make_tensor_value_info("text", TensorProto.STRING, [None])],
        [helper.make_tensor_value_info("counts", TensorProto.FLOAT, [None, len(TOPIC_VOCAB)])],
    )
    return _save(graph, path)


def build_float_input_model(path: Path) -> Path:
    """A model that does not take text: the loader must refuse it."""
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "not_text",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])],
    )
    return _save(graph, path)
