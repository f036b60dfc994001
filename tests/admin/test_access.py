"""Who gets into the admin: company admins (their company's screens), server admins (everything), and
nobody else (monitor, compliance and plain users are sent to the login page)."""

import pytest
from django.urls import reverse

from apps.audit.services import Actor
from apps.companies.services import company_set_active
from tests.admin.conftest import logged_in
from tests.admin.helpers import actions_recorded, add_url, changelist
from tests.factories import DEFAULT_PASSWORD, UserFactory

COMPANY_SCREENS = [
    "oauth_apiuser",
    "oauth_accesstoken",
    "accounts_applicationuser",
    "accounts_group",
    "audit_auditevent",
]


@pytest.mark.parametrize("roles", [["monitor"], ["compliance"], ["user"], ["monitor", "compliance", "user"]])
@pytest.mark.parametrize("screen", ["index", *COMPANY_SCREENS, "companies_company"])
def test_non_admin_roles_are_sent_to_the_login_page(company, roles, screen):
    browser = logged_in(UserFactory(company=company, roles=roles))
    url = reverse("admin:index") if screen == "index" else changelist(screen)

    response = browser.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_anonymous_visitor_is_sent_to_the_login_page(client, company):
    response = client.get(changelist("oauth_apiuser"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_deactivated_company_admin_is_sent_to_the_login_page(company):
    admin = UserFactory(company=company, roles=["admin"], is_active=False)
    browser = logged_in(admin)

    response = browser.get(reverse("admin:index"))

    assert response.status_code == 302


def test_admin_of_a_deactivated_company_is_sent_to_the_login_page(company, admin_user):
    browser = logged_in(admin_user)
    assert browser.get(reverse("admin:index")).status_code == 200

    company_set_active(company=company, active=False, actor=Actor.system())
    response = browser.get(changelist("oauth_apiuser"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_admin_of_a_deactivated_company_cannot_log_in(client, company, admin_user):
    company_set_active(company=company, active=False, actor=Actor.system())

    response = client.post(
        reverse("admin:login"), {"username": admin_user.email, "password": DEFAULT_PASSWORD, "next": "/admin/"}
    )

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_non_admin_cannot_run_an_action(company, api_client):
    browser = logged_in(UserFactory(company=company, roles=["monitor"]))

    response = browser.post(
        changelist("oauth_apiuser"), {"action": "deactivate_clients", "_selected_action": [api_client.pk]}
    )

    api_client.refresh_from_db()
    assert response.status_code == 302
    assert api_client.is_active


def test_company_admin_logs_in_with_email_and_password(client, admin_user):
    response = client.post(
        reverse("admin:login"),
        {"username": "admin@acme.example", "password": "factory-password-1234", "next": "/admin/"},
    )

    assert response.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


def test_plain_user_cannot_log_in_to_the_admin(client, plain_user):
    response = client.post(
        reverse("admin:login"), {"username": "user@acme.example", "password": "factory-password-1234"}
    )

    assert response.status_code == 200
    assert b"The web admin is for company admins" in response.content
    assert client.get(reverse("admin:index")).status_code == 302


def test_company_admin_index_lists_the_company_screens_but_not_companies(company_admin_client):
    response = company_admin_client.get(reverse("admin:index"))

    assert response.status_code == 200
    html = response.content.decode()
    for screen in COMPANY_SCREENS:
        assert changelist(screen) in html
    assert changelist("companies_company") not in html
    assert "AIRisk" in html


@pytest.mark.parametrize("screen", COMPANY_SCREENS)
def test_company_admin_opens_each_company_screen(company_admin_client, screen):
    assert company_admin_client.get(changelist(screen)).status_code == 200


def test_company_admin_gets_403_on_the_companies_screen(company_admin_client, company):
    assert company_admin_client.get(changelist("companies_company")).status_code == 403
    assert company_admin_client.get(add_url("companies_company")).status_code == 403
    assert company_admin_client.get(reverse("admin:companies_company_change", args=[company.pk])).status_code == 403


@pytest.mark.parametrize("screen", [*COMPANY_SCREENS, "companies_company"])
def test_server_admin_opens_every_screen(server_admin_client, screen):
    assert server_admin_client.get(changelist(screen)).status_code == 200


def test_server_admin_index_lists_companies(server_admin_client):
    response = server_admin_client.get(reverse("admin:index"))

    assert changelist("companies_company") in response.content.decode()


def test_admin_changing_their_own_password_is_audited(company_admin_client, admin_user, company):
    response = company_admin_client.post(
        reverse("admin:password_change"),
        {
            "old_password": "factory-password-1234",
            "new_password1": "a-brand-new-passphrase-3",
            "new_password2": "a-brand-new-passphrase-3",
        },
    )

    admin_user.refresh_from_db()
    assert response.status_code == 302
    assert admin_user.check_password("a-brand-new-passphrase-3")
    assert actions_recorded(company)[-1] == "user.password_set"
    assert company_admin_client.get(reverse("admin:index")).status_code == 200  # still logged in


def test_non_admin_cannot_rotate_a_secret(company, api_client):
    browser = logged_in(UserFactory(company=company, roles=["compliance"]))
    before = api_client.secret_hash

    response = browser.post(reverse("admin:oauth_apiuser_rotate_secret", args=[api_client.pk]))

    api_client.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert api_client.secret_hash == before
