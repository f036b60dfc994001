"""A person who follows a dead link sees AIRisk's styled 404 page, not a bare server message; an
integration that calls a dead API path gets problem+json. Screenshot: var/screenshots/error-404.png."""

import pytest


@pytest.mark.e2e
def test_a_dead_link_shows_the_styled_404_page(db, page, screenshots_dir):
    response = page.goto("/admin-typo/")

    assert response.status == 404
    assert page.locator("h1").inner_text() == "Page not found"
    # The portal stylesheet is applied (the header is the branded band, not an unstyled page).
    header_background = page.locator(".site-header").evaluate("e => getComputedStyle(e).backgroundColor")
    assert header_background not in ("rgba(0, 0, 0, 0)", "transparent")
    page.screenshot(path=str(screenshots_dir / "error-404.png"))


@pytest.mark.e2e
def test_a_dead_api_path_is_a_problem_in_the_browser_too(db, page):
    response = page.goto("/api/Users/NoSuchEndpoint")

    assert response.status == 404
    assert response.headers["content-type"] == "application/problem+json; charset=utf-8"
    assert response.json()["traceId"] == response.headers["x-trace-id"]
