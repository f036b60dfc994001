"""The agent screens of the web admin: add (each engine shows and keeps only its own fields), bad input, edit,
soft delete, files, Test connection, "from a template", cross-company 404s and who may reach them at all."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.agents.models import Agent, AgentFile, AgentTemplate
from apps.audit.models import AuditEvent
from apps.engines.fakes import FAKE_API_KEY, FakeEngineServer, Script
from tests.admin.conftest import logged_in
from tests.admin.helpers import add_url, change_url, changelist, delete_url
from tests.factories import AgentFactory, AgentTemplateFactory, UserFactory

KEY = "sk-admin-typed-key-0123456789-LAST"


def agent_form(engine: str = "openai", files: list | None = None, **fields) -> dict:
    """What the admin's browser posts for the agent form (engine fields are named <engine>_<setting>)."""
    slug = engine.replace("-", "_")
    data = {
        "name": "Policy helper",
        "description": "",
        "instructions": "Answer from the policy.",
        "greeting": "Hello!",
        "greeting_description": "",
        "suggested_prompts": "What is our travel policy?\nWho approves expenses?",
        "is_active": "on",
        "engine": engine,
        "max_messages": "20",
        "temperature": "0.7",
        "max_tokens": "",
        "input_price_per_million": "",
        "output_price_per_million": "",
        "files-TOTAL_FORMS": str(len(files or [])),
        "files-INITIAL_FORMS": "0",
        "files-MIN_NUM_FORMS": "0",
        "files-MAX_NUM_FORMS": "1000",
    }
    for index, upload in enumerate(files or []):
        data[f"files-{index}-file"] = upload
    for name, value in fields.items():
        data[name if name in data or name.startswith("_") else f"{slug}_{name}"] = value
    return data


ENGINE_FORMS = {
    "openai": {"model": "gpt-4o-mini", "api_key": KEY, "organization": "org-acme"},
    "azure-openai": {
        "base_url": "https://acme.openai.azure.com",
        "deployment": "gpt4o-prod",
        "api_version": "2024-10-21",
        "model": "gpt-4o",
        "api_key": KEY,
    },
    "mistral": {"model": "mistral-small-latest", "api_key": KEY},
    "google": {"model": "gemini-2.5-flash", "api_key": KEY},
    "llama": {"base_url": "http://127.0.0.1:11434/v1", "model": "llama3.2"},
    "bedrock": {"region": "eu-west-1", "model": "anthropic.claude-3-5-haiku-20241022-v1:0", "api_key": KEY},
}


@pytest.mark.parametrize("engine", list(ENGINE_FORMS))
def test_company_admin_adds_an_agent_on_each_engine(company_admin_client, admin_user, engine):
    response = company_admin_client.post(add_url("agents_agent"), agent_form(engine, **ENGINE_FORMS[engine]))

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    agent = Agent.objects.get()
    assert (agent.company, agent.engine, agent.name) == (admin_user.company, engine, "Policy helper")
    for name, value in ENGINE_FORMS[engine].items():
        assert getattr(agent, name) == value
    assert agent.suggested_prompt_list == ["What is our travel policy?", "Who approves expenses?"]
    assert AuditEvent.objects.filter(action="agent.created", company=admin_user.company).count() == 1


def test_the_add_page_has_one_fieldset_per_engine_and_the_toggle_script(company_admin_client):
    html = company_admin_client.get(add_url("agents_agent")).content.decode()

    for engine in ENGINE_FORMS:
        assert f"engine-fields engine-{engine}" in html
    assert "agents/engine_fields.js" in html
    assert "<script>" not in html  # no inline scripts (CSP)
    assert 'id="agent-scanners"' not in html  # an agent not yet saved has no Scanners page


def test_other_engines_fields_sent_by_the_browser_are_ignored(company_admin_client):
    data = agent_form("openai", model="gpt-4o-mini", api_key=KEY)
    data.update({"bedrock_region": "us-east-1", "azure_openai_deployment": "stale", "llama_base_url": "ftp://x"})

    response = company_admin_client.post(add_url("agents_agent"), data)

    assert response.status_code == 302
    agent = Agent.objects.get()
    assert (agent.region, agent.deployment, agent.base_url) == ("", "", "")


