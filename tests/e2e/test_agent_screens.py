"""The agent screens in a real browser: the engine select shows only the chosen engine's properties, an agent is
created and its connection tested against a fake provider on loopback, the company's settings and the grants of
groups and users are edited. Screenshots go to var/screenshots/."""

import pytest

from apps.engines.fakes import FAKE_API_KEY, FakeEngineServer, Script
from tests.e2e.test_csp_browser import watch_csp
from tests.factories import DEFAULT_PASSWORD, AgentFactory

pytestmark = pytest.mark.e2e

ENGINES = {
    "azure-openai": "Azure OpenAI",
    "openai": "OpenAI",
    "mistral": "Mistral",
    "google": "Google AI",
    "llama": "LLaMA AI",
    "bedrock": "AWS Bedrock",
}


def log_in(page, email: str) -> None:
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", email)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")


def visible_engine_fieldsets(page) -> list[str]:
    return page.eval_on_selector_all(
        "fieldset.engine-fields", "nodes => nodes.filter(n => !n.hidden).map(n => n.querySelector('h2').textContent)"
    )


@pytest.fixture
def fake_openai():
    with FakeEngineServer("openai", script=Script(text="OK", input_tokens=11, delay=0.01)) as fake:
        yield fake


def test_engine_select_shows_only_that_engines_fields_and_test_connection_reports(
    admin_user, fake_openai, screenshots_dir, page
):
    violations = watch_csp(page)
    log_in(page, admin_user.email)
    page.goto("/admin/agents/agent/add/")

    # before a choice no engine's properties show; each choice shows exactly its own
    assert visible_engine_fieldsets(page) == []
    for engine, label in ENGINES.items():
        page.select_option("#id_engine", engine)
        assert visible_engine_fieldsets(page) == [f"Engine properties: {label}"]
        if engine in ("azure-openai", "bedrock"):
            page.screenshot(path=str(screenshots_dir / f"agent-add-{engine}.png"), full_page=True)

    # the admin fills an OpenAI agent pointing at the fake provider and saves it
    page.select_option("#id_engine", "openai")
    page.fill("#id_name", "Travel desk")
    page.fill("#id_instructions", "Answer from the travel policy.")
    page.fill("#id_greeting", "Where are you going?")
    page.fill("#id_openai_model", "gpt-4o-mini")
    page.fill("#id_openai_api_key", FAKE_API_KEY)
    page.fill("#id_openai_base_url", fake_openai.base_url)
    page.click("input[name=_continue]")
    page.wait_for_selector("#test-connection")
    assert "•••• cdef" in page.inner_text("div.field-key_summary")
    assert FAKE_API_KEY not in page.content()
    assert page.input_value("#id_input_price_per_million") == "0.150000"  # the list price, prefilled
    page.screenshot(path=str(screenshots_dir / "agent-change.png"), full_page=True)

    # Test connection shows the answer, latency and tokens
    page.click("#test-connection")
    page.wait_for_selector("#connection-result")
    assert page.inner_text("#connection-answer") == "OK"
    assert page.inner_text("#connection-usage").startswith("11 in")
    assert page.inner_text("#connection-latency").endswith(" ms")
    page.screenshot(path=str(screenshots_dir / "agent-test-connection-ok.png"), full_page=True)

    # a wrong key: the provider's refusal in plain words
    page.click("text=Back to the agent")
    page.fill("#id_openai_api_key", "sk-wrong-key-0123456789")
    page.click("input[name=_continue]")
    page.wait_for_selector("#test-connection")
    page.click("#test-connection")
    page.wait_for_selector("#connection-result.connection-error")
    assert "refused the credentials" in page.inner_text("#connection-error")
    page.screenshot(path=str(screenshots_dir / "agent-test-connection-error.png"), full_page=True)
    assert violations == []  # the engine toggle and the admin's scripts run under the Content-Security-Policy


def test_bad_input_shows_form_errors_on_the_engine_fields(admin_user, page, screenshots_dir):
    log_in(page, admin_user.email)
    page.goto("/admin/agents/agent/add/")
    page.fill("#id_name", "Broken")
    page.select_option("#id_engine", "llama")
    page.fill("#id_llama_base_url", "ftp://models.local/v1")
    page.fill("#id_temperature", "3")
    page.click("input[name=_save]")

    page.wait_for_selector(".errornote")
    assert visible_engine_fieldsets(page) == ["Engine properties: LLaMA AI"]  # the choice survives the error
    errors = page.inner_text("#content-main")
    assert "http:// or https://" in errors
    assert "Model is required" in errors
    page.screenshot(path=str(screenshots_dir / "agent-add-errors.png"), full_page=True)


@pytest.fixture
def granted_setup(company, admin_user, plain_user, group):
    group.members.add(plain_user)
    return AgentFactory(company=company, name="HR helper"), AgentFactory(company=company, name="IT helper")


def test_company_settings_and_grants_in_the_browser(
    admin_user, plain_user, group, granted_setup, page, screenshots_dir
):
    violations = watch_csp(page)
    log_in(page, admin_user.email)

    # Company > General Information
    page.goto("/admin/agents/companyprofile/")
    page.wait_for_selector("#id_name")
    page.fill("#id_contact_email", "ai-office@acme.example")
    page.select_option("#id_time_zone", "Europe/Berlin")
    page.select_option("#id_default_agent", label="HR helper")
    page.screenshot(path=str(screenshots_dir / "company-general-information.png"), full_page=True)
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")
    assert page.input_value("#id_contact_email") == "ai-office@acme.example"

    # Company > External Agent Provider Settings
    page.goto("/admin/agents/providercredential/add/")
    page.select_option("#id_engine", "azure-openai")
    assert visible_engine_fieldsets(page) == ["Engine properties: Azure OpenAI"]
    page.fill("#id_azure_openai_base_url", "https://acme.openai.azure.com")
    page.fill("#id_azure_openai_api_key", "azure-company-key-0123456789-QRST")
    page.click("input[name=_save]")
    page.wait_for_selector("#result_list")
    assert "•••• QRST" in page.inner_text("#result_list")
    page.screenshot(path=str(screenshots_dir / "company-provider-settings.png"), full_page=True)

    # Groups > Adding an Agent
    page.goto(f"/admin/accounts/group/{group.pk}/change/")
    page.select_option("#id_agents_from", label="HR helper")
    page.click("#id_agents_add")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    assert page.eval_on_selector_all("#id_agents_to option", "o => o.map(x => x.textContent)") == ["HR helper"]
    page.screenshot(path=str(screenshots_dir / "group-agents.png"), full_page=True)

    # Users > Assigning an Agent and Setting a Default Agent: a default they may not use is refused
    page.goto(f"/admin/accounts/applicationuser/{plain_user.pk}/change/")
    page.select_option("#id_default_agent", label="IT helper")
    page.click("input[name=_continue]")
    page.wait_for_selector(".errornote")
    assert "may use" in page.inner_text(".field-default_agent")
    page.select_option("#id_agents_from", label="IT helper")
    page.click("#id_agents_add")
    page.select_option("#id_default_agent", label="IT helper")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    assert page.eval_on_selector("#id_default_agent", "s => s.selectedOptions[0].textContent") == "IT helper"
    page.screenshot(path=str(screenshots_dir / "user-agents.png"), full_page=True)

    # the agents list shows the grants
    page.goto("/admin/agents/agent/")
    page.screenshot(path=str(screenshots_dir / "agents-list.png"), full_page=True)
    assert "HR helper" in page.inner_text("#result_list")
    assert violations == []
