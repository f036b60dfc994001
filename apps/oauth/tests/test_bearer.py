"""Bearer tokens: only the server's own live tokens open the API; one indexed query per request."""

import base64
import json
import time

import jwt
import pytest
from django.conf import settings
from django.utils import timezone

from apps.accounts.models import ApplicationUser
from apps.audit.services import Actor
from apps.oauth.models import AccessToken
from apps.oauth.services import access_token_issue, api_client_rotate_secret, api_client_set_active
from tests.helpers import bearer

ME = "/api/oauth2/me"


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def assert_invalid_token(response):
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert response["Content-Type"] == "application/problem+json; charset=utf-8"
    assert response.json()["traceId"].startswith("00-")


def test_me_describes_a_generic_token(client, api_client, generic_token):
    response = client.get(ME, headers=bearer(generic_token))

    assert response.status_code == 200
    row = AccessToken.objects.get()
    assert response.json() == {
        "company": "acme",
        "client_id": api_client.client_id,
        "userid": None,
        "kind": "generic",
        "scope": "users:read chat agents:read",
        "expires": row.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def test_me_describes_a_user_token(client, plain_user, user_token):
    body = client.get("/API/OAUTH2/ME", headers=bearer(user_token)).json()

    assert (body["userid"], body["kind"], body["company"]) == (plain_user.userid, "user", "acme")


def test_each_company_sees_its_own_context(client, generic_token, other_generic_token):
    mine = client.get(ME, headers=bearer(generic_token)).json()
    theirs = client.get(ME, headers=bearer(other_generic_token)).json()

    assert (mine["company"], theirs["company"]) == ("acme", "globex")


def test_bearer_authentication_costs_at_most_one_query(client, user_token, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        response = client.get(ME, headers=bearer(user_token))

    assert response.status_code == 200


def test_no_token_is_401_with_a_bearer_challenge(client):
    response = client.get(ME)

    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")


def test_token_in_the_query_string_is_not_accepted(client, generic_token):
    assert client.get(ME, {"access_token": generic_token}).status_code == 401


def test_alg_none_token_is_rejected(client, generic_token):
    payload = generic_token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged = f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': settings.JWT_KEY_ID})}.{b64(claims)}."

    assert_invalid_token(client.get(ME, headers=bearer(forged)))


def test_tampered_signature_is_rejected(client, generic_token):
    header, payload, signature = generic_token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]

    assert_invalid_token(client.get(ME, headers=bearer(f"{header}.{payload}.{flipped}")))


def test_tampered_claims_are_rejected(client, generic_token, other_company):
    header, payload, signature = generic_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["company"] = other_company.slug

    assert_invalid_token(client.get(ME, headers=bearer(f"{header}.{b64(claims)}.{signature}")))


def test_token_signed_with_another_key_or_unknown_kid_is_rejected(client, generic_token):
    claims = jwt.decode(generic_token, options={"verify_signature": False})
    wrong_key = jwt.encode(claims, "k" * 64, algorithm="HS256", headers={"kid": settings.JWT_KEY_ID})
    wrong_kid = jwt.encode(claims, settings.JWT_SIGNING_KEY, algorithm="HS256", headers={"kid": "retired-9"})

    assert_invalid_token(client.get(ME, headers=bearer(wrong_key)))
    assert_invalid_token(client.get(ME, headers=bearer(wrong_kid)))


def test_token_of_a_retired_key_still_verifies_while_listed(client, generic_token, settings):
    settings.JWT_PREVIOUS_KEYS = {settings.JWT_KEY_ID: settings.JWT_SIGNING_KEY}
    settings.JWT_KEY_ID, settings.JWT_SIGNING_KEY = "2", "n" * 64

    assert client.get(ME, headers=bearer(generic_token)).status_code == 200


def test_expired_token_is_rejected(client, api_client):
    value = access_token_issue(client=api_client, user=None)[1]
    claims = jwt.decode(value, options={"verify_signature": False})
    claims["exp"] = int(time.time()) - 5
    expired = jwt.encode(claims, settings.JWT_SIGNING_KEY, algorithm="HS256", headers={"kid": settings.JWT_KEY_ID})

    assert_invalid_token(client.get(ME, headers=bearer(expired)))


def test_token_whose_row_expired_is_rejected(client, generic_token):
    AccessToken.objects.update(expires_at=timezone.now())

    assert_invalid_token(client.get(ME, headers=bearer(generic_token)))


def test_revoked_token_is_rejected(client, generic_token):
    AccessToken.objects.update(revoked_at=timezone.now())

    assert_invalid_token(client.get(ME, headers=bearer(generic_token)))


def test_deactivated_client_loses_its_tokens(client, api_client, generic_token):
    api_client_set_active(client=api_client, active=False, actor=Actor.system())

    assert_invalid_token(client.get(ME, headers=bearer(generic_token)))


def test_rotating_the_secret_revokes_the_clients_tokens(client, api_client, generic_token, other_generic_token):
    api_client_rotate_secret(client=api_client, actor=Actor.system())

    assert_invalid_token(client.get(ME, headers=bearer(generic_token)))
    assert client.get(ME, headers=bearer(other_generic_token)).status_code == 200


def test_deactivated_company_loses_its_tokens(client, company, generic_token):
    company.is_active = False
    company.save()

    assert_invalid_token(client.get(ME, headers=bearer(generic_token)))


def test_deactivated_or_deleted_user_loses_the_user_token(client, plain_user, user_token, admin_token, admin_user):
    plain_user.is_active = False
    plain_user.save()
    ApplicationUser.objects.filter(pk=admin_user.pk).delete()

    assert_invalid_token(client.get(ME, headers=bearer(user_token)))
    assert_invalid_token(client.get(ME, headers=bearer(admin_token)))


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Bearer not.a.jwt", "Bearer é"])
def test_malformed_authorization_headers_are_401(client, header):
    assert client.get(ME, headers={"Authorization": header}).status_code == 401
