"""POST /api/oauth2/Token: the published success and error shapes, the bindings of the code, and the hardening."""

import base64
import json
import re
from datetime import timedelta
from urllib.parse import quote, urlencode

import jwt
import pytest
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.audit.services import Actor
from apps.oauth.models import AccessToken, AuthorizationCode
from apps.oauth.params import MAX_BODY_BYTES
from apps.oauth.services import api_client_set_active, pkce_s256
from tests.factories import APIUserFactory, UserFactory
from tests.helpers import bearer

from .assertions import TRACE_ID, assert_published_401, assert_text_reason
from .conftest import REDIRECT_URI

TOKEN_URL = "/api/oauth2/Token"
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"


def form(client, body: dict | str, **headers):
    data = body if isinstance(body, str) else urlencode(body)
    return client.post(TOKEN_URL, data, content_type="application/x-www-form-urlencoded", headers=headers)


def body_for(api_client, code, **extra):
    return {"client_id": api_client.client_id, "client_secret": api_client.plain_secret, "code": code, **extra}


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


# success


def test_token_exchanges_a_form_encoded_code_for_the_published_response(client, api_client, authorize):
    code = authorize(api_client)

    response = form(client, body_for(api_client, code, redirect_uri=REDIRECT_URI))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store" and response["Pragma"] == "no-cache"
    body = response.json()
    assert set(body) == {"access_token", "expiration", "token_type", "expires_in"}
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 3600)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["expiration"])
    claims = claims_of(body["access_token"])
    assert claims["sub"] == api_client.client_id and claims["kind"] == "generic"
    row = AccessToken.objects.get(jti=claims["jti"])
    assert row.authorization_code.used_at is not None and row.user is None
    assert body["expiration"] == row.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert client.get("/api/oauth2/me", headers=bearer(body["access_token"])).status_code == 200


def test_token_accepts_a_json_body(client, api_client, authorize, exchange):
    response = exchange(api_client, authorize(api_client), redirect_uri=REDIRECT_URI)

    assert response.status_code == 200 and "access_token" in response.json()


def test_token_accepts_http_basic_client_authentication(client, api_client, authorize):
    code = authorize(api_client)
    # RFC 6749 §2.3.1: each part form-urlencoded before base64.
    basic = base64.b64encode(f"{quote(api_client.client_id)}:{quote(api_client.plain_secret)}".encode()).decode()

    response = form(client, {"code": code, "grant_type": "authorization_code"}, Authorization=f"Basic {basic}")

    assert response.status_code == 200


def test_token_mobile_client_sends_only_id_secret_and_code_and_gets_the_codes_user(
    client, api_client, plain_user, authorize
):
    code = authorize(api_client, userid=plain_user.userid, response_type="code")

    response = form(client, body_for(api_client, code))

    assert response.status_code == 200
    claims = claims_of(response.json()["access_token"])
    assert (claims["sub"], claims["kind"]) == (plain_user.userid, "user")


def test_token_for_a_user_audits_the_impersonation_without_values(client, api_client, plain_user, authorize):
    code = authorize(api_client, userid=plain_user.userid)

    response = form(client, body_for(api_client, code, userid=plain_user.userid))

    token = response.json()["access_token"]
    issued = AuditEvent.objects.get(action="token.issued")
    impersonated = AuditEvent.objects.get(action="user.impersonated")
    for event in (issued, impersonated):
        assert (event.company, event.client, event.user) == (api_client.company, api_client, plain_user)
        assert event.actor_client == api_client and event.ip == "127.0.0.1" and TRACE_ID.match(event.trace_id)
        dumped = json.dumps(event.detail) + event.target_label + event.actor_label
        assert token not in dumped and code not in dumped and api_client.plain_secret not in dumped


def test_token_ignores_unknown_parameters(client, api_client, authorize):
    response = form(client, body_for(api_client, authorize(api_client), scope="everything", foo="bar"))

    assert response.status_code == 200


def test_token_route_matches_in_any_case(client, api_client, authorize):
    response = client.post(
        "/api/oauth2/token", body_for(api_client, authorize(api_client)), content_type="application/json"
    )

    assert response.status_code == 200


def test_token_is_csrf_exempt(api_client, authorize):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)

    response = form(strict, body_for(api_client, authorize(api_client)))

    assert response.status_code == 200


# the published errors


def test_token_without_client_id_is_invalid_client_id(client, api_client, authorize):
    body = body_for(api_client, authorize(api_client))
    del body["client_id"]

    assert_text_reason(form(client, body), "Invalid client_id")


