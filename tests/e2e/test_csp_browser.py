"""The Content-Security-Policy in a real browser: the admin's JavaScript (actions, the two-list selector, the
copy-secret button) and the Swagger UI page at /api/docs work under it with no violation reported, and an
inline script injected into a page is refused. Screenshots go to var/screenshots/."""

import re

import pytest
from django.core import mail

from tests.e2e.test_admin_client_flow import log_in, register_client
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.e2e


def watch_csp(page) -> list[str]:
    """Every CSP violation the browser reports on the console, as it happens."""
    violations: list[str] = []
    page.on("console", lambda msg: "Content Security Policy" in msg.text and violations.append(msg.text))
    return violations


def test_admin_javascript_works_under_the_policy(admin_user, plain_user, group, live_server, page, screenshots_dir):
    violations = watch_csp(page)

    log_in(page, "admin@acme.example")
    page.goto("/admin/accounts/applicationuser/")
    # actions.js: ticking "select all" ticks every row and updates the counter
    page.click("#action-toggle")
    assert page.inner_text(".action-counter").startswith("2 of 2 selected")
    # the role filter of the sidebar narrows the list
    page.click("#changelist-filter a:text-is('Company admin')")
    page.wait_for_url("**role=admin**")
    assert page.locator("#result_list tbody tr").count() == 1
    page.screenshot(path=str(screenshots_dir / "admin-users-list.png"), full_page=True)
    # SelectFilter2.js turns the groups field into the two-list selector
    page.goto("/admin/accounts/applicationuser/add/")
    page.wait_for_selector("#id_groups_from")
    assert page.is_checked("#id_password_choice_0")
    page.screenshot(path=str(screenshots_dir / "admin-user-add.png"), full_page=True)
    # the copy button of the one-time secret page (a static script file)
    register_client(page, "CSP integration")

    assert violations == []


def test_api_docs_render_the_operations_under_the_policy(db, live_server, page, screenshots_dir):
    violations = watch_csp(page)

    page.goto("/api/docs")
    page.wait_for_selector(".opblock-summary-path")

    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/Users/ListUsers" in paths
    assert len(paths) >= 8
    page.screenshot(path=str(screenshots_dir / "api-docs.png"))
    assert violations == []


def test_an_injected_inline_script_is_refused(admin_user, live_server, page):
    violations = watch_csp(page)
    log_in(page, "admin@acme.example")

    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.injectedRan = true";
            document.body.appendChild(script);
            const img = document.createElement("img");
            img.setAttribute("onerror", "window.handlerRan = true");
            img.src = "/no-such-image.png";
            document.body.appendChild(img);
        }"""
    )
    page.wait_for_timeout(500)

    assert page.evaluate("window.injectedRan === undefined && window.handlerRan === undefined")
    assert any("inline script" in text or "inline event handler" in text for text in violations)


def test_lockout_login_and_error_pages_look_finished(admin_user, live_server, page, screenshots_dir, settings):
    violations = watch_csp(page)
    page.goto("/admin/login/")
    page.screenshot(path=str(screenshots_dir / "admin-login.png"))
    page.goto("/no-such-page")
    assert "Page not found" in page.inner_text("h1")
    page.screenshot(path=str(screenshots_dir / "error-404.png"))

    for _ in range(settings.AXES_FAILURE_LIMIT):
        page.goto("/admin/login/")
        page.fill("#id_username", "admin@acme.example")
        page.fill("#id_password", "wrong-" + DEFAULT_PASSWORD)
        page.click("input[type=submit]")

    assert page.inner_text("#lockout-title") == "Too many failed logins"
    page.screenshot(path=str(screenshots_dir / "admin-lockout.png"))
    assert violations == []


def test_password_reset_by_email_in_the_browser(admin_user, live_server, page, screenshots_dir):
    violations = watch_csp(page)
    page.goto("/admin/login/")
    page.click("#forgot-password")
    page.fill("#id_email", "admin@acme.example")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/password_reset/done/")
    link = re.search(r"https?://\S+/admin/reset/\S+/", mail.outbox[0].body).group(0)

    page.goto(link)
    page.wait_for_selector("#id_new_password1")
    page.screenshot(path=str(screenshots_dir / "admin-set-password.png"))
    page.fill("#id_new_password1", "a-browser-made-passphrase-8")
    page.fill("#id_new_password2", "a-browser-made-passphrase-8")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/reset/done/")
    page.screenshot(path=str(screenshots_dir / "admin-password-reset-complete.png"))
    page.click("#content a:text-is('Log in')")
    page.fill("#id_username", "admin@acme.example")
    page.fill("#id_password", "a-browser-made-passphrase-8")
    page.click("input[type=submit]")

    page.wait_for_url("**/admin/")
    assert violations == []
