"""GET /api/oauth2: a 302 with a single-use code, or the published error responses (never a redirect)."""

from urllib.parse import parse_qs, urlsplit

import pytest

from apps.audit.models import AuditEvent
from apps.oauth import crypto
from apps.oauth.models import AuthorizationCode
from apps.oauth.services import pkce_s256
from tests.factories import APIUserFactory, UserFactory

from .assertions import assert_published_401, assert_text_reason
from .conftest import REDIRECT_URI, code_from

CHALLENGE = pkce_s256("v" * 43)


def get(client, **params):
    return client.get("/api/oauth2", params)


def assert_reason(response, reason):
    assert_text_reason(response, reason)
    assert not response.has_header("Location")  # an error is never a redirect


def test_authorize_redirects_to_the_registered_uri_with_a_single_use_code(client, api_client):
    response = get(client, client_id=api_client.client_id, redirect_uri=REDIRECT_URI)

    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(REDIRECT_URI + "?code=")
    code = code_from(location)
    assert len(code) >= 43 and set(parse_qs(urlsplit(location).query)) == {"code"}
    row = AuthorizationCode.objects.get(client=api_client)
    assert row.code_hash == crypto.hash_secret(code) and code not in row.code_hash
    assert row.user is None and row.used_at is None and row.redirect_uri == REDIRECT_URI
    assert (row.expires_at - row.created).total_seconds() == 60
    assert response["Cache-Control"] == "no-store"


def test_authorize_passes_state_back_unchanged(client, api_client):
    state = "a b&c=d/é?"

    response = get(client, client_id=api_client.client_id, redirect_uri=REDIRECT_URI, state=state)

    assert parse_qs(urlsplit(response["Location"]).query)["state"] == [state]


def test_authorize_keeps_a_query_already_in_the_registered_uri(client, company):
    registered = "https://app.example.com/cb?tenant=7"
    api_client = APIUserFactory(company=company, redirect_uris=f"https://localhost/callback, {registered}")

    response = get(client, client_id=api_client.client_id, redirect_uri=registered, state="s1")

    location = response["Location"]
    assert location.startswith(registered + "&code=")
    assert parse_qs(urlsplit(location).query)["tenant"] == ["7"]
    assert parse_qs(urlsplit(location).query)["state"] == ["s1"]


def test_authorize_accepts_response_type_code_and_ignores_unknown_parameters(client, api_client):
    response = get(
        client, client_id=api_client.client_id, redirect_uri=REDIRECT_URI, response_type="code", scope="x", foo="1"
    )

    assert response.status_code == 302


def test_authorize_route_matches_in_any_case(client, api_client):
    response = client.get("/API/OAuth2", {"client_id": api_client.client_id, "redirect_uri": REDIRECT_URI})

    assert response.status_code == 302


def test_authorize_binds_the_code_to_an_active_user_of_the_company(client, api_client, plain_user):
    get(client, client_id=api_client.client_id, redirect_uri=REDIRECT_URI, userid=plain_user.userid)

    row = AuthorizationCode.objects.get(client=api_client)
    assert (row.company, row.client, row.user) == (api_client.company, api_client, plain_user)


def test_authorize_writes_no_audit_event_for_an_issued_code(client, api_client, plain_user):
    # Anyone may ask for codes: an event per code let 700 anonymous requests write 700 rows. The code row
    # is the record of issuance; the exchange (token.issued) and every refusal (code.refused) are audited.
    for _ in range(3):
        get(client, client_id=api_client.client_id, redirect_uri=REDIRECT_URI, userid=plain_user.userid)

    assert AuthorizationCode.objects.filter(client=api_client).count() == 3
    assert not AuditEvent.objects.exists()


def test_authorize_stores_the_pkce_challenge(client, api_client):
    get(
        client,
        client_id=api_client.client_id,
        redirect_uri=REDIRECT_URI,
        code_challenge=CHALLENGE,
        code_challenge_method="S256",
    )

    row = AuthorizationCode.objects.get(client=api_client)
    assert (row.code_challenge, row.code_challenge_method) == (CHALLENGE, "S256")


def test_authorize_without_client_id_is_invalid_client_id(client, api_client):
    assert_reason(get(client, redirect_uri=REDIRECT_URI), "Invalid client_id")


@pytest.mark.parametrize("redirect_uri", [None, "https://evil.example/callback"])
def test_authorize_with_missing_or_unregistered_redirect_uri_never_redirects(client, api_client, redirect_uri):
    params = {"client_id": api_client.client_id}
    if redirect_uri:
        params["redirect_uri"] = redirect_uri

    assert_reason(get(client, **params), "Invalid redirect_uri")
    assert not AuthorizationCode.objects.exists()


@pytest.mark.parametrize(
    "trick",
    [
        "https://localhost/callback/",  # trailing slash
        "https://LOCALHOST/callback",  # case change in the host
        "https://localhost/Callback",  # case change in the path
        "HTTPS://localhost/callback",  # case change in the scheme
        "https://localhost:443/callback",  # added (even default) port
        "https://localhost:8443/callback",  # added port
        "https://localhost/callback/more",  # added path
        "https://localhost/callback?x=1",  # added query
        "http://localhost/callback",  # http instead of https
        "https://localhost@evil.example/callback",  # user@host confusion
        "https://evil.example@localhost/callback",  # user info before the registered host
        "https://localhost/callback/%2e%2e/admin",  # encoded ..
        "https://localhost/callback/../callback",  # plain ..
        "https://localhost/callback#frag",  # fragment
        "javascript:alert(1)//https://localhost/callback",  # javascript:
        " https://localhost/callback",  # whitespace
        "https://localhost/callback%20",  # encoded whitespace
        "//localhost/callback",  # scheme-relative
    ],
)
def test_authorize_refuses_redirect_uri_tricks(client, api_client, trick):
    response = get(client, client_id=api_client.client_id, redirect_uri=trick)

    assert_reason(response, "Invalid redirect_uri")
    assert not AuthorizationCode.objects.exists()


