"""Logins to the web admin: lockout after repeated failures (by account and by address), unlocking, the audit
trail of logins, failed logins and logouts, and a plain answer for people who are not company admins."""

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils.module_loading import import_string

from apps.audit.models import AuditEvent
from apps.audit.services import Actor
from tests.admin.conftest import logged_in
from tests.admin.helpers import action_post, changelist
from tests.factories import DEFAULT_PASSWORD, UserFactory

LOGIN = reverse("admin:login")
WRONG = "not-the-password-0"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AIRiskTest/1.0"


def attempt(client: Client, email: str, password: str, ip: str = "198.51.100.7", forwarded_for: str | None = None):
    headers = {"User-Agent": BROWSER, **({"X-Forwarded-For": forwarded_for} if forwarded_for else {})}
    return client.post(
        LOGIN, {"username": email, "password": password, "next": "/admin/"}, REMOTE_ADDR=ip, headers=headers
    )


def logged_in_as(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_forty_wrong_passwords_lock_the_account_and_axes_reset_unlocks_it(client, admin_user):
    answers = [attempt(client, admin_user.email, WRONG).status_code for _ in range(40)]

    refused = attempt(client, admin_user.email, DEFAULT_PASSWORD)

    assert answers[: settings.AXES_FAILURE_LIMIT - 1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert set(answers[settings.AXES_FAILURE_LIMIT - 1 :]) == {429}
    assert refused.status_code == 429
    assert not logged_in_as(client)

    call_command("axes_reset", verbosity=0)
    accepted = attempt(client, admin_user.email, DEFAULT_PASSWORD)

    assert accepted.status_code == 302
    assert logged_in_as(client)


def test_lockout_page_is_plain_and_in_the_admin_look(client, admin_user):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = attempt(client, admin_user.email, WRONG)

    html = response.content.decode()
    assert response.status_code == 429
    assert "Too many failed logins" in html
    assert f"Try again in {settings.AXES_COOLOFF_MINUTES} minutes" in html
    assert 'id="site-name"' in html
    assert "css/admin-brand.css" in html
    assert WRONG not in html


def test_failures_from_many_addresses_lock_the_account_everywhere(client, admin_user):
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(Client(), admin_user.email, WRONG, ip=f"203.0.113.{n + 1}")

    refused = attempt(client, admin_user.email, DEFAULT_PASSWORD, ip="192.0.2.200")

    assert refused.status_code == 429
    assert not logged_in_as(client)


def test_the_account_lockout_ignores_the_case_of_the_email(client, admin_user):
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(Client(), admin_user.email.upper() if n % 2 else admin_user.email, WRONG, ip=f"203.0.113.{n + 1}")

    assert attempt(client, "Admin@Acme.Example", DEFAULT_PASSWORD, ip="192.0.2.200").status_code == 429


def test_failures_on_many_accounts_lock_the_address_for_everyone(client, admin_user):
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(Client(), f"nobody{n}@acme.example", WRONG, ip="198.51.100.66")

    from_that_address = attempt(client, admin_user.email, DEFAULT_PASSWORD, ip="198.51.100.66")
    from_elsewhere = attempt(Client(), admin_user.email, DEFAULT_PASSWORD, ip="198.51.100.67")

    assert from_that_address.status_code == 429
    assert from_elsewhere.status_code == 302


def test_axes_reads_the_client_address_as_the_audit_log_does(rf):
    # One function decides the client address (TRUSTED_PROXY_COUNT applies there), for axes as for the audit log.
    request = rf.get("/admin/login/", REMOTE_ADDR="198.51.100.7", headers={"X-Forwarded-For": "10.1.2.3"})

    assert import_string(settings.AXES_CLIENT_IP_CALLABLE)(request) == Actor.from_request(request).ip == "198.51.100.7"


def test_a_forged_forwarded_for_header_does_not_dodge_the_address_lockout(client, admin_user):
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(Client(), f"nobody{n}@acme.example", WRONG, ip="198.51.100.66", forwarded_for=f"10.0.0.{n}")

    refused = attempt(client, admin_user.email, DEFAULT_PASSWORD, ip="198.51.100.66", forwarded_for="10.9.9.9")

    assert refused.status_code == 429


def test_server_admin_unlocks_on_the_login_lockouts_screen_and_it_is_audited(client, admin_user, server_admin):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, admin_user.email, WRONG)
    assert attempt(client, admin_user.email, DEFAULT_PASSWORD).status_code == 429
    screen = logged_in(server_admin)
    listing = screen.get(changelist("axes_accessattempt"))
    assert listing.status_code == 200
    assert "account and address locked until" in listing.content.decode()

    response = action_post(screen, "axes_accessattempt", "unlock", AccessAttempt.objects.values_list("pk", flat=True))

    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    unlocked = AuditEvent.objects.get(action="login.unlocked")
    assert unlocked.company == admin_user.company
    assert unlocked.actor_user == server_admin
    assert unlocked.detail["username"] == admin_user.email
    assert attempt(client, admin_user.email, DEFAULT_PASSWORD).status_code == 302


def test_company_admin_cannot_see_or_use_the_login_lockouts_screen(client, admin_user, plain_user):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(Client(), plain_user.email, WRONG)
    company_admin = logged_in(admin_user)

    listing = company_admin.get(changelist("axes_accessattempt"))
    action = action_post(
        company_admin, "axes_accessattempt", "unlock", AccessAttempt.objects.values_list("pk", flat=True)
    )

    assert listing.status_code == 403
    assert action.status_code == 403
    assert AccessAttempt.objects.count() == 1


def test_login_and_logout_are_audited_with_company_user_address_and_browser(client, admin_user):
    attempt(client, admin_user.email, DEFAULT_PASSWORD)
    client.post(reverse("admin:logout"), REMOTE_ADDR="198.51.100.7", headers={"User-Agent": BROWSER})

    login, logout = AuditEvent.objects.filter(action__in=["login.succeeded", "login.logout"]).order_by("id")
    for event in (login, logout):
        assert event.company == admin_user.company
        assert event.user == admin_user
        assert event.actor_user == admin_user
        assert event.ip == "198.51.100.7"
        assert event.detail["user_agent"] == BROWSER
        assert event.outcome == "success"
    assert [login.action, logout.action] == ["login.succeeded", "login.logout"]


def test_failed_login_is_audited_without_the_password(client, admin_user):
    attempt(client, admin_user.email, "a-secret-typo-77")

    failed = AuditEvent.objects.get(action="login.failed")
    assert failed.outcome == "failure"
    assert failed.company == admin_user.company
    assert failed.user == admin_user
    assert failed.actor_user is None
    assert failed.ip == "198.51.100.7"
    assert failed.detail == {"reason": "wrong email or password", "user_agent": BROWSER}
    assert not any("a-secret-typo-77" in str(row) for row in AuditEvent.objects.values())
    assert not any("a-secret-typo-77" in str(row) for row in AccessAttempt.objects.values())


def test_failed_login_of_an_unknown_account_keeps_what_was_typed_out_of_the_audit(client, company):
    attempt(client, "my-password-in-the-wrong-field", WRONG)

    failed = AuditEvent.objects.get(action="login.failed")
    assert failed.company is None
    assert failed.user is None
    assert "my-password-in-the-wrong-field" not in str(AuditEvent.objects.values().get())


def test_attempts_refused_during_a_lockout_are_audited_once_per_address_and_minute(client, admin_user):
    cache.delete("airisk:login-refused:198.51.100.99")  # the cache (Redis on CI) outlives the test database
    for _ in range(settings.AXES_FAILURE_LIMIT + 30):
        attempt(client, admin_user.email, WRONG, ip="198.51.100.99")

    failed = AuditEvent.objects.filter(action="login.failed")
    assert failed.count() == settings.AXES_FAILURE_LIMIT + 1
    assert failed.filter(detail__reason="locked out").count() == 2  # the one that locked, the first refused


@pytest.mark.parametrize("roles", [["user"], ["monitor"], ["compliance", "user"]])
def test_a_person_without_the_admin_role_is_told_the_web_admin_is_for_company_admins(client, company, roles):
    person = UserFactory(company=company, email="person@acme.example", roles=roles)

    response = attempt(client, person.email, DEFAULT_PASSWORD)

    html = response.content.decode()
    assert response.status_code == 200
    assert "The web admin is for company admins" in html
    assert "staff account" not in html
    assert not logged_in_as(client)
    refused = AuditEvent.objects.get(action="login.failed")
    assert refused.detail["reason"] == "not a company admin"
    assert refused.user == person


def test_a_wrong_password_does_not_speak_of_staff_accounts(client, admin_user):
    html = attempt(client, admin_user.email, WRONG).content.decode()

    assert "Please enter the correct email and password" in html
    assert "staff account" not in html
