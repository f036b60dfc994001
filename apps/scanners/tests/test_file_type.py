import time

import pytest

from apps.scanners.detectors.base import ScanContext, ScannerConfigError
from apps.scanners.detectors.file_type import FileTypeScanner, FileTypeSettings, declared_type, detect_type
from apps.scanners.tests.sample_files import BINARY_SAMPLES, TEXT_SAMPLES, junk

EXTENSION = {"jpeg": "jpg", "code": "py"}


@pytest.mark.parametrize("kind", sorted(BINARY_SAMPLES | TEXT_SAMPLES))
def test_content_type_is_detected_from_the_bytes(kind):
    data = BINARY_SAMPLES.get(kind) or TEXT_SAMPLES[kind]

    assert detect_type(data) == kind


@pytest.mark.parametrize(
    "kind", ["pdf", "docx", "xlsx", "pptx", "png", "jpeg", "gif", "webp", "txt", "md", "csv", "html", "json"]
)
def test_default_allows_common_documents_and_images_with_matching_names(kind):
    data = BINARY_SAMPLES.get(kind) or TEXT_SAMPLES[kind]

    result = FileTypeScanner().scan_bytes(data, f"report.{EXTENSION.get(kind, kind)}")

    assert (result.action, result.is_valid, result.findings) == ("allow", True, [])
    assert result.details["effective_type"] == kind


@pytest.mark.parametrize(
    ("data", "filename", "declared", "detected"),
    [
        (BINARY_SAMPLES["png"], "invoice.pdf", "pdf", "png"),
        (BINARY_SAMPLES["exe"], "photo.jpg", "jpeg", "exe"),
        (BINARY_SAMPLES["docm"], "letter.docx", "docx", "docm"),
        (TEXT_SAMPLES["txt"], "scan.png", "png", "txt"),
        (BINARY_SAMPLES["pdf"], "notes.txt", "txt", "pdf"),
        (TEXT_SAMPLES["txt"], "data.json", "json", "txt"),
        (TEXT_SAMPLES["html"], "readme.txt", "txt", "html"),
        (TEXT_SAMPLES["md"], "page.html", "html", "md"),
        (junk(), "notes.md", "md", "binary"),
    ],
)
def test_content_contradicting_the_name_is_refused_naming_both_types(data, filename, declared, detected):
    result = FileTypeScanner().scan_bytes(data, filename)

    assert (result.action, result.is_valid) == ("block", False)
    assert [f.type for f in result.findings] == ["FILE_TYPE_MISMATCH"]
    assert result.details["message"] == f"the name says {declared} but the content is {detected}"


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (TEXT_SAMPLES["md"], "README.txt"),  # Markdown is still text
        (TEXT_SAMPLES["csv"], "export.txt"),
        (TEXT_SAMPLES["json"], "config.txt"),
        (TEXT_SAMPLES["html"], "README.md"),  # Markdown may embed HTML
        (TEXT_SAMPLES["txt"], "single-column.csv"),
        (TEXT_SAMPLES["txt"], "no-extension"),
    ],
)
def test_plain_text_names_are_lenient_among_text_types(data, filename):
    result = FileTypeScanner().scan_bytes(data, filename)

    assert result.action == "allow"


@pytest.mark.parametrize(("kind", "filename"), [("exe", "setup.exe"), ("zip", "bundle.zip"), ("code", "main.py")])
def test_types_outside_the_allowed_list_are_refused(kind, filename):
    data = BINARY_SAMPLES.get(kind) or TEXT_SAMPLES[kind]

    result = FileTypeScanner().scan_bytes(data, filename)

    assert (result.action, result.details["reason"]) == ("block", "not_allowed")
    assert result.findings[0].type == f"FILE_TYPE_NOT_ALLOWED:{kind}"


def test_an_unnamed_file_is_judged_by_its_content():
    result = FileTypeScanner().scan_bytes(BINARY_SAMPLES["exe"], "")

    assert (result.action, result.details["effective_type"]) == ("block", "exe")


def test_flag_action_and_custom_allowed_list():
    scanner = FileTypeScanner(FileTypeSettings(allowed_types=["pdf", "jpg"], action="flag"))

    assert scanner.scan_bytes(BINARY_SAMPLES["jpeg"], "a.jpeg").action == "allow"
    flagged = scanner.scan_bytes(TEXT_SAMPLES["txt"], "a.txt")
    assert (flagged.action, flagged.is_valid) == ("flag", True)


def test_empty_file_is_refused_unless_allowed():
    assert FileTypeScanner().scan_bytes(b"", "empty.txt").details["reason"] == "empty"
    assert FileTypeScanner(FileTypeSettings(allowed_types=["empty"])).scan_bytes(b"", "e.txt").action == "allow"


@pytest.mark.parametrize("seed", range(5))
def test_binary_junk_is_binary_and_refused(seed):
    result = FileTypeScanner().scan_bytes(junk(8192, seed), "blob.bin")

    assert result.details["detected_type"] == "binary"
    assert result.action == "block"


def test_invalid_utf8_in_latin1_text_is_still_text():
    data = "Café au lait, crème brûlée et Noël à Besançon.\n".encode("cp1252")

    assert detect_type(data) == "txt"


def test_utf16_text_with_bom_is_text():
    assert detect_type("\ufeffHello, this is a note.\n".encode("utf-16")) == "txt"


def test_a_damaged_zip_is_a_zip_and_not_a_crash():
    data = BINARY_SAMPLES["docx"][:60]

    assert detect_type(data) in {"zip", "docx"}


def test_one_megabyte_files_finish_fast():
    text = TEXT_SAMPLES["csv"] * 12_000
    started = time.perf_counter()

    results = [FileTypeScanner().scan_bytes(data, name) for data, name in [(text, "big.csv"), (junk(1 << 20), "b")]]

    assert time.perf_counter() - started < 2.0
    assert [r.details["detected_type"] for r in results] == ["csv", "binary"]


def test_scan_treats_pasted_text_as_an_unnamed_file():
    result = FileTypeScanner().scan("just some words typed in", ScanContext())

    assert (result.action, result.details["effective_type"]) == ("allow", "txt")


@pytest.mark.parametrize(("data", "filename"), [("text", "a.txt"), (b"x", None), (None, "a")])
def test_invalid_input_types_are_type_errors(data, filename):
    with pytest.raises(TypeError, match="file_type: scan_bytes\\(\\) takes"):
        FileTypeScanner().scan_bytes(data, filename)


@pytest.mark.parametrize(
    ("filename", "declared"),
    [("a.PDF", "pdf"), ("dir/x.tar.gz", "gz"), (".bashrc", None), ("noext", None), ("x.unknownext", None)],
)
def test_declared_type_comes_from_the_last_extension(filename, declared):
    assert declared_type(filename) == declared


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"allowed_types": ["pdf", "exe2"]}, "unknown type\\(s\\) exe2"),
        ({"allowed_types": "pdf"}, "allowed_types must be a list of strings"),
        ({"action": "redact"}, "action must be one of flag, block"),
        ({"max": 1}, "unknown setting\\(s\\) max"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(data, message):
    with pytest.raises(ScannerConfigError, match=message):
        FileTypeSettings.from_dict(data)


def test_settings_round_trip_through_dicts():
    settings = FileTypeSettings.from_dict({"allowed_types": [".PDF", "jpg"]})

    assert settings.allowed_types == ["pdf", "jpeg"]
    assert FileTypeSettings.from_dict(settings.to_dict()) == settings
