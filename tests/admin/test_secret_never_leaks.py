"""A client secret appears in exactly one place: the one-time page answering the POST that created or rotated
it. Not in any other admin page, not in the database (audit events, admin log, sessions), not in any log
line, not even in the SQL the server ran."""

import logging
import re

from django.contrib.admin.models import LogEntry
from django.contrib.sessions.models import Session
from django.db import connection
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.oauth.models import APIUser
from tests.admin.helpers import add_url, change_url, changelist, history_url

SECRET_FIELD = re.compile(r'id="client-secret" value="([^"]+)"')


class RecordingBrowser:
    """Every page the admin's browser receives, in order, as (label, html)."""

    def __init__(self, client):
        self.client = client
        self.pages: list[tuple[str, str]] = []

    def _keep(self, label, response):
        for hop, _ in getattr(response, "redirect_chain", []):
            self.pages.append((f"{label} -> {hop}", ""))
        self.pages.append((label, response.content.decode()))
        return response

    def get(self, url, **query):
        return self._keep(f"GET {url}", self.client.get(url, query, follow=True))

    def post(self, url, data=None):
        return self._keep(f"POST {url}", self.client.post(url, data or {}, follow=True))


def pages_containing(browser: RecordingBrowser, value: str) -> list[str]:
    return [label for label, html in browser.pages if value in html]


def test_client_secret_is_only_on_its_one_time_page(company_admin_client, server_admin_client, caplog):
    caplog.set_level(logging.DEBUG)
    connection.force_debug_cursor = True  # log every SQL statement and its parameters too
    logging.getLogger("django.db.backends").setLevel(logging.DEBUG)
    browser = RecordingBrowser(company_admin_client)
    try:
        # given an admin who creates a client and then looks around every screen
        browser.get(add_url("oauth_apiuser"))
        created = browser.post(
            add_url("oauth_apiuser"), {"name": "Leak check", "redirect_uris": "https://leak.example/cb"}
        )
        first_secret = SECRET_FIELD.search(created.content.decode()).group(1)
        client = APIUser.objects.get(name="Leak check")
        rotate_url = reverse("admin:oauth_apiuser_rotate_secret", args=[client.pk])
        for url in (
            changelist("oauth_apiuser"),
            change_url("oauth_apiuser", client.pk),
            history_url("oauth_apiuser", client.pk),
            changelist("oauth_accesstoken"),
            changelist("audit_auditevent"),
            reverse("admin:index"),
            rotate_url,
        ):
            browser.get(url)
        # when the secret is rotated, and the admin keeps browsing
        rotated = browser.post(rotate_url)
        second_secret = SECRET_FIELD.search(rotated.content.decode()).group(1)
        browser.get(changelist("oauth_apiuser"))
        browser.get(change_url("oauth_apiuser", client.pk))
        browser.get(changelist("audit_auditevent"))
        for entry in AuditEvent.objects.filter(company=client.company):
            browser.get(change_url("audit_auditevent", entry.pk))
        browser.post(
            change_url("oauth_apiuser", client.pk), {"name": "Leak check 2", "redirect_uris": "https://leak.example/cb"}
        )
        server_view = RecordingBrowser(server_admin_client)
        server_view.get(changelist("oauth_apiuser"))
        server_view.get(change_url("oauth_apiuser", client.pk))
        server_view.get(changelist("audit_auditevent"))
    finally:
        connection.force_debug_cursor = False

    # then each secret was on exactly its one-time page
    assert first_secret != second_secret
    assert pages_containing(browser, first_secret) == [f"POST {add_url('oauth_apiuser')}"]
    assert pages_containing(browser, second_secret) == [f"POST {rotate_url}"]
    assert pages_containing(server_view, first_secret) == pages_containing(server_view, second_secret) == []
    assert pages_containing(browser, APIUser.objects.get(pk=client.pk).secret_hash) == []
    assert len(browser.pages) > 15
    # and nowhere else: logs (including the SQL log), audit events, the admin's history, sessions
    log_text = "\n".join(record.getMessage() + repr(record.args) for record in caplog.records)
    assert "INSERT INTO" in log_text  # the SQL log was captured, so its silence below means something
    for secret in (first_secret, second_secret):
        assert secret not in log_text
        assert not any(secret in repr(row) for row in AuditEvent.objects.values())
        assert not any(secret in repr(row) for row in LogEntry.objects.values())
        assert not any(secret in session.get_decoded().__repr__() for session in Session.objects.all())
        assert not any(secret in repr(row) for row in Session.objects.values())


