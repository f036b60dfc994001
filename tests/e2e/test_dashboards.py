"""Dashboards in a real browser: a company admin with seeded activity builds a dashboard with one element of each
kind (Top N, line chart, doughnut, totals, map) through the forms and sees every one drawn, without a console error
or a CSP violation. Screenshots go to var/screenshots/dashboards-*.png."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from tests.e2e.test_csp_browser import watch_csp
from tests.factories import DEFAULT_PASSWORD, AgentFactory, UserFactory

pytestmark = pytest.mark.e2e


@pytest.fixture
def activity(company):
    AgentFactory(company=company, name="HR assistant", input_price_per_million=Decimal("2.5"),
                 output_price_per_million=Decimal("10"))  # fmt: skip
    AgentFactory(company=company, name="Code helper", input_price_per_million=Decimal("1"),
                 output_price_per_million=Decimal("4"))  # fmt: skip
    call_command("seed_activity", "--company", company.slug, "--conversations", "400", "--days", "60",
                 "--users", "14", "--quiet", stdout=StringIO())  # fmt: skip


@pytest.fixture
def analyst(company):
    return UserFactory(company=company, email="analyst@acme.example", name="Ada Analyst", roles=["monitor", "user"])


def log_in(page, email: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.press("#id_password", "Enter")
    page.wait_for_load_state("networkidle")


def add_element(page, kind: str, title: str, fields: dict[str, str]) -> None:
    page.click("#add-element summary")
    page.click(f"#add-{kind}")
    page.wait_for_url(f"**/elements/new?kind={kind}")
    page.fill("#id_title", title)
    for name, value in fields.items():
        page.select_option(f"#id_{name}", value)
    page.click("#save-element")
    page.wait_for_url("**/dashboards/*/#element-*")


def test_build_a_dashboard_with_one_element_of_each_kind(activity, analyst, page, screenshots_dir):
    violations = watch_csp(page)
    errors: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, analyst.email)

    page.goto("/dashboards/")
    page.wait_for_selector("#no-dashboards")
    page.screenshot(path=str(screenshots_dir / "dashboards-empty.png"), full_page=True)
    page.fill("#id_name", "AI use this quarter")
    page.check("#id_shared")
    page.click("#create-dashboard")
    page.wait_for_selector("#no-elements")

    add_element(page, "top_n", "Top users by tokens", {"subject": "users", "measure": "tokens"})
    page.click("#add-element summary")
    page.click("#add-chart")
    page.select_option("#id_chart_type", "doughnut")
    assert page.is_hidden("[data-field=interval]") and page.is_visible("[data-field=category]")
    page.fill("#id_title", "How exchanges ended")
    page.select_option("#id_category", "outcome")
    page.screenshot(path=str(screenshots_dir / "dashboards-element-form.png"), full_page=True)
    page.click("#save-element")
    page.wait_for_url("**/dashboards/*/#element-*")
    add_element(page, "chart", "Exchanges per day by agent",
                {"chart_type": "line", "measure": "exchanges", "interval": "day", "split": "agent", "width": "4",
                 "period": "last_30"})  # fmt: skip
    add_element(page, "totals", "At a glance", {"width": "4", "period": "last_30"})
    add_element(page, "map", "Prompts by country", {"map_measure": "prompts", "width": "4", "period": "last_90"})

    expect(page.locator(".dash-element.is-drawn")).to_have_count(5)
    assert page.locator(".dash-element").count() == 5
    assert page.locator(".dash-kind-top_n canvas").count() == 1
    assert page.locator(".dash-kind-chart canvas").count() == 2
    assert page.locator(".dash-tile").count() == 6
    assert page.locator("svg.dash-map-svg path").count() > 150
    assert page.locator("svg.dash-map-svg path.has-value").count() > 5
    assert page.locator(".dash-tile-value").first.inner_text() != "0"
    # Every drawing has its numbers as a table.
    assert page.locator(".dash-numbers table").count() == 5
    page.locator(".dash-element", has=page.locator(".dash-kind-map")).locator(".dash-numbers summary").click()
    page.wait_for_timeout(300)
    page.screenshot(path=str(screenshots_dir / "dashboards-dashboard.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(screenshots_dir / "dashboards-dashboard-375.png"), full_page=True)
    page.set_viewport_size({"width": 1920, "height": 1000})

    page.goto("/dashboards/")
    page.wait_for_selector("#my-dashboards")
    page.screenshot(path=str(screenshots_dir / "dashboards-list.png"), full_page=True)
    assert errors == []
    assert violations == []
