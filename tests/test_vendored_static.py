"""The vendored front-end assets (static/vendor/): exactly the files its README lists, with their sha256, found
by the static files finders, collectable with the production manifest storage; and the world map keyed by the
ISO 3166-1 alpha-2 codes that pycountry gives for world-atlas's numeric ones."""

import hashlib
import importlib.util
import json
import re
from pathlib import Path

import pycountry
import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command

VENDOR = Path(settings.BASE_DIR) / "static" / "vendor"
README = VENDOR / "README.md"
CHECKSUM_ROW = re.compile(r"^\| `(?P<path>[^`]+)` \| (?P<size>\d+) \| `(?P<sha256>[0-9a-f]{64})` \|$", re.M)
MAP_DIR = VENDOR / "world-atlas-2.0.2"


def listed() -> dict[str, tuple[int, str]]:
    return {m["path"]: (int(m["size"]), m["sha256"]) for m in CHECKSUM_ROW.finditer(README.read_text())}


def world() -> dict:
    return json.loads((MAP_DIR / "countries-110m.json").read_text())


def test_every_vendored_file_matches_the_sha256_in_the_readme():
    for path, (size, sha256) in listed().items():
        content = (VENDOR / path).read_bytes()
        assert (len(content), hashlib.sha256(content).hexdigest()) == (size, sha256), path


def test_every_vendored_file_is_listed_in_the_readme():
    present = {str(p.relative_to(VENDOR)) for p in VENDOR.rglob("*") if p.is_file() and p != README}

    assert present == set(listed())
    assert len(present) == 8


def test_each_vendored_package_carries_its_licence():
    for folder in (p for p in VENDOR.iterdir() if p.is_dir()):
        assert any(f.name.upper().startswith("LICENSE") for f in folder.iterdir()), folder.name


def test_the_static_finders_serve_the_vendored_files():
    found = finders.find("vendor/chart.js-4.6.1/chart.umd.min.js")

    assert found is not None
    assert Path(found) == VENDOR / "chart.js-4.6.1" / "chart.umd.min.js"


def test_collectstatic_with_the_manifest_storage_handles_the_vendored_files(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }

    call_command("collectstatic", "--noinput", "-v0", "-i", "admin", "-i", "drf_spectacular_sidecar", "-i", "rest*")

    manifest = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    assert manifest["vendor/chart.js-4.6.1/chart.umd.min.js"].startswith("vendor/chart.js-4.6.1/chart.umd.min.")
    assert "vendor/world-atlas-2.0.2/countries-110m.svg" in manifest


# --- the world map ---


def test_the_map_is_keyed_by_the_alpha2_code_of_each_numeric_code():
    for code, country in world()["countries"].items():
        if country["numeric"]:
            assert pycountry.countries.get(numeric=country["numeric"]).alpha_2 == code, country["name"]


def test_the_map_has_the_large_countries_and_the_shapes_without_an_iso_code():
    countries = world()["countries"]

    assert len(countries) == 175
    assert {"US", "CA", "BR", "RU", "CN", "IN", "AU", "ZA", "FR", "DE", "GB", "JP", "NG", "AQ"} <= countries.keys()
    assert countries["XK"] == {**countries["XK"], "name": "Kosovo", "numeric": ""}
    assert countries["CY"]["name"] == "Cyprus"
    assert countries["CY"]["d"].count("M") == 2  # Cyprus and N. Cyprus
    assert all(re.fullmatch(r"[A-Z]{2}", code) for code in countries)


def test_every_country_path_stays_inside_the_view_box():
    data = world()
    _, _, width, height = (float(v) for v in data["viewBox"].split())
    for code, country in data["countries"].items():
        for ring in re.findall(r"M([^z]*)z", country["d"]):
            start, _, steps = ring.partition("l")
            x, y = (float(v) for v in start.split())
            numbers = [float(v) for v in steps.split()]
            for dx, dy in zip(numbers[::2], numbers[1::2], strict=True):
                x, y = x + dx, y + dy
                assert -0.2 <= x <= width + 0.2 and -0.2 <= y <= height + 0.2, code


def test_the_svg_holds_the_same_countries_as_the_json():
    svg = (MAP_DIR / "countries-110m.svg").read_text()

    assert re.findall(r'data-iso="([A-Z]{2})"', svg) == list(world()["countries"])
    assert 'viewBox="0 0 960 499.2"' in svg


# --- the build script, on a small topology made here ---


@pytest.fixture
def build_world_map():
    spec = importlib.util.spec_from_file_location(
        "build_world_map", Path(settings.BASE_DIR) / "scripts" / "build_world_map.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def topology(*geometries, arcs) -> dict:
    return {
        "transform": {"scale": [1, 1], "translate": [0, 0]},
        "arcs": arcs,
        "objects": {"countries": {"geometries": list(geometries)}},
    }


def delta(points):
    encoded, previous = [], (0, 0)
    for x, y in points:
        encoded.append([x - previous[0], y - previous[1]])
        previous = (x, y)
    return encoded


def test_the_script_maps_numeric_codes_and_names_the_shapes_without_one(build_world_map):
    square = delta([(0, 40), (10, 40), (10, 50), (0, 50), (0, 40)])
    other = delta([(20, 40), (30, 40), (30, 50), (20, 50), (20, 40)])
    result = build_world_map.build(
        topology(
            {"type": "Polygon", "arcs": [[0]], "id": "250", "properties": {"name": "France"}},
            {"type": "Polygon", "arcs": [[1]], "properties": {"name": "Kosovo"}},
            arcs=[square, other],
        )
    )

    assert list(result["countries"]) == ["FR", "XK"]
    assert result["countries"]["FR"]["numeric"] == "250"
    assert result["countries"]["FR"]["d"].startswith("M") and result["countries"]["FR"]["d"].endswith("z")


def test_the_script_cuts_a_ring_that_crosses_the_antimeridian(build_world_map):
    # Fiji-like: from 170 E across 180 to 170 W and back.
    crossing = delta([(170, -20), (-170, -20), (-170, -10), (170, -10), (170, -20)])
    result = build_world_map.build(
        topology({"type": "Polygon", "arcs": [[0]], "id": "242", "properties": {"name": "Fiji"}}, arcs=[crossing])
    )

    fiji = result["countries"]["FJ"]["d"]
    assert fiji.count("M") == 2  # one piece at each edge of the map, no stripe across it
    assert max(float(x) for x in re.findall(r"M(\S+) ", fiji)) > 900
    assert min(float(x) for x in re.findall(r"M(\S+) ", fiji)) < 60


def test_the_script_refuses_a_numeric_code_iso_does_not_know(build_world_map):
    square = delta([(0, 0), (1, 0), (1, 1), (0, 0)])

    with pytest.raises(SystemExit, match="999"):
        build_world_map.build(
            topology({"type": "Polygon", "arcs": [[0]], "id": "999", "properties": {"name": "X"}}, arcs=[square])
        )
