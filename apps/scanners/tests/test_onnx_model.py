import sys

import pytest

from apps.scanners.detectors import onnx_model
from apps.scanners.detectors.base import ScannerConfigError
from apps.scanners.tests.onnx_builders import build_float_input_model, build_toxicity_classifier


def test_loads_a_text_classifier_and_returns_probabilities_per_text(tmp_path):
    path = build_toxicity_classifier(tmp_path / "tox.onnx")

    rows = onnx_model.load_model(str(path)).probabilities(["you stupid idiot", "thanks, hello"])

    assert len(rows) == 2
    assert rows[0][1] > 0.99
    assert rows[1][0] > 0.99
    assert abs(sum(rows[0]) - 1.0) < 1e-5


def test_the_same_file_is_loaded_once_per_process(tmp_path):
    path = str(build_toxicity_classifier(tmp_path / "tox.onnx"))

    assert onnx_model.load_model(path) is onnx_model.load_model(path)


def test_missing_file_is_a_config_error_naming_the_path(tmp_path):
    missing = str(tmp_path / "nowhere.onnx")

    with pytest.raises(ScannerConfigError, match=r"ONNX model file not found: .*nowhere\.onnx"):
        onnx_model.load_model(missing)


def test_corrupt_file_is_a_config_error_not_a_crash(tmp_path):
    path = tmp_path / "junk.onnx"
    path.write_bytes(b"\x00\xffnot a protobuf at all" * 10)

    with pytest.raises(ScannerConfigError, match="could not be loaded"):
        onnx_model.load_model(str(path))


def test_a_model_without_a_text_input_is_refused_with_its_inputs_named(tmp_path):
    path = build_float_input_model(tmp_path / "floats.onnx")

    with pytest.raises(ScannerConfigError, match=r"exactly one text input.*x: tensor\(float\)"):
        onnx_model.load_model(str(path))


def test_without_onnxruntime_a_configured_model_is_a_clear_config_error(tmp_path, monkeypatch):
    path = build_toxicity_classifier(tmp_path / "tox.onnx")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # what `import onnxruntime` sees when it is not installed

    with pytest.raises(ScannerConfigError, match="onnxruntime is not installed"):
        onnx_model.OnnxTextModel(str(path))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("models/tox.onnx", "absolute path"),
        ("/srv/models/tox.bin", r"\.onnx file"),
        (42, "must be a file path"),
    ],
)
def test_model_path_setting_is_validated(value, message):
    with pytest.raises(ScannerConfigError, match=message):
        onnx_model.check_model_path(value)


def test_an_empty_model_path_means_no_model():
    assert onnx_model.check_model_path("") is None
    assert onnx_model.check_model_path(None) is None
