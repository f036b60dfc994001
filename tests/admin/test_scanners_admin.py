"""Admin > Agent Scanner Defaults and the agent's Scanners page: who may reach them, saving with clear validation
errors, override and inherit, cross-company 404s, and the preview box."""

import json

import pytest
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.scanners.models import AgentScannerOverride, ScanHit, ScannerDefault
from apps.scanners.selectors import scanner_settings_for
from tests.admin.conftest import logged_in
from tests.factories import AgentFactory, UserFactory

DEFAULTS = "/admin/scanners/scannerdefault/"


def agent_url(agent) -> str:
    return reverse("admin:scanners_agent_scanners", args=[agent.pk])


def save(browser, url: str, scanner: str, settings: dict | str, enabled: bool = True):
    data = {"_save": scanner, f"{scanner}-settings": settings if isinstance(settings, str) else json.dumps(settings)}
    if enabled:
        data[f"{scanner}-enabled"] = "on"
    return browser.post(url, data)


def test_the_defaults_page_shows_both_groups_and_every_scanner(company_admin_client):
    response = company_admin_client.get(DEFAULTS)

    page = response.content.decode()
    assert response.status_code == 200
    assert "AI Scanners" in page and "General Scanners" in page
    for label in [
        "Toxicity",
        "Personal Information",
        "Topic Scanner",
        "Prompt Injection Detection",
        "Regex Scanner",
        "Geographic Gating",
        "Language Detection",
        "Allowed File Types",
    ]:
        assert label in page
    assert "<script" not in page.split("<body", 1)[1].split("</body>")[0].replace("<script src=", "")


@pytest.mark.parametrize("roles", [["monitor"], ["compliance"], ["user"]])
def test_other_roles_cannot_reach_the_scanner_pages(company, roles):
    browser = logged_in(UserFactory(company=company, roles=roles))
    agent = AgentFactory(company=company)

    for url in (DEFAULTS, agent_url(agent)):
        response = browser.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_an_admin_saves_a_company_default_and_it_is_audited(company_admin_client, company):
    response = save(company_admin_client, DEFAULTS, "toxicity", {"threshold": 0.7, "block_words": ["zork"]})

    assert response.status_code == 302
    assert scanner_settings_for(company)["toxicity"].threshold == 0.7
    assert AuditEvent.objects.filter(action="scanner.default_set", company=company).exists()


@pytest.mark.parametrize(
    ("scanner", "settings", "message"),
    [
        ("regex", {"rules": [{"name": "r", "pattern": "(unclosed", "action": "block"}]}, "missing )"),
        ("toxicity", {"threshold": 2}, "threshold"),
        ("geo", {"mode": "block_list", "countries": ["ZZ"]}, "unknown: ZZ"),
        ("language", {"allowed_languages": ["xx"]}, "unknown: xx"),
        ("pii", "{not json", "Not valid JSON"),
        ("pii", "[1, 2]", "JSON object"),
    ],
)
def test_bad_settings_show_the_reason_and_save_nothing(company_admin_client, scanner, settings, message):
    response = save(company_admin_client, DEFAULTS, scanner, settings)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ScannerDefault.objects.exists()


def test_an_agent_override_then_inherit_again(company_admin_client, company):
    agent = AgentFactory(company=company)

    saved = save(company_admin_client, agent_url(agent), "pii", {"prompt_action": "block"})
    overridden = scanner_settings_for(company, agent)["pii"].prompt_action
    page = company_admin_client.get(agent_url(agent)).content.decode()
    cleared = company_admin_client.post(agent_url(agent), {"_inherit": "pii"})

    assert saved.status_code == 302 and overridden == "block"
    assert "this agent&#x27;s own settings" in page or "this agent's own settings" in page
    assert cleared.status_code == 302
    assert not AgentScannerOverride.objects.exists()
    assert scanner_settings_for(company, agent)["pii"].prompt_action == "redact"


def test_another_companys_agent_is_a_404(company_admin_client, other_company):
    foreign = AgentFactory(company=other_company)

    assert company_admin_client.get(agent_url(foreign)).status_code == 404
    assert save(company_admin_client, agent_url(foreign), "pii", {}).status_code == 404
    assert not AgentScannerOverride.objects.exists()


def test_the_preview_shows_results_findings_and_sanitized_text_without_recording(company_admin_client):
    response = company_admin_client.post(
        DEFAULTS, {"_preview": "1", "text": "Mail <b>x</b> jane@example.com", "direction": "prompt"}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert '<mark title="pii: EMAIL">jane@example.com</mark>' in page
    assert "Mail &lt;b&gt;x&lt;/b&gt; [EMAIL_1]" in page
    assert "<b>x</b>" not in page
    assert not ScanHit.objects.exists()


def test_the_agent_preview_uses_the_agents_settings(company_admin_client, company):
    agent = AgentFactory(company=company)
    save(company_admin_client, agent_url(agent), "pii", {"prompt_action": "block"})

    response = company_admin_client.post(
        agent_url(agent), {"_preview": "1", "text": "Mail jane@example.com", "direction": "prompt"}
    )

    assert "Blocked by Personal Information (EMAIL)" in response.content.decode()


def test_a_server_admin_picks_the_company(server_admin_client, company):
    picker = server_admin_client.get(DEFAULTS)
    saved = save(server_admin_client, f"{DEFAULTS}?company={company.pk}", "toxicity", {"threshold": 0.6})

    assert company.name in picker.content.decode()
    assert saved.status_code == 302
    assert scanner_settings_for(company)["toxicity"].threshold == 0.6


def test_the_agent_page_links_to_its_scanners(company_admin_client, company):
    agent = AgentFactory(company=company)

    page = company_admin_client.get(reverse("admin:agents_agent_change", args=[agent.pk])).content.decode()

    assert agent_url(agent) in page
