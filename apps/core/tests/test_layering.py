"""The apps form layers: an app imports only the apps below it (README, Architecture). This test reads every
module's imports (including imports inside functions) and fails on an import that reaches up or sideways."""

import ast
from pathlib import Path

import pytest

APPS_DIR = Path(__file__).resolve().parents[2]

# Lowest first. Apps on one line share a layer and must not import each other.
LAYERS: list[set[str]] = [
    {"core"},
    {"engines"},
    {"companies", "audit"},
    {"accounts", "documents"},
    {"oauth"},
    {"users_api", "agents"},
    {"scanners"},
    {"chat"},
    {"monitoring", "compliance", "dashboards"},
    {"demo"},
]
# The tenancy foundation: every company write is audited and every audit event belongs to a company, so these
# two may import each other (and nothing above them).
FOUNDATION = {"companies", "audit"}
# engines (the LLM wire adapters) has no models and knows no tenant: it may import core only.
INDEPENDENT = {"engines": {"core"}}


def _layer_of(app: str) -> int:
    for index, apps in enumerate(LAYERS):
        if app in apps:
            return index
    raise AssertionError(f"apps/{app} is not placed in LAYERS; add it where it belongs")


def _imported_apps(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "apps" and len(parts) > 1:
                found.add(parts[1])
            elif parts[0] == "airisk":
                found.add("airisk")
    return found


def _app_modules():
    for app_dir in sorted(p for p in APPS_DIR.iterdir() if (p / "__init__.py").exists()):
        for path in sorted(app_dir.rglob("*.py")):
            if "tests" in path.relative_to(app_dir).parts or "migrations" in path.parts:
                continue
            yield app_dir.name, path


@pytest.mark.parametrize(("app", "path"), list(_app_modules()), ids=lambda v: str(v).rsplit("apps/", 1)[-1])
def test_app_imports_only_apps_below_it(app, path):
    own = _layer_of(app)
    for other in _imported_apps(path) - {app}:
        assert other != "airisk", f"{path}: apps never import the airisk configuration package"
        if {app, other} <= FOUNDATION:
            continue
        if app in INDEPENDENT:
            assert other in INDEPENDENT[app], f"{path}: {app} may import only {sorted(INDEPENDENT[app])}, not {other}"
            continue
        assert _layer_of(other) < own, f"{path}: {app} (layer {own}) imports {other} (layer {_layer_of(other)})"


def test_every_app_is_placed_in_a_layer():
    for app_dir in APPS_DIR.iterdir():
        if (app_dir / "__init__.py").exists():
            _layer_of(app_dir.name)
