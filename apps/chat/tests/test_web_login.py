"""/login/, /logout/ and /: every user logs in with email and password and lands in the chat; company admins
also get a link to the admin; the django-axes lockout applies as on the admin's login."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from apps.audit.models import AuditEvent
from tests.factories import DEFAULT_PASSWORD, UserFactory

LOGIN = reverse("chat:login")
WRONG = "not-the-password-0"


def log_in(client: Client, email: str, password: str = DEFAULT_PASSWORD, **extra):
    return client.post(LOGIN, {"username": email, "password": password, **extra}, REMOTE_ADDR="198.51.100.9")


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.django_db
def test_the_login_page_asks_for_email_and_password(client):
    response = client.get(LOGIN)

    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="username"' in html and 'autocomplete="email"' in html
    assert 'name="password"' in html and 'type="password"' in html
    assert "csrfmiddlewaretoken" in html


def test_a_plain_user_logs_in_and_lands_in_the_chat_without_an_admin_link(client, plain_user):
    response = log_in(client, plain_user.email)

    assert response.status_code == 302 and response.url == reverse("chat:index")
    assert logged_in(client)
    page = client.get(reverse("chat:index"))
    assert page.status_code == 200
    assert 'href="/admin/"' not in page.content.decode()
    assert AuditEvent.objects.filter(action="login.succeeded", user=plain_user).exists()


def test_a_company_admin_lands_in_the_chat_and_sees_the_admin_link(client, admin_user):
    response = log_in(client, admin_user.email)

    assert response.url == reverse("chat:index")
    html = client.get(reverse("chat:index")).content.decode()
    assert 'id="admin-link"' in html and 'href="/admin/"' in html


def test_the_email_is_case_insensitive(client, plain_user):
    assert log_in(client, "User@ACME.example").status_code == 302
    assert logged_in(client)


def test_a_wrong_password_shows_the_form_again_with_an_error(client, plain_user):
    response = log_in(client, plain_user.email, WRONG)

    html = response.content.decode()
    assert response.status_code == 200
    assert not logged_in(client)
    assert 'id="login-error"' in html and "correct email and password" in html
    assert WRONG not in html
    assert AuditEvent.objects.filter(action="login.failed").exists()


def test_an_unknown_email_and_an_inactive_user_are_refused(client, company):
    inactive = UserFactory(company=company, email="gone@acme.example", roles=["user"], is_active=False)

    assert log_in(client, "nobody@acme.example").status_code == 200
    assert log_in(client, inactive.email).status_code == 200
    assert not logged_in(client)


def test_repeated_failures_lock_the_account_out_even_with_the_right_password(client, plain_user):
    answers = [log_in(Client(), plain_user.email, WRONG).status_code for _ in range(settings.AXES_FAILURE_LIMIT)]

    refused = log_in(client, plain_user.email)

    assert answers[-1] == 429
    assert refused.status_code == 429 and "Too many failed logins" in refused.content.decode()
    assert not logged_in(client)


def test_next_is_followed_only_within_the_site(client, plain_user):
    inside = log_in(client, plain_user.email, next="/chat/?agent=x")
    outside = log_in(Client(), plain_user.email, next="https://evil.example/")

    assert inside.url == "/chat/?agent=x"
    assert outside.url == reverse("chat:index")


def test_a_logged_in_user_visiting_login_goes_to_the_chat(client, plain_user):
    client.force_login(plain_user)

    assert client.get(LOGIN).url == reverse("chat:index")


def test_the_root_sends_visitors_to_login_and_users_to_the_chat(client, plain_user):
    assert client.get("/").url == LOGIN
    client.force_login(plain_user)
    assert client.get("/").url == reverse("chat:index")


def test_the_chat_needs_a_login(client, db):
    response = client.get(reverse("chat:index"))

    assert response.status_code == 302 and response.url.startswith(LOGIN + "?next=")


def test_logout_is_post_only_and_ends_the_session(client, plain_user):
    client.force_login(plain_user)

    assert client.get(reverse("chat:logout")).status_code == 405
    assert logged_in(client)
    response = client.post(reverse("chat:logout"))
    assert response.status_code == 302 and response.url == LOGIN
    assert not logged_in(client)
    assert AuditEvent.objects.filter(action="login.logout", user=plain_user).exists()
