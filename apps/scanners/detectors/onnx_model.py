"""An optional, stronger model that an admin supplies as an ONNX file, run with onnxruntime.

Nothing here downloads anything: the admin copies the file onto the server and names its path. onnxruntime is an
optional import; without it the scanners run their built-in models and a configured path is refused with a clear
ScannerConfigError.

The supported shape is a self-contained text model: ONE input of type ``tensor(string)`` (a batch of raw texts,
e.g. a scikit-learn pipeline exported with skl2onnx, or hatesonar's model.onnx), and outputs from which we take
- for a classifier: the probabilities, a float tensor [batch, classes] or skl2onnx's list of {class: probability};
- for an embedding model: a float tensor [batch, dim].
Models that need an external tokenizer (transformers) are out of scope: their tokenizer is not in the file.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .base import ScannerConfigError

MAX_MODEL_BYTES = 512 * 1024 * 1024

_cache: dict[tuple[str, int, int], OnnxTextModel] = {}
_cache_lock = threading.Lock()


def _import_onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:
        raise ScannerConfigError(
            "an ONNX model path is configured but onnxruntime is not installed on this server; "
            "install onnxruntime or clear the ONNX model path"
        ) from exc
    return onnxruntime


def check_model_path(value: Any, name: str = "onnx_model_path") -> str | None:
    """Validate the setting's form (the file itself is checked when the model loads)."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ScannerConfigError(f"{name} must be a file path, got {type(value).__name__}")
    if "\x00" in value or not os.path.isabs(value):
        raise ScannerConfigError(f"{name} must be an absolute path to an .onnx file on the server, got {value!r}")
    if not value.endswith(".onnx"):
        raise ScannerConfigError(f"{name} must name an .onnx file, got {value!r}")
    return value


class OnnxTextModel:
    """One loaded model; thread-safe to call (onnxruntime sessions are), one intra-op thread per call."""

    def __init__(self, path: str) -> None:
        file = Path(path)
        if not file.is_file():
            raise ScannerConfigError(f"ONNX model file not found: {path}")
        size = file.stat().st_size
        if size > MAX_MODEL_BYTES:
            raise ScannerConfigError(f"ONNX model file {path} is {size} bytes; the limit is {MAX_MODEL_BYTES}")
        ort = _import_onnxruntime()
        options = ort.SessionOptions()
        # A gateway runs many scans at once: one thread per scan beats several threads fighting for two cores.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        try:
            self._session = ort.InferenceSession(str(file), sess_options=options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for corrupt or unsupported files
            raise ScannerConfigError(f"ONNX model file {path} could not be loaded: {exc}") from exc
        inputs = self._session.get_inputs()
        if len(inputs) != 1 or inputs[0].type != "tensor(string)":
            shapes = ", ".join(f"{i.name}: {i.type}" for i in inputs)
            raise ScannerConfigError(
                f"ONNX model {path} must take exactly one text input (tensor(string)); it takes {shapes}"
            )
        self.path = path
        self.input_name = inputs[0].name
        self.output_names = [o.name for o in self._session.get_outputs()]

    def _run(self, texts: Sequence[str]) -> list[Any]:
        import numpy as np  # onnxruntime depends on numpy, so it is there whenever onnxruntime is

        return self._session.run(None, {self.input_name: np.array(list(texts), dtype=object)})

    def probabilities(self, texts: Sequence[str]) -> list[list[float]]:
        """Class probabilities per text, columns in the model's class order."""
        for output in self._run(texts):
            if isinstance(output, list) and output and isinstance(output[0], dict):  # skl2onnx ZipMap
                return [[float(row[k]) for k in sorted(row)] for row in output]
            shape = getattr(output, "shape", ())
            if len(shape) == 2 and output.dtype.kind == "f":
                return output.astype(float).tolist()
        raise ScannerConfigError(f"ONNX model {self.path} has no [batch, classes] float output of probabilities")

    def embeddings(self, texts: Sequence[str]) -> list[list[float]]:
        """One float vector per text (the first 2-D float output)."""
        for output in self._run(texts):
            shape = getattr(output, "shape", ())
            if len(shape) == 2 and output.dtype.kind == "f":
                return output.astype(float).tolist()
        raise ScannerConfigError(f"ONNX model {self.path} has no [batch, dim] float output to use as an embedding")


def load_model(path: str) -> OnnxTextModel:
    """Loaded once per process per file version (path, size, mtime): replacing the file reloads it."""
    try:
        stat = os.stat(path)
    except OSError as exc:
        raise ScannerConfigError(f"ONNX model file not found: {path}") from exc
    key = (path, stat.st_size, stat.st_mtime_ns)
    with _cache_lock:
        model = _cache.get(key)
        if model is None:
            model = OnnxTextModel(path)
            _cache[key] = model
        return model