def test_provider_keys_are_never_shown_logged_or_recorded(company_admin_client, server_admin_client, company, caplog):
    """A provider key typed into the agent form or the company's provider settings goes into the database
    encrypted and comes out nowhere: not on any page (only "•••• last 4"), not in a rejected form, not in a
    Test connection error (even when the provider quotes the key), not in logs, SQL, audit events or sessions."""
    from apps.agents.models import Agent, ProviderCredential
    from apps.engines.fakes import FakeEngineServer, Script

    agent_key = "sk-agent-typed-key-0123456789abcdef-AAAA"
    company_key = "sk-company-typed-key-0123456789abcd-BBBB"
    aws_secret = "aws/secret/typed/0123456789abcdefghij-CCCC"
    caplog.set_level(logging.DEBUG)
    connection.force_debug_cursor = True
    logging.getLogger("django.db.backends").setLevel(logging.DEBUG)
    browser = RecordingBrowser(company_admin_client)
    server_view = RecordingBrowser(server_admin_client)
    fake = FakeEngineServer("openai", script=Script(status=401, error_message="Incorrect API key provided: {key}"))
    fake.start()
    try:
        form = {
            "name": "Leak check agent",
            "engine": "openai",
            "openai_model": "gpt-4o-mini",
            "openai_base_url": fake.base_url,
            "max_messages": "20",
            "temperature": "0.7",
            "is_active": "on",
            "files-TOTAL_FORMS": "0",
            "files-INITIAL_FORMS": "0",
        }
        # a rejected form first (the key must not be echoed back), then the accepted one
        browser.post(add_url("agents_agent"), {**form, "openai_api_key": agent_key, "temperature": "7"})
        browser.post(add_url("agents_agent"), {**form, "openai_api_key": agent_key})
        agent = Agent.objects.get(name="Leak check agent")
        browser.post(
            add_url("agents_providercredential"),
            {"engine": "openai", "openai_api_key": company_key, "openai_organization": "org-leak"},
        )
        browser.post(
            add_url("agents_providercredential"),
            {
                "engine": "bedrock",
                "bedrock_region": "us-east-1",
                "bedrock_access_key_id": "AKIALEAKCHECK",
                "bedrock_secret_access_key": aws_secret,
            },
        )
        # the provider answers 401 quoting the key it received
        browser.post(reverse("admin:agents_agent_test_connection", args=[agent.pk]))
        browser.post(change_url("agents_agent", agent.pk), {**form, "name": "Leak check agent 2", "openai_api_key": ""})
        for url in (
            changelist("agents_agent"),
            change_url("agents_agent", agent.pk),
            history_url("agents_agent", agent.pk),
            changelist("agents_providercredential"),
            *(change_url("agents_providercredential", c.pk) for c in ProviderCredential.objects.all()),
            changelist("audit_auditevent"),
            reverse("admin:index"),
        ):
            browser.get(url)
            server_view.get(url)
        for entry in AuditEvent.objects.filter(company=company):
            browser.get(change_url("audit_auditevent", entry.pk))
    finally:
        fake.stop()
        connection.force_debug_cursor = False

    # the key reached the provider (so the test connection really used it) and was stored
    assert any(r.headers.get("authorization") == f"Bearer {agent_key}" for r in fake.requests)
    assert Agent.objects.get(pk=agent.pk).api_key == agent_key
    assert "Incorrect API key provided" in "".join(html for _, html in browser.pages)
    assert "•••• AAAA" in "".join(html for _, html in browser.pages)
    assert len(browser.pages) > 15
    log_text = "\n".join(record.getMessage() + repr(record.args) for record in caplog.records)
    assert "INSERT INTO" in log_text
    for secret in (agent_key, company_key, aws_secret):
        assert pages_containing(browser, secret) == []
        assert pages_containing(server_view, secret) == []
        assert secret not in log_text
        assert not any(secret in repr(row) for row in AuditEvent.objects.values())
        assert not any(secret in repr(row) for row in LogEntry.objects.values())
        assert not any(secret in repr(session.get_decoded()) for session in Session.objects.all())
