"""The portal's one stylesheet stays well-formed as several apps add their sections to it."""

from pathlib import Path

from django.conf import settings


def test_portal_css_braces_balance_and_every_section_closes():
    css = (Path(settings.BASE_DIR) / "static" / "css" / "portal.css").read_text()
    depth = 0
    for number, line in enumerate(css.splitlines(), 1):
        if line.startswith("/* === "):
            assert depth == 0, f"line {number}: a section starts inside an unclosed block"
        depth += line.count("{") - line.count("}")
        assert depth >= 0, f"line {number}: a closing brace too many"
    assert depth == 0
