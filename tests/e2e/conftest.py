"""Browser fixtures: Debian's headless Chromium driven by Playwright's sync API against pytest-django's
live server.

Playwright's sync API keeps an asyncio loop running in this thread while the browser is open, and Django
refuses database calls from a thread with a running loop. So the browser is opened after the test's data
is set up and closed before the database is flushed (fixture order), and while it is open a test talks
to the server only over HTTP, as a user and an integration would; no DJANGO_ALLOW_ASYNC_UNSAFE needed.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def screenshots_dir() -> Path:
    path = Path(settings.VAR_DIR) / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def page(live_server) -> Iterator:
    """A fresh browser page (clipboard allowed) for the live server; closed before the database teardown."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=live_server.url, viewport={"width": 1920, "height": 1000})
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
        context.set_default_timeout(15_000)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()