@pytest.mark.parametrize(
    ("engine", "fields", "error_field", "message"),
    [
        ("gpt", {}, "engine", "Select a valid choice"),
        ("openai", {"api_key": KEY}, "openai_model", "Model is required"),
        ("azure-openai", {"deployment": "d", "api_key": KEY}, "azure_openai_base_url", "Endpoint is required"),
        ("openai", {"model": "m", "api_key": KEY, "temperature": "2.5"}, "temperature", "2"),
        ("openai", {"model": "m", "api_key": KEY, "max_messages": "0"}, "max_messages", "1"),
        ("openai", {"model": "m", "api_key": KEY, "max_messages": "201"}, "max_messages", "200"),
        ("llama", {"model": "m", "base_url": "ftp://models.local/v1"}, "llama_base_url", "http:// or https://"),
        ("openai", {"model": "m"}, "openai_api_key", "API key is required"),
    ],
)
def test_bad_input_is_a_form_error_and_nothing_is_saved(company_admin_client, engine, fields, error_field, message):
    response = company_admin_client.post(add_url("agents_agent"), agent_form(engine, **fields))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert message in " ".join(errors[error_field]), errors
    assert not Agent.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_rejected_form_never_renders_the_typed_key(company_admin_client):
    response = company_admin_client.post(add_url("agents_agent"), agent_form("openai", api_key=KEY, temperature="9"))

    assert response.status_code == 200
    assert KEY not in response.content.decode()


def test_edit_keeps_the_key_when_the_field_is_left_empty_and_shows_only_its_last_four(company_admin_client, company):
    agent = AgentFactory(company=company, api_key=KEY)

    page = company_admin_client.get(change_url("agents_agent", agent.pk)).content.decode()
    response = company_admin_client.post(
        change_url("agents_agent", agent.pk), agent_form("openai", name="Renamed", model="gpt-4o", api_key="")
    )

    assert "•••• LAST" in page
    assert KEY not in page
    assert response.status_code == 302
    agent.refresh_from_db()
    assert (agent.name, agent.model, agent.api_key) == ("Renamed", "gpt-4o", KEY)


def test_edit_can_remove_the_stored_key(company_admin_client, company):
    agent = AgentFactory(company=company, engine="llama", base_url="http://127.0.0.1:1/v1", model="m", api_key=KEY)

    company_admin_client.post(
        change_url("agents_agent", agent.pk),
        agent_form("llama", base_url="http://127.0.0.1:1/v1", model="m", clear_keys="on"),
    )

    agent.refresh_from_db()
    assert agent.api_key == ""


def test_delete_is_soft_and_audited(company_admin_client, company):
    agent = AgentFactory(company=company)

    confirm = company_admin_client.get(delete_url("agents_agent", agent.pk))
    response = company_admin_client.post(delete_url("agents_agent", agent.pk), {"post": "yes"})

    assert confirm.status_code == 200
    assert response.status_code == 302
    assert Agent.objects.get(pk=agent.pk).deleted_at is not None
    assert AuditEvent.objects.filter(action="agent.deleted").exists()
    assert company_admin_client.get(change_url("agents_agent", agent.pk)).status_code == 404
    assert company_admin_client.get(changelist("agents_agent")).context["cl"].result_count == 0