def test_authorize_refuses_plain_http_for_a_non_loopback_host_even_with_https_registered(client, company):
    api_client = APIUserFactory(company=company, redirect_uris="https://app.example.com/cb")

    response = get(client, client_id=api_client.client_id, redirect_uri="http://app.example.com/cb")

    assert_reason(response, "Invalid redirect_uri")


def test_authorize_accepts_plain_http_registered_for_loopback(client, company):
    api_client = APIUserFactory(company=company, redirect_uris="http://127.0.0.1:8765/cb")

    response = get(client, client_id=api_client.client_id, redirect_uri="http://127.0.0.1:8765/cb")

    assert response.status_code == 302 and response["Location"].startswith("http://127.0.0.1:8765/cb?code=")


def test_authorize_with_unknown_client_is_401_problem(client, api_client):
    response = get(client, client_id="nope", redirect_uri=REDIRECT_URI)

    assert_published_401(response)


def test_authorize_with_inactive_client_is_401_problem(client, company):
    api_client = APIUserFactory(company=company, is_active=False)

    assert_published_401(get(client, client_id=api_client.client_id, redirect_uri=REDIRECT_URI))
    assert not AuthorizationCode.objects.exists()


def test_authorize_for_a_client_of_an_inactive_company_is_401_problem(client, api_client, company):
    company.is_active = False
    company.save()

    assert_published_401(get(client, client_id=api_client.client_id, redirect_uri=REDIRECT_URI))


@pytest.mark.parametrize("response_type", ["token", "id_token", "code token", "CODE"])
def test_authorize_refuses_other_response_types(client, api_client, response_type):
    response = get(client, client_id=api_client.client_id, redirect_uri=REDIRECT_URI, response_type=response_type)

    assert_reason(response, "Invalid response_type")


def test_authorize_refuses_userid_of_another_company_and_audits_it(client, api_client, other_user):
    response = get(client, client_id=api_client.client_id, redirect_uri=REDIRECT_URI, userid=other_user.userid)

    assert_reason(response, "Invalid userid")
    assert not AuthorizationCode.objects.exists()
    event = AuditEvent.objects.get(action="code.refused")
    assert event.company == api_client.company and event.outcome == "failure"
    assert other_user.userid not in str(event.detail)


@pytest.mark.parametrize("userid", ["user_42", "00000000-0000-0000-0000-000000000000"])
def test_authorize_refuses_unknown_userid(client, api_client, userid):
    assert_reason(
        get(client, client_id=api_client.client_id, redirect_uri=REDIRECT_URI, userid=userid), "Invalid userid"
    )


def test_authorize_refuses_an_inactive_user(client, api_client, company):
    user = UserFactory(company=company, is_active=False)

    assert_reason(
        get(client, client_id=api_client.client_id, redirect_uri=REDIRECT_URI, userid=user.userid), "Invalid userid"
    )


def test_authorize_refuses_userid_for_a_client_without_user_tokens(client, company, plain_user):
    api_client = APIUserFactory(company=company, allow_user_tokens=False)

    response = get(client, client_id=api_client.client_id, redirect_uri=REDIRECT_URI, userid=plain_user.userid)

    assert_reason(response, "Invalid userid")
    assert get(client, client_id=api_client.client_id, redirect_uri=REDIRECT_URI).status_code == 302


@pytest.mark.parametrize(
    "pkce",
    [
        {"code_challenge": CHALLENGE, "code_challenge_method": "plain"},
        {"code_challenge": CHALLENGE},  # no method means plain (RFC 7636 §4.3)
        {"code_challenge": CHALLENGE[:-1], "code_challenge_method": "S256"},  # too short
        {"code_challenge": CHALLENGE[:-1] + "=", "code_challenge_method": "S256"},  # not base64url
        {"code_challenge_method": "S256"},  # method without challenge
        {"code_challenge": CHALLENGE + "\n", "code_challenge_method": "S256"},  # trailing newline
    ],
)
def test_authorize_refuses_plain_or_malformed_pkce(client, api_client, pkce):
    response = get(client, client_id=api_client.client_id, redirect_uri=REDIRECT_URI, **pkce)

    assert_reason(response, "Invalid code_challenge")


def test_authorize_requires_a_challenge_when_the_client_requires_pkce(client, company):
    api_client = APIUserFactory(company=company, require_pkce=True)

    assert_reason(get(client, client_id=api_client.client_id, redirect_uri=REDIRECT_URI), "Invalid code_challenge")
    ok = get(
        client,
        client_id=api_client.client_id,
        redirect_uri=REDIRECT_URI,
        code_challenge=CHALLENGE,
        code_challenge_method="S256",
    )
    assert ok.status_code == 302


def test_authorize_refuses_a_repeated_parameter(client, api_client):
    query = f"client_id={api_client.client_id}&redirect_uri={REDIRECT_URI}&redirect_uri=https://evil.example/cb"

    response = client.get(f"/api/oauth2?{query}")

    assert_reason(response, "Invalid redirect_uri: the parameter is repeated")


def test_authorize_refuses_a_nul_byte(client, api_client):
    response = client.get(f"/api/oauth2?client_id={api_client.client_id}%00&redirect_uri={REDIRECT_URI}")

    assert_reason(response, "Invalid client_id: contains a NUL byte")


def test_authorize_only_answers_get(client, api_client):
    response = client.post("/api/oauth2", {"client_id": api_client.client_id, "redirect_uri": REDIRECT_URI})

    assert response.status_code == 405 and response["Allow"] == "GET"