def test_token_without_client_secret_is_invalid_client_secret(client, api_client, authorize):
    body = body_for(api_client, authorize(api_client))
    del body["client_secret"]

    assert_text_reason(form(client, body), "Invalid client_secret")


def test_token_without_code_is_invalid_code(client, api_client):
    assert_text_reason(
        form(client, {"client_id": api_client.client_id, "client_secret": api_client.plain_secret}), "Invalid Code"
    )


def test_token_with_unknown_code_is_invalid_code_and_audited(client, api_client):
    response = form(client, body_for(api_client, "SplxlOBeZQQYbYS6WxSbIA"))

    assert_text_reason(response, "Invalid Code")
    event = AuditEvent.objects.get(action="token.exchange_failed")
    assert event.outcome == "failure" and event.detail == {"reason": "unknown code"}
    assert event.company == api_client.company


def test_token_unknown_client_and_wrong_secret_get_the_same_401(client, api_client, authorize):
    code = authorize(api_client)

    unknown = form(client, {"client_id": "unknown", "client_secret": api_client.plain_secret, "code": code})
    wrong = form(client, {"client_id": api_client.client_id, "client_secret": "x" * 43, "code": code})

    assert_published_401(unknown)
    assert_published_401(wrong)
    assert unknown.headers.keys() == wrong.headers.keys()
    assert AuthorizationCode.objects.get().used_at is None
    failures = AuditEvent.objects.filter(action="client.auth_failed")
    assert sorted(str(e.company) for e in failures) == ["Acme", "None"]


def test_token_refuses_wrong_http_basic_secret_with_401_and_basic_challenge(client, api_client, authorize):
    basic = base64.b64encode(f"{api_client.client_id}:wrong".encode()).decode()

    response = form(client, {"code": authorize(api_client)}, Authorization=f"Basic {basic}")

    assert_published_401(response)
    assert response["WWW-Authenticate"] == 'Basic realm="airisk"'


def test_token_refuses_undecodable_http_basic_with_401(client):
    response = form(client, {"code": "x"}, Authorization="Basic %%%not-base64")

    assert_published_401(response)


def test_token_refuses_a_secret_sent_both_by_basic_and_in_the_body(client, api_client, authorize):
    basic = base64.b64encode(f"{api_client.client_id}:{api_client.plain_secret}".encode()).decode()

    response = form(client, body_for(api_client, authorize(api_client)), Authorization=f"Basic {basic}")

    assert_text_reason(response, "Invalid client_secret: sent both in the body and by HTTP Basic")


# the bindings of the code


def test_token_refuses_a_different_redirect_uri(client, company, authorize):
    api_client = APIUserFactory(company=company, redirect_uris="https://localhost/callback,https://localhost/other")
    code = authorize(api_client)

    response = form(client, body_for(api_client, code, redirect_uri="https://localhost/other"))

    assert_text_reason(response, "Invalid redirect_uri")
    # A failed binding does not burn the code for its rightful client.
    assert form(client, body_for(api_client, code, redirect_uri=REDIRECT_URI)).status_code == 200


def test_token_refuses_userid_when_the_code_has_none(client, api_client, plain_user, authorize):
    response = form(client, body_for(api_client, authorize(api_client), userid=plain_user.userid))

    assert_text_reason(response, "Invalid userid")


def test_token_refuses_a_different_userid(client, api_client, plain_user, admin_user, authorize):
    code = authorize(api_client, userid=plain_user.userid)

    response = form(client, body_for(api_client, code, userid=admin_user.userid))

    assert_text_reason(response, "Invalid userid")


def test_token_refuses_a_user_deactivated_after_the_code_was_issued(client, api_client, plain_user, authorize):
    code = authorize(api_client, userid=plain_user.userid)
    plain_user.is_active = False
    plain_user.save()

    assert_text_reason(form(client, body_for(api_client, code)), "Invalid userid")


def test_token_refuses_the_code_of_client_a_used_by_client_b(client, api_client, authorize, company):
    client_b = APIUserFactory(company=company, name="B")
    code = authorize(api_client)

    response = form(client, body_for(client_b, code))

    assert_text_reason(response, "Invalid Code")
    assert form(client, body_for(api_client, code)).status_code == 200