def test_files_are_uploaded_and_deleted_on_the_agent_page(
    company_admin_client, company, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    agent = AgentFactory(company=company, api_key=KEY)
    upload = SimpleUploadedFile("handbook.txt", b"Rule 1: be kind.", content_type="text/plain")

    response = company_admin_client.post(
        change_url("agents_agent", agent.pk), agent_form("openai", model="gpt-4o-mini", files=[upload])
    )

    assert response.status_code == 302
    stored = AgentFile.objects.get()
    assert (stored.agent, stored.name, stored.size) == (agent, "handbook.txt", 16)
    page = company_admin_client.get(change_url("agents_agent", agent.pk)).content.decode()
    assert "handbook.txt" in page
    data = agent_form("openai", model="gpt-4o-mini")
    data.update({"files-TOTAL_FORMS": "1", "files-INITIAL_FORMS": "1", "files-0-id": str(stored.pk)})
    data.update({"files-0-agent": str(agent.pk), "files-0-DELETE": "on"})
    with django_capture_on_commit_callbacks(execute=True):
        company_admin_client.post(change_url("agents_agent", agent.pk), data)
    assert not AgentFile.objects.exists()
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_an_oversized_file_is_a_form_error(company_admin_client, company, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.AGENT_FILE_MAX_BYTES = 4
    agent = AgentFactory(company=company, api_key=KEY)

    response = company_admin_client.post(
        change_url("agents_agent", agent.pk),
        agent_form("openai", model="gpt-4o-mini", files=[SimpleUploadedFile("big.txt", b"12345")]),
    )

    assert response.status_code == 200
    assert "larger than" in response.content.decode()
    assert not AgentFile.objects.exists()


def test_test_connection_shows_the_answer_latency_and_tokens(company_admin_client, company):
    with FakeEngineServer("openai", script=Script(text="OK", input_tokens=14)) as fake:
        agent = AgentFactory(company=company, base_url=fake.base_url, api_key=FAKE_API_KEY)
        response = company_admin_client.post(reverse("admin:agents_agent_test_connection", args=[agent.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="connection-answer">OK<' in html
    assert "14 in, 1 out" in html
    assert " ms<" in html


def test_test_connection_explains_a_bad_key(company_admin_client, company):
    with FakeEngineServer("openai") as fake:
        agent = AgentFactory(company=company, base_url=fake.base_url, api_key="sk-not-the-right-key-0123456789")
        response = company_admin_client.post(reverse("admin:agents_agent_test_connection", args=[agent.pk]))

    html = response.content.decode()
    assert "The connection failed" in html
    assert "refused the credentials" in html
    assert "sk-not-the-right-key" not in html


def test_test_connection_takes_only_post(company_admin_client, company):
    agent = AgentFactory(company=company)

    assert company_admin_client.get(reverse("admin:agents_agent_test_connection", args=[agent.pk])).status_code == 405


def test_add_from_a_template_copies_it_into_the_admins_company(company_admin_client, company):
    template = AgentTemplateFactory(name="Travel desk", engine="mistral", model="mistral-small-latest")

    listing = company_admin_client.get(reverse("admin:agents_agent_add_from_template"))
    response = company_admin_client.post(reverse("admin:agents_agent_add_from_template"), {"template": template.pk})

    assert "Travel desk" in listing.content.decode()
    agent = Agent.objects.get()
    assert response["Location"] == change_url("agents_agent", agent.pk)
    assert (agent.company, agent.template, agent.engine, agent.api_key) == (company, template, "mistral", "")


def test_another_companys_agent_is_404_everywhere(company_admin_client, other_company):
    foreign = AgentFactory(company=other_company, name="Globex secret agent")

    assert company_admin_client.get(change_url("agents_agent", foreign.pk)).status_code == 404
    assert company_admin_client.get(delete_url("agents_agent", foreign.pk)).status_code == 404
    assert company_admin_client.post(delete_url("agents_agent", foreign.pk), {"post": "yes"}).status_code == 404
    tested = company_admin_client.post(reverse("admin:agents_agent_test_connection", args=[foreign.pk]))
    assert tested.status_code == 404
    assert "Globex secret agent" not in company_admin_client.get(changelist("agents_agent")).content.decode()
    company_admin_client.post(
        changelist("agents_agent"), {"action": "delete_selected", "_selected_action": [foreign.pk], "post": "yes"}
    )
    assert Agent.objects.get(pk=foreign.pk).deleted_at is None


AGENT_SCREENS = ["agents_agent", "agents_providercredential", "agents_companyprofile", "agents_agenttemplate"]


@pytest.mark.parametrize("roles", [["user"], ["monitor"], ["compliance"], ["monitor", "compliance", "user"]])
@pytest.mark.parametrize("screen", AGENT_SCREENS)
def test_plain_users_monitors_and_compliance_cannot_reach_the_agent_admin(company, roles, screen):
    browser = logged_in(UserFactory(company=company, roles=roles))

    response = browser.get(changelist(screen))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_company_admins_cannot_reach_the_default_agents(company_admin_client):
    assert company_admin_client.get(changelist("agents_agenttemplate")).status_code == 403
    assert company_admin_client.get(add_url("agents_agenttemplate")).status_code == 403
    assert "default agents" not in company_admin_client.get(reverse("admin:index")).content.decode().lower()


def test_server_admin_adds_a_default_agent_and_publishes_it_to_every_company(
    server_admin_client, company, other_company
):
    data = agent_form("google", model="gemini-2.5-flash")
    for name in ("is_active", "google_api_key", "files-TOTAL_FORMS", "files-INITIAL_FORMS"):
        data.pop(name, None)

    response = server_admin_client.post(add_url("agents_agenttemplate"), data)
    template = AgentTemplate.objects.get()
    published = server_admin_client.post(reverse("admin:agents_agenttemplate_publish", args=[template.pk]), follow=True)

    assert response.status_code == 302
    assert (template.engine, template.model) == ("google", "gemini-2.5-flash")
    assert sorted(Agent.objects.values_list("company__slug", flat=True)) == ["acme", "globex"]
    assert "published to every company" in published.content.decode()


def test_the_agent_list_costs_the_same_queries_for_3_or_30_agents(company_admin_client, company):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    AgentFactory.create_batch(3, company=company)
    with CaptureQueriesContext(connection) as few:
        company_admin_client.get(changelist("agents_agent"))
    AgentFactory.create_batch(27, company=company, api_key="")
    with CaptureQueriesContext(connection) as many:
        response = company_admin_client.get(changelist("agents_agent"))

    assert response.context["cl"].result_count == 30
    assert len(many) == len(few)


def test_the_agent_list_says_where_each_key_comes_from(company_admin_client, company):
    from apps.agents.models import ProviderCredential

    AgentFactory(company=company, name="Own", api_key=KEY)
    AgentFactory(company=company, name="Shared", api_key="")
    AgentFactory(company=company, name="Keyless", engine="mistral", model="m", api_key="")
    ProviderCredential.objects.create(company=company, engine="openai", api_key="sk-shared-0123456789")

    html = company_admin_client.get(changelist("agents_agent")).content.decode()

    assert "own key •••• LAST" in html
    assert "the company&#x27;s provider settings" in html
    assert ">none<" in html
    assert KEY not in html and "sk-shared-0123456789" not in html
