"""RFC 7009 revocation, RFC 7662 introspection (own company only) and RFC 8414 metadata."""

import base64

import pytest
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.oauth.models import AccessToken
from tests.factories import APIUserFactory
from tests.helpers import bearer


def post(client, path, api_client, **params):
    body = {"client_id": api_client.client_id, "client_secret": api_client.plain_secret, **params}
    return client.post(path, body, content_type="application/x-www-form-urlencoded")


def post_form(client, path, body: dict, **headers):
    from urllib.parse import urlencode

    return client.post(path, urlencode(body), content_type="application/x-www-form-urlencoded", headers=headers)


def test_revoke_revokes_the_clients_own_token(client, api_client, generic_token):
    response = post_form(
        client,
        "/api/oauth2/revoke",
        {"client_id": api_client.client_id, "client_secret": api_client.plain_secret, "token": generic_token},
    )

    # RFC 7009 asks for a 200; the body is an empty JSON object, like every other API answer JSON.
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {}
    assert response["Cache-Control"] == "no-store"
    assert client.get("/api/oauth2/me", headers=bearer(generic_token)).status_code == 401
    event = AuditEvent.objects.get(action="token.revoked")
    assert event.client == api_client and generic_token not in str(event.detail)


def test_revoke_accepts_http_basic(client, api_client, generic_token):
    basic = base64.b64encode(f"{api_client.client_id}:{api_client.plain_secret}".encode()).decode()

    response = post_form(client, "/api/oauth2/Revoke", {"token": generic_token}, Authorization=f"Basic {basic}")

    assert response.status_code == 200
    assert AccessToken.objects.get().revoked_at is not None


def test_revoke_of_another_clients_token_is_200_and_changes_nothing(
    client, company, generic_token, other_api_client, other_generic_token
):
    sibling = APIUserFactory(company=company)
    body = {"client_id": sibling.client_id, "client_secret": sibling.plain_secret, "token": generic_token}
    other_body = {**body, "token": other_generic_token}

    assert post_form(client, "/api/oauth2/revoke", body).status_code == 200
    assert post_form(client, "/api/oauth2/revoke", other_body).status_code == 200
    assert AccessToken.objects.filter(revoked_at__isnull=False).count() == 0


@pytest.mark.parametrize("token", ["garbage", "a.b.c"])
def test_revoke_of_an_invalid_token_is_200(client, api_client, token):
    assert (
        post_form(
            client,
            "/api/oauth2/revoke",
            {"client_id": api_client.client_id, "client_secret": api_client.plain_secret, "token": token},
        ).status_code
        == 200
    )


def test_revoke_needs_client_authentication_and_a_token(client, api_client, generic_token):
    wrong = post_form(
        client, "/api/oauth2/revoke", {"client_id": api_client.client_id, "client_secret": "x", "token": generic_token}
    )
    missing = post_form(
        client, "/api/oauth2/revoke", {"client_id": api_client.client_id, "client_secret": api_client.plain_secret}
    )

    assert wrong.status_code == 401 and wrong.json()["title"] == "Unauthorized"
    assert missing.status_code == 400 and missing.content == b"Invalid token"
    assert AccessToken.objects.get().revoked_at is None


def test_revoke_get_is_405(client):
    assert client.get("/api/oauth2/revoke").status_code == 405


def introspect(client, api_client, token):
    return post_form(
        client,
        "/api/oauth2/introspect",
        {"client_id": api_client.client_id, "client_secret": api_client.plain_secret, "token": token},
    )


def test_introspect_describes_a_live_token_of_the_company(client, api_client, plain_user, user_token):
    response = introspect(client, api_client, user_token)

    body = response.json()
    row = AccessToken.objects.get()
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert body["active"] is True
    assert (body["client_id"], body["sub"], body["userid"], body["kind"]) == (
        api_client.client_id,
        plain_user.userid,
        plain_user.userid,
        "user",
    )
    assert (body["company"], body["jti"], body["exp"]) == ("acme", row.jti, int(row.expires_at.timestamp()))
    assert body["token_type"] == "Bearer"


def test_introspect_answers_for_any_client_of_the_same_company(client, company, generic_token):
    sibling = APIUserFactory(company=company)

    assert introspect(client, sibling, generic_token).json()["active"] is True


def test_introspect_never_describes_another_companys_token(client, api_client, other_generic_token):
    assert introspect(client, api_client, other_generic_token).json() == {"active": False}


def test_introspect_reports_revoked_and_garbage_tokens_inactive(client, api_client, generic_token):
    AccessToken.objects.update(revoked_at=timezone.now())

    assert introspect(client, api_client, generic_token).json() == {"active": False}
    assert introspect(client, api_client, "not-a-token").json() == {"active": False}


def test_introspect_needs_client_authentication(client, api_client, generic_token):
    response = post_form(
        client,
        "/api/oauth2/introspect",
        {"client_id": api_client.client_id, "client_secret": "wrong", "token": generic_token},
    )

    assert response.status_code == 401
    assert "active" not in response.json()


def test_metadata_names_the_endpoints_and_methods(client):
    response = client.get("/.well-known/oauth-authorization-server")

    body = response.json()
    assert response.status_code == 200
    assert body["issuer"] == "http://testserver"
    assert body["authorization_endpoint"] == "http://testserver/api/oauth2"
    assert body["token_endpoint"] == "http://testserver/api/oauth2/Token"
    assert body["revocation_endpoint"] == "http://testserver/api/oauth2/revoke"
    assert body["introspection_endpoint"] == "http://testserver/api/oauth2/introspect"
    assert body["code_challenge_methods_supported"] == ["S256"]
    assert body["response_types_supported"] == ["code"]
    assert set(body["token_endpoint_auth_methods_supported"]) == {"client_secret_post", "client_secret_basic"}


def test_metadata_uses_an_issuer_url_when_configured(client, settings):
    settings.JWT_ISSUER = "https://airisk.example.com"

    assert client.get("/.well-known/oauth-authorization-server").json()["issuer"] == "https://airisk.example.com"