def test_token_refuses_the_code_of_another_companys_client(client, api_client, other_api_client, authorize):
    code = authorize(api_client)

    assert_text_reason(form(client, body_for(other_api_client, code)), "Invalid Code")
    assert AuditEvent.objects.get(action="token.exchange_failed").company == other_api_client.company


def test_token_refuses_an_expired_code(client, api_client, authorize):
    code = authorize(api_client)
    AuthorizationCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))  # the clock moved on

    response = form(client, body_for(api_client, code))

    assert_text_reason(response, "Invalid Code")
    assert AuditEvent.objects.get(action="token.exchange_failed").detail == {"reason": "code expired"}


def test_token_rejects_replayed_code_and_revokes_first_token(client, api_client, authorize):
    code = authorize(api_client)
    first = form(client, body_for(api_client, code)).json()["access_token"]
    assert client.get("/api/oauth2/me", headers=bearer(first)).status_code == 200

    replay = form(client, body_for(api_client, code))

    assert_text_reason(replay, "Invalid Code")
    assert client.get("/api/oauth2/me", headers=bearer(first)).status_code == 401
    assert AccessToken.objects.get().revoked_at is not None
    assert AuditEvent.objects.filter(action="token.revoked", detail__reason="code replayed").exists()


def test_token_for_an_inactive_client_or_company_is_401(client, api_client, company, authorize):
    code = authorize(api_client)
    api_client_set_active(client=api_client, active=False, actor=Actor.system())

    assert_published_401(form(client, body_for(api_client, code)))
    api_client_set_active(client=api_client, active=True, actor=Actor.system())
    company.is_active = False
    company.save()
    assert_published_401(form(client, body_for(api_client, code)))


# PKCE


@pytest.fixture
def pkce_code(api_client, authorize):
    return authorize(api_client, code_challenge=pkce_s256(VERIFIER), code_challenge_method="S256")


def test_token_accepts_the_right_code_verifier(client, api_client, pkce_code):
    assert form(client, body_for(api_client, pkce_code, code_verifier=VERIFIER)).status_code == 200


@pytest.mark.parametrize("verifier", [None, "x" * 43, VERIFIER[:-1], VERIFIER + "!", VERIFIER + "\n"])
def test_token_refuses_a_missing_or_wrong_code_verifier(client, api_client, pkce_code, verifier):
    extra = {"code_verifier": verifier} if verifier else {}

    assert_text_reason(form(client, body_for(api_client, pkce_code, **extra)), "Invalid code_verifier")


def test_token_refuses_a_code_verifier_for_a_code_without_challenge(client, api_client, authorize):
    response = form(client, body_for(api_client, authorize(api_client), code_verifier=VERIFIER))

    assert_text_reason(response, "Invalid code_verifier")


# malformed requests: 4xx with a reason, never a 500


def test_token_get_is_405(client):
    response = client.get(TOKEN_URL)

    assert response.status_code == 405 and response["Allow"] == "POST"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "multipart/form-data; boundary=x", "application/xml", "application/jsonx"]
)
def test_token_body_neither_form_nor_json_is_415(client, content_type):
    response = client.post(TOKEN_URL, "client_id=a", content_type=content_type)

    assert response.status_code == 415
    assert response["Content-Type"] == "application/problem+json; charset=utf-8"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('{"client_id": "a",', "Invalid request: malformed JSON body"),
        ('["client_id", "a"]', "Invalid request: the JSON body must be an object"),
        ('{"client_id": 5, "client_secret": "s", "code": "c"}', "Invalid client_id: must be a string"),
        ('{"client_id": "a", "client_secret": ["s"], "code": "c"}', "Invalid client_secret: must be a string"),
        ('{"client_id": "a", "client_secret": "s", "code": {"x": 1}}', "Invalid code: must be a string"),
        ('{"client_id": "a", "client_id": "b"}', "Invalid client_id: the parameter is repeated"),
        ('{"client_id": "a\\u0000", "client_secret": "s", "code": "c"}', "Invalid client_id: contains a NUL byte"),
    ],
)
def test_token_refuses_malformed_json(client, body, reason):
    response = client.post(TOKEN_URL, body, content_type="application/json")

    assert_text_reason(response, reason)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("client_id=a&client_id=b&client_secret=s&code=c", "Invalid client_id: the parameter is repeated"),
        ("client_id=a%00&client_secret=s&code=c", "Invalid client_id: contains a NUL byte"),
        ("client_id=a&client_secret=s&code=%FF", "Invalid request: malformed form body"),
    ],
)
def test_token_refuses_malformed_forms(client, body, reason):
    assert_text_reason(form(client, body), reason)


