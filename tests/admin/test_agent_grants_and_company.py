"""Groups > agents, Users > assigned agents and default agent, Company > General Information and External Agent
Provider Settings, in the web admin; with their cross-company refusals."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.agents.models import AgentGroupGrant, AgentUserGrant, CompanyProfile, ProviderCredential, UserDefaultAgent
from apps.agents.selectors import agent_default_for_user, agents_usable_by
from apps.audit.models import AuditEvent
from tests.admin.helpers import add_url, change_url, changelist
from tests.factories import AgentFactory

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
KEY = "sk-company-wide-key-0123456789-ZZZZ"


def group_form(group, agents=(), members=()) -> dict:
    return {"name": group.name, "members": [m.pk for m in members], "agents": [a.pk for a in agents]}


def user_form(user, agents=(), default=None, groups=()) -> dict:
    return {
        "email": user.email,
        "name": user.name,
        "new_password": "",
        "roles": user.roles,
        "groups": [g.pk for g in groups],
        "is_active": "on",
        "agents": [a.pk for a in agents],
        "default_agent": default.pk if default else "",
    }


def test_group_gets_and_loses_agents(company_admin_client, company, group, plain_user):
    first, second = AgentFactory(company=company, name="First"), AgentFactory(company=company, name="Second")

    added = company_admin_client.post(
        change_url("accounts_group", group.pk), group_form(group, [first, second], [plain_user])
    )
    page = company_admin_client.get(change_url("accounts_group", group.pk)).content.decode()
    removed = company_admin_client.post(
        change_url("accounts_group", group.pk), group_form(group, [second], [plain_user])
    )

    assert added.status_code == removed.status_code == 302
    assert 'id="id_agents"' in page
    assert list(agents_usable_by(user=plain_user)) == [second]
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="agent.").order_by("id")] == [
        "agent.granted_to_group",
        "agent.granted_to_group",
        "agent.revoked_from_group",
    ]


def test_group_cannot_get_another_companys_agent(company_admin_client, group, other_company):
    foreign = AgentFactory(company=other_company)

    response = company_admin_client.post(change_url("accounts_group", group.pk), group_form(group, [foreign]))

    assert response.status_code == 200
    assert "agents" in response.context["adminform"].form.errors
    assert not AgentGroupGrant.objects.exists()


def test_user_gets_agents_and_a_default_agent(company_admin_client, company, plain_user):
    agent = AgentFactory(company=company)

    response = company_admin_client.post(
        change_url("accounts_applicationuser", plain_user.pk), user_form(plain_user, [agent], default=agent)
    )

    assert response.status_code == 302
    assert agent_default_for_user(user=plain_user) == agent
    assert AuditEvent.objects.filter(action="user.default_agent_set", user=plain_user).exists()


def test_default_agent_through_a_group_grant_is_accepted(company_admin_client, company, plain_user, group):
    agent = AgentFactory(company=company)
    AgentGroupGrant.objects.create(company=company, agent=agent, group=group)

    response = company_admin_client.post(
        change_url("accounts_applicationuser", plain_user.pk), user_form(plain_user, default=agent, groups=[group])
    )

    assert response.status_code == 302
    assert agent_default_for_user(user=plain_user) == agent


def test_default_agent_the_user_may_not_use_is_a_form_error(company_admin_client, company, plain_user):
    agent = AgentFactory(company=company)

    response = company_admin_client.post(
        change_url("accounts_applicationuser", plain_user.pk), user_form(plain_user, default=agent)
    )

    assert response.status_code == 200
    assert "may use" in " ".join(response.context["adminform"].form.errors["default_agent"])
    assert not UserDefaultAgent.objects.exists()


def test_user_cannot_get_another_companys_agent(company_admin_client, plain_user, other_company):
    foreign = AgentFactory(company=other_company)

    response = company_admin_client.post(
        change_url("accounts_applicationuser", plain_user.pk), user_form(plain_user, [foreign], default=foreign)
    )

    assert response.status_code == 200
    assert not AgentUserGrant.objects.exists()


def test_new_user_with_an_agent_in_one_form(company_admin_client, company):
    agent = AgentFactory(company=company)
    data = {"email": "new@acme.example", "name": "New", "new_password": "", "roles": ["user"], "is_active": "on"}
    data.update({"agents": [agent.pk], "default_agent": agent.pk})

    response = company_admin_client.post(add_url("accounts_applicationuser"), data)

    assert response.status_code == 302
    assert AgentUserGrant.objects.filter(agent=agent, user__email="new@acme.example").exists()


def test_company_admin_goes_straight_to_the_general_information_of_their_company(company_admin_client, company):
    response = company_admin_client.get(changelist("agents_companyprofile"))

    profile = CompanyProfile.objects.get(company=company)
    assert response["Location"] == change_url("agents_companyprofile", profile.pk)


def test_general_information_is_saved_with_logo_and_default_agent(company_admin_client, company, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    agent = AgentFactory(company=company)
    company_admin_client.get(changelist("agents_companyprofile"))
    profile = CompanyProfile.objects.get(company=company)

    response = company_admin_client.post(
        change_url("agents_companyprofile", profile.pk),
        {
            "name": "Acme Europe",
            "contact_email": "ai@acme.example",
            "time_zone": "Europe/Paris",
            "default_agent": agent.pk,
            "logo": SimpleUploadedFile("logo.png", PNG, "image/png"),
        },
    )

    assert response.status_code == 302
    company.refresh_from_db()
    assert (company.name, company.contact_email, company.time_zone) == (
        "Acme Europe",
        "ai@acme.example",
        "Europe/Paris",
    )
    assert company.logo.name.endswith("logo.png")
    assert CompanyProfile.objects.get(company=company).default_agent == agent
    assert {"company.renamed", "company.profile_updated", "company.default_agent_set"} <= set(
        AuditEvent.objects.values_list("action", flat=True)
    )


def test_general_information_refuses_bad_values(company_admin_client, company, other_company, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    company_admin_client.get(changelist("agents_companyprofile"))
    profile = CompanyProfile.objects.get(company=company)
    foreign = AgentFactory(company=other_company)

    response = company_admin_client.post(
        change_url("agents_companyprofile", profile.pk),
        {
            "name": "Acme",
            "contact_email": "not-an-email",
            "time_zone": "Mars/Olympus",
            "default_agent": foreign.pk,
            "logo": SimpleUploadedFile("logo.png", b"<svg onload=alert(1)>", "image/png"),
        },
    )

    errors = response.context["adminform"].form.errors
    assert set(errors) == {"contact_email", "time_zone", "default_agent", "logo"}
    company.refresh_from_db()
    assert company.time_zone == "UTC"


def test_another_companys_general_information_is_404(company_admin_client, other_company):
    foreign = CompanyProfile.objects.create(company=other_company)

    assert company_admin_client.get(change_url("agents_companyprofile", foreign.pk)).status_code == 404
    assert company_admin_client.post(change_url("agents_companyprofile", foreign.pk), {"name": "x"}).status_code == 404


def test_provider_settings_store_the_key_encrypted_and_show_only_its_last_four(company_admin_client, company):
    response = company_admin_client.post(
        add_url("agents_providercredential"),
        {"engine": "openai", "openai_api_key": KEY, "openai_organization": "org-1"},
    )

    credential = ProviderCredential.objects.get()
    listing = company_admin_client.get(changelist("agents_providercredential")).content.decode()
    page = company_admin_client.get(change_url("agents_providercredential", credential.pk)).content.decode()
    assert response.status_code == 302
    assert (credential.company, credential.api_key, credential.organization) == (company, KEY, "org-1")
    assert "•••• ZZZZ" in listing and "•••• ZZZZ" in page
    assert KEY not in listing and KEY not in page


def test_provider_settings_one_set_per_engine_and_bad_urls(company_admin_client, company):
    ProviderCredential.objects.create(company=company, engine="openai", api_key=KEY)

    twice = company_admin_client.post(add_url("agents_providercredential"), {"engine": "openai", "openai_api_key": "x"})
    bad_url = company_admin_client.post(
        add_url("agents_providercredential"), {"engine": "azure-openai", "azure_openai_base_url": "gopher://x"}
    )

    assert "already has settings" in " ".join(twice.context["adminform"].form.errors["engine"])
    assert bad_url.status_code == 200
    assert ProviderCredential.objects.count() == 1


def test_another_companys_provider_settings_are_404(company_admin_client, other_company):
    foreign = ProviderCredential.objects.create(company=other_company, engine="openai", api_key=KEY)

    assert company_admin_client.get(change_url("agents_providercredential", foreign.pk)).status_code == 404
    listing = company_admin_client.get(changelist("agents_providercredential"))
    assert listing.context["cl"].result_count == 0


def test_agent_page_lists_who_it_is_granted_to(company_admin_client, company, group, plain_user):
    agent = AgentFactory(company=company)
    AgentGroupGrant.objects.create(company=company, agent=agent, group=group)
    AgentUserGrant.objects.create(company=company, agent=agent, user=plain_user)

    page = company_admin_client.get(change_url("agents_agent", agent.pk)).content.decode()

    assert "group Engineering" in page
    assert reverse("admin:accounts_applicationuser_change", args=[plain_user.pk]) in page
