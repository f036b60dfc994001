"""The API clients screen: list, add (secret shown once), edit, rotate, activate/deactivate, revoke tokens."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from apps.audit.models import AuditEvent
from apps.oauth import crypto
from apps.oauth.grants import GRANTS
from apps.oauth.models import AccessToken, APIUser
from apps.oauth.services import access_token_issue
from tests.admin.helpers import action_post, actions_recorded, add_url, change_url, changelist, delete_url
from tests.factories import APIUserFactory
from tests.helpers import bearer

SECRET_FIELD = re.compile(r'id="client-secret" value="([^"]+)"')


def one_time_secret(response) -> str:
    return SECRET_FIELD.search(response.content.decode()).group(1)


def add_client(browser, **fields):
    data = {"name": "HR sync", "redirect_uris": "https://hr.example/callback\nhttp://localhost:8080/cb", **fields}
    return browser.post(add_url("oauth_apiuser"), data)


def test_list_shows_name_client_id_grants_state_and_outstanding_tokens(company_admin_client, api_client):
    access_token_issue(client=api_client, user=None)
    access_token_issue(client=api_client, user=None)
    revoked, _ = access_token_issue(client=api_client, user=None)
    AccessToken.objects.filter(pk=revoked.pk).update(revoked_at=revoked.issued_at)

    response = company_admin_client.get(changelist("oauth_apiuser"))

    html = response.content.decode()
    row = response.context["cl"].result_list[0]
    assert api_client.client_id in html
    assert "<code>users:read</code>" in html  # the grants; redirect URIs are on the client's own page
    assert "outstanding tokens" in html.lower()
    assert "last used" in html.lower()
    assert row.outstanding_token_count == 2


def test_list_runs_a_constant_number_of_queries(company_admin_client, company):
    APIUserFactory(company=company)
    with CaptureQueriesContext(connection) as few:
        company_admin_client.get(changelist("oauth_apiuser"))
    for client in APIUserFactory.create_batch(10, company=company):
        access_token_issue(client=client, user=None)
    with CaptureQueriesContext(connection) as many:
        company_admin_client.get(changelist("oauth_apiuser"))

    assert len(many) == len(few)


def test_add_generates_client_id_and_shows_the_secret_once(company_admin_client, company):
    response = add_client(company_admin_client, allow_user_tokens="on", require_pkce="on")

    client = APIUser.objects.get(name="HR sync")
    secret = one_time_secret(response)
    assert response.status_code == 200
    assert response.templates[0].name == "admin/oauth/apiuser/secret_once.html"
    assert "no-store" in response["Cache-Control"]
    assert client.company == company
    assert client.client_id in response.content.decode()
    assert crypto.secret_matches(secret, client.secret_hash)
    assert client.secret_hash not in response.content.decode()
    assert "cannot be shown again" in response.content.decode()
    assert 'id="copy-secret"' in response.content.decode()
    assert client.redirect_uri_list == ["https://hr.example/callback", "http://localhost:8080/cb"]
    assert client.require_pkce and client.allow_user_tokens
    assert client.grants == []  # a form posted without any checkbox ticked
    assert "client.created" in actions_recorded(company)


@pytest.mark.parametrize(
    ("uris", "message"),
    [
        ("https://hr.example/cb#top", "must not contain a fragment"),
        ("http://hr.example/cb", "must use https"),
        ("/callback", "must be an absolute https:// URI"),
        ("https://hr.example/cb\nhttps://hr.example/cb", "is listed twice"),
        ("https://user@hr.example/cb", "must not contain user information"),
        ("javascript:alert(1)", "must be an absolute https:// URI"),
        ("", "This field is required"),
    ],
)
def test_add_rejects_each_bad_redirect_uri_with_a_clear_message(company_admin_client, uris, message):
    response = add_client(company_admin_client, redirect_uris=uris)

    assert response.status_code == 200
    assert message in " ".join(response.context["adminform"].form.errors["redirect_uris"])
    assert not APIUser.objects.filter(name="HR sync").exists()


def test_add_names_every_bad_entry(company_admin_client):
    response = add_client(company_admin_client, redirect_uris="https://ok.example/cb, http://a.example/x, https://b/#f")

    errors = response.context["adminform"].form.errors["redirect_uris"]
    assert len(errors) == 2
    assert errors[0].startswith("http://a.example/x:")
    assert errors[1].startswith("https://b/#f:")


def test_add_form_does_not_offer_the_hash_or_client_id(company_admin_client):
    response = company_admin_client.get(add_url("oauth_apiuser"))

    fields = response.context["adminform"].form.fields
    assert "secret_hash" not in fields
    assert "client_id" not in fields
    assert "company" not in fields
    assert all(field.help_text for field in fields.values())


def test_server_admin_adds_a_client_for_a_chosen_company(server_admin_client, other_company):
    response = add_client(server_admin_client, company=other_company.pk)

    assert response.status_code == 200
    assert APIUser.objects.get(name="HR sync").company == other_company


def test_change_page_never_shows_the_secret_or_its_hash(company_admin_client, api_client):
    response = company_admin_client.get(change_url("oauth_apiuser", api_client.pk))

    html = response.content.decode()
    assert api_client.plain_secret not in html
    assert api_client.secret_hash not in html
    assert "secret_hash" not in response.context["adminform"].form.fields
    assert reverse("admin:oauth_apiuser_rotate_secret", args=[api_client.pk]) in html


def test_edit_redirect_uris_and_policy_knobs(company_admin_client, api_client, company):
    response = company_admin_client.post(
        change_url("oauth_apiuser", api_client.pk),
        {
            "name": "Acme integration",
            "redirect_uris": "https://acme.example/cb\nhttp://127.0.0.1:9000/cb",
            "is_active": "on",
            "require_pkce": "on",
            "grants": ["users:read", "users:write"],
        },
    )

    api_client.refresh_from_db()
    assert response.status_code == 302
    assert api_client.redirect_uri_list == ["https://acme.example/cb", "http://127.0.0.1:9000/cb"]
    assert api_client.require_pkce and not api_client.allow_user_tokens
    assert api_client.grants == ["users:read", "users:write"]
    assert actions_recorded(company)[-1] == "client.updated"


def test_edit_rejects_a_bad_redirect_uri_and_keeps_the_old_ones(company_admin_client, api_client):
    response = company_admin_client.post(
        change_url("oauth_apiuser", api_client.pk),
        {"name": "Acme integration", "redirect_uris": "http://acme.example/cb", "is_active": "on"},
    )

    api_client.refresh_from_db()
    assert response.status_code == 200
    assert api_client.redirect_uris == "https://localhost/callback"


def test_unchecking_active_on_the_form_deactivates_and_revokes(company_admin_client, api_client, company):
    token, _ = access_token_issue(client=api_client, user=None)

    company_admin_client.post(
        change_url("oauth_apiuser", api_client.pk),
        {"name": "Acme integration", "redirect_uris": "https://localhost/callback", "allow_user_tokens": "on"},
    )

    api_client.refresh_from_db()
    token.refresh_from_db()
    assert not api_client.is_active
    assert token.revoked_at is not None
    assert "client.deactivated" in actions_recorded(company)


def test_rotate_asks_for_confirmation_first(company_admin_client, api_client):
    url = reverse("admin:oauth_apiuser_rotate_secret", args=[api_client.pk])

    response = company_admin_client.get(url)

    api_client.refresh_from_db()
    assert response.status_code == 200
    assert "revoked" in response.content.decode()
    assert crypto.secret_matches(api_client.plain_secret, api_client.secret_hash)


def test_rotate_shows_a_new_secret_once_and_revokes_tokens(company_admin_client, api_client, company):
    token, _ = access_token_issue(client=api_client, user=None)

    response = company_admin_client.post(reverse("admin:oauth_apiuser_rotate_secret", args=[api_client.pk]))

    api_client.refresh_from_db()
    token.refresh_from_db()
    new_secret = one_time_secret(response)
    assert "no-store" in response["Cache-Control"]
    assert new_secret != api_client.plain_secret
    assert crypto.secret_matches(new_secret, api_client.secret_hash)
    assert not crypto.secret_matches(api_client.plain_secret, api_client.secret_hash)
    assert token.revoked_at is not None
    assert actions_recorded(company)[-2:] == ["token.revoked", "client.secret_rotated"]


def test_rotate_action_redirects_to_the_confirmation_for_one_client(company_admin_client, api_client):
    response = action_post(company_admin_client, "oauth_apiuser", "rotate_secret", [api_client.pk])

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:oauth_apiuser_rotate_secret", args=[api_client.pk])


def test_rotate_action_refuses_several_clients(company_admin_client, api_client, company):
    second = APIUserFactory(company=company)

    response = action_post(company_admin_client, "oauth_apiuser", "rotate_secret", [api_client.pk, second.pk])

    api_client.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == changelist("oauth_apiuser")
    assert crypto.secret_matches(api_client.plain_secret, api_client.secret_hash)


def test_deactivate_and_activate_actions(company_admin_client, api_client, company):
    token, _ = access_token_issue(client=api_client, user=None)

    action_post(company_admin_client, "oauth_apiuser", "deactivate_clients", [api_client.pk])
    api_client.refresh_from_db()
    token.refresh_from_db()
    assert not api_client.is_active
    assert token.revoked_at is not None

    action_post(company_admin_client, "oauth_apiuser", "activate_clients", [api_client.pk])
    api_client.refresh_from_db()
    assert api_client.is_active
    assert actions_recorded(company)[-3:] == ["token.revoked", "client.deactivated", "client.activated"]


def test_revoke_all_tokens_action(company_admin_client, api_client, company, plain_user):
    tokens = [
        access_token_issue(client=api_client, user=None)[0],
        access_token_issue(client=api_client, user=plain_user)[0],
    ]

    response = action_post(company_admin_client, "oauth_apiuser", "revoke_all_tokens", [api_client.pk])

    assert response.status_code == 302
    assert all(AccessToken.objects.get(pk=t.pk).revoked_at is not None for t in tokens)
    assert api_client.__class__.objects.get(pk=api_client.pk).is_active
    assert actions_recorded(company)[-1] == "token.revoked"


def test_clients_cannot_be_deleted_only_deactivated(company_admin_client, api_client):
    response = company_admin_client.post(delete_url("oauth_apiuser", api_client.pk), {"post": "yes"})

    assert response.status_code == 403
    assert APIUser.objects.filter(pk=api_client.pk).exists()


# Grants: shown and edited on the client's page, listed on the one-time page and in the list


def test_add_form_offers_every_grant_with_label_and_description_and_ticks_the_defaults(company_admin_client):
    response = company_admin_client.get(add_url("oauth_apiuser"))

    html = response.content.decode()
    field = response.context["adminform"].form["grants"]
    assert field.value() == ["users:read", "chat", "agents:read"]
    for grant in GRANTS.values():
        assert f'value="{grant.name}"' in html
        assert escape(grant.label) in html and escape(grant.description) in html
    assert re.search(r'<input type="checkbox" name="grants" value="users:read"[^>]*checked', html)
    assert not re.search(r'<input type="checkbox" name="grants" value="users:write"[^>]*checked', html)
    assert "oauth/grants.css" in html


def test_add_with_grants_stores_them_and_the_one_time_page_lists_them(company_admin_client):
    response = add_client(company_admin_client, grants=["monitoring", "users:read"])

    client = APIUser.objects.get(name="HR sync")
    grants_html = re.search(
        r'<ul class="readonly grant-list" id="client-grants">(.*?)</ul>', response.content.decode(), re.S
    )
    assert client.grants == ["users:read", "monitoring"]
    assert "<code>users:read</code>" in grants_html.group(1) and "<code>monitoring</code>" in grants_html.group(1)
    assert "<code>chat</code>" not in grants_html.group(1)


def test_add_refuses_an_unknown_grant(company_admin_client):
    response = add_client(company_admin_client, grants=["users:read", "root"])

    assert response.status_code == 200
    assert "Select a valid choice. root is not one of the available choices." in str(
        response.context["adminform"].form.errors["grants"]
    )
    assert not APIUser.objects.filter(name="HR sync").exists()


def test_change_page_ticks_the_clients_grants(company_admin_client, company):
    client = APIUserFactory(company=company, grants=["users:read", "users:write", "dashboards"])

    response = company_admin_client.get(change_url("oauth_apiuser", client.pk))

    assert response.context["adminform"].form["grants"].value() == ["users:read", "users:write", "dashboards"]


def test_taking_a_grant_away_in_the_admin_stops_outstanding_tokens_and_is_audited(
    company_admin_client, client, company
):
    api_client = APIUserFactory(company=company, grants=["users:read", "chat"])
    token = access_token_issue(client=api_client, user=None)[1]
    assert client.get("/api/Users/ListUsers", headers=bearer(token)).status_code == 200

    company_admin_client.post(
        change_url("oauth_apiuser", api_client.pk),
        {"name": api_client.name, "redirect_uris": api_client.redirect_uris, "is_active": "on", "grants": ["chat"]},
    )

    api_client.refresh_from_db()
    event = AuditEvent.objects.filter(action="client.updated").latest("id")
    assert api_client.grants == ["chat"]
    assert event.detail["grants_removed"] == ["users:read"]
    assert client.get("/api/Users/ListUsers", headers=bearer(token)).status_code == 403


def test_list_shows_each_clients_grants_and_filters_by_grant(company_admin_client, company):
    writer = APIUserFactory(company=company, name="Writer", grants=["users:read", "users:write"])
    reader = APIUserFactory(company=company, name="Reader", grants=["users:read"])

    everything = company_admin_client.get(changelist("oauth_apiuser"))
    writers = company_admin_client.get(changelist("oauth_apiuser") + "?grant=users:write")
    readers = company_admin_client.get(changelist("oauth_apiuser") + "?grant=users:read")

    assert "<code>users:write</code>" in everything.content.decode()
    assert list(writers.context["cl"].result_list) == [writer]
    assert list(readers.context["cl"].result_list) == [reader, writer]
