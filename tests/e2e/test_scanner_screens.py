"""The scanner screens in a real browser: Admin > Agent Scanner Defaults (save a default, see a clear validation
error), an agent's own Scanners settings, and the preview box on both. Screenshots go to var/screenshots/."""

import json

import pytest

from tests.e2e.test_agent_screens import log_in
from tests.e2e.test_csp_browser import watch_csp
from tests.factories import AgentFactory

pytestmark = pytest.mark.e2e


def fill_settings(page, scanner: str, settings: dict) -> None:
    page.fill(f"#id_{scanner}-settings", json.dumps(settings, indent=2))
    page.click(f"button[name=_save][value={scanner}]")
    page.wait_for_load_state()


@pytest.fixture
def agent(company):
    return AgentFactory(company=company, name="HR assistant")


def test_defaults_page_override_and_preview(admin_user, agent, screenshots_dir, page):
    violations = watch_csp(page)
    log_in(page, admin_user.email)

    page.goto("/admin/scanners/scannerdefault/")
    assert page.locator("h2.scanner-group-title").all_text_contents() == ["AI Scanners", "General Scanners"]

    # a pattern re2 refuses: the form says why and nothing is saved
    fill_settings(page, "regex", {"rules": [{"name": "bad", "pattern": "(unclosed", "action": "block"}]})
    assert "missing )" in page.locator("#scanner-regex .errorlist").inner_text()
    page.screenshot(path=str(screenshots_dir / "scanners-defaults-error-1440.png"), full_page=False)

    fill_settings(page, "regex", {"rules": [{"name": "ticket", "pattern": r"TCK-\d+", "action": "redact"}]})
    assert "Saved the Regex Scanner defaults" in page.locator(".messagelist").inner_text()
    assert "customised" in page.locator("#scanner-regex").inner_text()

    page.fill("#id_text", "Ticket TCK-1234: mail jane@example.com please.")
    page.click("#run-preview")
    page.wait_for_selector("#preview-result")
    assert page.locator("#preview-sanitized").inner_text() == "Ticket [REDACTED]: mail [EMAIL_1] please."
    assert page.locator("#preview-result mark").count() == 2
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.locator("#preview").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots_dir / "scanners-defaults-preview-1440.png"), full_page=False)

    # the agent's own settings: PII blocks for this agent only, the preview there says so
    page.goto(f"/admin/agents/agent/{agent.pk}/change/")
    page.click("#agent-scanners")
    page.wait_for_selector("#scanner-pii")
    assert "inherits the company default" in page.locator("#scanner-pii").inner_text()
    fill_settings(page, "pii", {"prompt_action": "block"})
    assert "this agent's own settings" in page.locator("#scanner-pii").inner_text()
    page.fill("#id_text", "Mail jane@example.com")
    page.click("#run-preview")
    page.wait_for_selector("#preview-result")
    assert "Blocked" in page.locator(".preview-verdict").inner_text()
    page.screenshot(path=str(screenshots_dir / "scanners-agent-1440.png"), full_page=False)
    page.set_viewport_size({"width": 375, "height": 800})
    page.screenshot(path=str(screenshots_dir / "scanners-agent-375.png"), full_page=False)

    page.click("button[name=_inherit][value=pii]")
    page.wait_for_load_state()
    assert "inherits the company default" in page.locator("#scanner-pii").inner_text()
    assert violations == []
