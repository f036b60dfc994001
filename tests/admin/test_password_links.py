"""Password reset by email and invitations: Django's reset views under /admin/ in the admin's look; the admin's
"add user" emails a single-use, expiring set-your-password link instead of asking the admin for a password."""

import base64
import re
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import mail
from django.test import Client
from django.urls import reverse

from apps.accounts.models import ApplicationUser
from apps.audit.models import AuditEvent
from tests.admin.helpers import action_post, add_url, changelist, error_messages
from tests.factories import DEFAULT_PASSWORD
from tests.helpers import json_line, run_manage

NEW_PASSWORD = "a-fresh-passphrase-42"
LINK = re.compile(r"http://testserver(/admin/reset/[^/\s]+/[^/\s]+/)")


def link_in(message) -> str:
    return LINK.search(message.body).group(1)


def set_password_through(client: Client, path: str, password: str = NEW_PASSWORD):
    """Follow the emailed link as a browser does (it redirects to a token-free URL), then set the password."""
    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200
    return client.post(form_page.redirect_chain[-1][0], {"new_password1": password, "new_password2": password})


def log_in(email: str, password: str) -> int:
    return Client().post(reverse("admin:login"), {"username": email, "password": password}).status_code


def test_login_page_links_to_password_reset_in_the_admin_look(client, db):
    login = client.get(reverse("admin:login")).content.decode()
    reset = client.get(reverse("admin_password_reset"))

    assert reverse("admin_password_reset") == "/admin/password_reset/"
    assert 'href="/admin/password_reset/"' in login
    assert reset.status_code == 200
    assert 'id="site-name"' in reset.content.decode()
    assert "css/admin-brand.css" in reset.content.decode()
    assert "permission to view or edit anything" not in reset.content.decode()  # no empty admin sidebar


def test_reset_link_sets_a_new_password_once(client, admin_user):
    client.post(reverse("admin_password_reset"), {"email": "ADMIN@acme.example"})
    assert len(mail.outbox) == 1
    path = link_in(mail.outbox[0])

    done = set_password_through(client, path)
    again = client.get(path, follow=True)

    assert done.status_code == 302
    assert done["Location"] == reverse("password_reset_complete")
    assert log_in(admin_user.email, NEW_PASSWORD) == 302
    assert log_in(admin_user.email, DEFAULT_PASSWORD) == 200
    assert "The password reset link was invalid" in again.content.decode()
    assert AuditEvent.objects.filter(action="user.password_set", user=admin_user, actor_user=admin_user).exists()


def test_reset_link_names_the_user_by_userid_not_the_primary_key(client, admin_user):
    client.post(reverse("admin_password_reset"), {"email": admin_user.email})

    uidb64 = link_in(mail.outbox[0]).split("/")[3]
    padded = uidb64 + "=" * (-len(uidb64) % 4)

    assert base64.urlsafe_b64decode(padded).decode() == admin_user.userid


def test_reset_link_expires(client, admin_user, monkeypatch):
    client.post(reverse("admin_password_reset"), {"email": admin_user.email})
    later = datetime.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60)
    monkeypatch.setattr(PasswordResetTokenGenerator, "_now", lambda self: later)

    page = client.get(link_in(mail.outbox[0]), follow=True)

    assert "The password reset link was invalid" in page.content.decode()
    assert log_in(admin_user.email, DEFAULT_PASSWORD) == 302


@pytest.mark.parametrize("uidb64", ["bm90LWEtdXNlcg", "%%%", "MQ"])  # "not-a-user", garbage, the pk "1"
def test_reset_link_with_an_unknown_or_malformed_user_is_invalid(client, admin_user, uidb64):
    page = client.get(f"/admin/reset/{uidb64}/abc-123/", follow=True)

    assert page.status_code == 200
    assert "The password reset link was invalid" in page.content.decode()


def test_reset_of_an_unknown_address_sends_nothing_and_says_the_same(client, admin_user):
    known = client.post(reverse("admin_password_reset"), {"email": admin_user.email})
    unknown = client.post(reverse("admin_password_reset"), {"email": "nobody@acme.example"})

    assert known["Location"] == unknown["Location"] == reverse("password_reset_done")
    assert [message.to for message in mail.outbox] == [[admin_user.email]]


def test_add_user_emails_an_invitation_by_default(company_admin_client, company, client):
    form = company_admin_client.get(add_url("accounts_applicationuser")).context["adminform"].form
    assert form["password_choice"].value() == "invite"

    response = company_admin_client.post(
        add_url("accounts_applicationuser"),
        {"email": "new@acme.example", "password_choice": "invite", "roles": ["admin", "user"], "is_active": "on"},
    )

    user = ApplicationUser.objects.get(email="new@acme.example")
    assert response.status_code == 302
    assert not user.has_usable_password()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new@acme.example"]
    assert "invited" in mail.outbox[0].subject
    assert "Acme" in mail.outbox[0].body
    invited = AuditEvent.objects.get(action="user.invited")
    assert invited.user == user
    token = link_in(mail.outbox[0]).split("/")[4]
    assert token not in str(AuditEvent.objects.values().get(pk=invited.pk))

    set_password_through(client, link_in(mail.outbox[0]))

    assert log_in("new@acme.example", NEW_PASSWORD) == 302