def test_token_refuses_a_body_that_is_not_utf8(client):
    response = client.post(TOKEN_URL, b"client_id=\xff", content_type="application/x-www-form-urlencoded")

    assert_text_reason(response, "Invalid request: the body is not UTF-8")


def test_token_refuses_an_oversized_body(client, api_client):
    body = urlencode({"client_id": api_client.client_id, "padding": "x" * MAX_BODY_BYTES})

    response = form(client, body)

    assert_text_reason(response, f"Invalid request: the body is larger than {MAX_BODY_BYTES} bytes")


def test_token_json_null_counts_as_absent(client, api_client, authorize):
    body = body_for(api_client, authorize(api_client), userid=None, redirect_uri=None)

    assert client.post(TOKEN_URL, body, content_type="application/json").status_code == 200


def test_token_refuses_other_grant_types(client, api_client, authorize):
    response = form(client, body_for(api_client, authorize(api_client), grant_type="client_credentials"))

    assert_text_reason(response, "Invalid grant_type")


def test_token_body_parameters_only_not_the_query_string(client, api_client, authorize):
    query = urlencode(body_for(api_client, authorize(api_client)))

    response = client.post(f"{TOKEN_URL}?{query}", "", content_type="application/x-www-form-urlencoded")

    assert_text_reason(response, "Invalid client_id")


# throttling


def test_token_throttles_per_ip_with_retry_after(client, api_client, settings):
    settings.OAUTH_TOKEN_RATE_PER_IP = "3/min"
    body = {"client_id": api_client.client_id, "client_secret": "wrong", "code": "c"}

    statuses = [form(client, body).status_code for _ in range(4)]
    limited = form(client, body)

    assert statuses == [401, 401, 401, 429]
    assert limited.status_code == 429 and 1 <= int(limited["Retry-After"]) <= 60
    assert limited.json()["status"] == 429
    other_ip = client.post(
        TOKEN_URL, urlencode(body), content_type="application/x-www-form-urlencoded", REMOTE_ADDR="10.0.0.9"
    )
    assert other_ip.status_code == 401


def test_token_throttles_per_authenticated_client(client, api_client, company, settings):
    settings.OAUTH_TOKEN_RATE_PER_CLIENT = "2/hour"
    other = APIUserFactory(company=company)
    body = {"client_id": api_client.client_id, "client_secret": api_client.plain_secret, "code": "unknown"}

    statuses = [form(client, body).status_code for _ in range(3)]

    assert statuses == [400, 400, 429]
    assert 1 <= int(form(client, body)["Retry-After"]) <= 3600
    # Another client from the same address, and strangers naming this client, are not counted against it.
    assert form(client, {**body, "client_id": other.client_id, "client_secret": other.plain_secret}).status_code == 400


def test_token_strangers_naming_a_client_do_not_use_up_its_budget(client, api_client, authorize, settings):
    settings.OAUTH_TOKEN_RATE_PER_CLIENT = "2/hour"
    for _ in range(5):
        form(client, {"client_id": api_client.client_id, "client_secret": "guess", "code": "c"})

    assert form(client, body_for(api_client, authorize(api_client))).status_code == 200


def test_user_deactivated_after_token_issue_loses_access(client, api_client, company, authorize):
    user = UserFactory(company=company)
    token = form(client, body_for(api_client, authorize(api_client, userid=user.userid))).json()["access_token"]
    user.is_active = False
    user.save()

    assert client.get("/api/oauth2/me", headers=bearer(token)).status_code == 401


def test_token_lifetime_follows_the_setting(client, api_client, authorize, settings):
    settings.ACCESS_TOKEN_LIFETIME_SECONDS = 120

    body = form(client, body_for(api_client, authorize(api_client))).json()

    claims = claims_of(body["access_token"])
    assert claims["exp"] - claims["iat"] == 120 and body["expires_in"] == 120
    assert claims["iss"] == settings.JWT_ISSUER


def test_token_exchange_stays_lean(client, api_client, authorize, exchange, django_assert_max_num_queries):
    exchange(api_client, authorize(api_client))  # records last_used_at, which then stays fresh for minutes
    code = authorize(api_client)

    # Client and code reads, the conditional UPDATE, the token and audit INSERTs, and the transaction bounds.
    with django_assert_max_num_queries(7):
        response = exchange(api_client, code)

    assert response.status_code == 200