def test_add_user_with_a_chosen_password_sends_no_email(company_admin_client):
    company_admin_client.post(
        add_url("accounts_applicationuser"),
        {
            "email": "set@acme.example",
            "password_choice": "set",
            "new_password": NEW_PASSWORD,
            "roles": ["user"],
            "is_active": "on",
        },
    )

    assert ApplicationUser.objects.get(email="set@acme.example").check_password(NEW_PASSWORD)
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("choice", "password"), [("set", ""), ("invite", NEW_PASSWORD), ("none", NEW_PASSWORD)], ids=str
)
def test_add_user_refuses_a_password_that_contradicts_the_choice(company_admin_client, choice, password):
    response = company_admin_client.post(
        add_url("accounts_applicationuser"),
        {"email": "odd@acme.example", "password_choice": choice, "new_password": password, "is_active": "on"},
    )

    assert response.status_code == 200
    assert "new_password" in response.context["adminform"].form.errors
    assert not ApplicationUser.objects.filter(email="odd@acme.example").exists()
    assert mail.outbox == []


def test_add_user_without_a_password_sends_nothing(company_admin_client):
    company_admin_client.post(
        add_url("accounts_applicationuser"),
        {"email": "api-only@acme.example", "password_choice": "none", "roles": ["user"], "is_active": "on"},
    )

    assert not ApplicationUser.objects.get(email="api-only@acme.example").has_usable_password()
    assert mail.outbox == []


def test_the_action_emails_a_fresh_link(company_admin_client, plain_user, client):
    response = action_post(company_admin_client, "accounts_applicationuser", "send_password_link", [plain_user.pk])

    assert response.status_code == 302
    assert "new password" in mail.outbox[0].body
    set_password_through(client, link_in(mail.outbox[0]))
    plain_user.refresh_from_db()
    assert plain_user.check_password(NEW_PASSWORD)
    assert AuditEvent.objects.filter(action="user.password_link_sent", user=plain_user).count() == 1


def test_the_action_ignores_another_companys_user(company_admin_client, other_user):
    action_post(company_admin_client, "accounts_applicationuser", "send_password_link", [other_user.pk])

    assert mail.outbox == []


def test_the_action_refuses_an_inactive_user(company_admin_client, company):
    from tests.factories import UserFactory

    gone = UserFactory(company=company, email="gone@acme.example", is_active=False)

    response = action_post(
        company_admin_client, "accounts_applicationuser", "send_password_link", [gone.pk], follow=True
    )

    assert mail.outbox == []
    assert any("inactive" in message for message in error_messages(response))


def test_an_unreachable_mail_server_keeps_the_user_and_says_how_to_retry(company_admin_client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2  # nothing listens there

    response = company_admin_client.post(
        add_url("accounts_applicationuser"),
        {"email": "later@acme.example", "password_choice": "invite", "roles": ["user"], "is_active": "on"},
        follow=True,
    )

    assert ApplicationUser.objects.filter(email="later@acme.example").exists()
    assert any("could not be sent" in message for message in error_messages(response))
    assert not AuditEvent.objects.filter(action="user.invited").exists()
    assert changelist("accounts_applicationuser") in response.redirect_chain[-1][0]


def _email_settings(env: dict) -> dict:
    script = (
        "import json; from django.conf import settings as s;"
        "print(json.dumps({k: getattr(s, k) for k in ('EMAIL_BACKEND', 'EMAIL_HOST', 'EMAIL_PORT',"
        " 'EMAIL_USE_TLS', 'DEFAULT_FROM_EMAIL')}))"
    )
    result = run_manage("shell", "-c", script, env={"DEBUG": "true", **env})
    assert result.returncode == 0, result.stderr
    return json_line(result.stdout)


def test_email_url_configures_the_mail_server():
    configured = _email_settings(
        {"EMAIL_URL": "smtp+tls://mailer:pw@smtp.example.com:587", "DEFAULT_FROM_EMAIL": "AIRisk <ai@example.com>"}
    )

    assert configured["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (configured["EMAIL_HOST"], configured["EMAIL_PORT"], configured["EMAIL_USE_TLS"]) == (
        "smtp.example.com",
        587,
        True,
    )
    assert configured["DEFAULT_FROM_EMAIL"] == "AIRisk <ai@example.com>"


def test_development_prints_mails_on_the_console_by_default(monkeypatch):
    monkeypatch.delenv("EMAIL_URL", raising=False)

    assert _email_settings({})["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
