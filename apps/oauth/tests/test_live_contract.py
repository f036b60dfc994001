"""The published examples, run as written against a running server, with credentials from create_api_client.

Every request here crosses a real socket (pytest-django's live server, the ``requests`` library), exactly as
an integration would send it.
"""

import json
import re
import secrets
from io import StringIO
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from django.core.management import call_command

from apps.oauth.tests.assertions import assert_published_401, assert_text_reason
from tests.factories import CompanyFactory, UserFactory

REDIRECT_URI = "https://localhost/callback"


@pytest.fixture
def credentials(transactional_db):
    CompanyFactory(slug="acme", name="Acme")
    out = StringIO()
    call_command(
        "create_api_client", "--company", "acme", "--name", "Docs example", "--redirect-uris", REDIRECT_URI, "--json",
        stdout=out,
    )  # fmt: skip
    return json.loads(out.getvalue())


@pytest.fixture
def user_42(credentials):
    from apps.companies.models import Company

    return UserFactory(company=Company.objects.get(slug="acme"), email="user42@acme.example")


def authorization_code(base: str, query: str) -> str:
    """Visit the authorization URL (as the browser would) and read the code from the redirect."""
    response = requests.get(f"{base}/api/oauth2?{query}", allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(f"{REDIRECT_URI}?code=")
    return parse_qs(urlsplit(location).query)["code"][0]


def assert_token_response(response):
    assert response.status_code == 200
    token_response = response.json()
    assert token_response["access_token"].count(".") == 2
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", token_response["expiration"])
    return token_response["access_token"]


def context_of(base: str, access_token: str) -> dict:
    response = requests.get(
        f"{base}/api/oauth2/me",
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        timeout=10,
    )
    assert response.status_code == 200
    return response.json()


def test_spec_generic_token_with_curl_form_body(live_server, credentials):
    cid, secret = credentials["client_id"], credentials["client_secret"]
    code = authorization_code(live_server.url, f"client_id={cid}&redirect_uri=https%3A%2F%2Flocalhost%2Fcallback")

    # curl -X POST ".../api/oauth2/Token" -H "Content-Type: application/x-www-form-urlencoded" -d "..."
    response = requests.post(
        f"{live_server.url}/api/oauth2/Token",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        data=f"client_id={cid}&client_secret={secret}&redirect_uri=https%3A%2F%2Flocalhost%2Fcallback&code={code}",
        timeout=10,
    )

    token = assert_token_response(response)
    assert context_of(live_server.url, token)["kind"] == "generic"


def test_spec_generic_token_with_python_json_body(live_server, credentials):
    code = authorization_code(
        live_server.url, f"client_id={credentials['client_id']}&redirect_uri=https%3A%2F%2Flocalhost%2Fcallback"
    )
    token_url = f"{live_server.url}/api/oauth2/Token"
    data = {
        "client_id": credentials["client_id"],
        "client_secret": credentials["client_secret"],
        "redirect_uri": "https://localhost/callback",
        "code": code,
    }

    response = requests.post(token_url, json=data, timeout=10)
    token_response = response.json()

    assert token_response.get("access_token")
    assert_token_response(response)


def test_spec_user_specific_token_with_curl_form_body(live_server, credentials, user_42):
    cid, secret = credentials["client_id"], credentials["client_secret"]
    code = authorization_code(
        live_server.url,
        f"client_id={cid}&redirect_uri=https%3A%2F%2Flocalhost%2Fcallback&userid={user_42.userid}",
    )

    response = requests.post(
        f"{live_server.url}/api/oauth2/Token",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        data=(
            f"client_id={cid}&client_secret={secret}&redirect_uri=https%3A%2F%2Flocalhost%2Fcallback"
            f"&code={code}&userid={user_42.userid}"
        ),
        timeout=10,
    )

    context = context_of(live_server.url, assert_token_response(response))
    assert (context["kind"], context["userid"]) == ("user", user_42.userid)


def test_spec_user_specific_token_with_python_json_body(live_server, credentials, user_42):
    code = authorization_code(
        live_server.url,
        f"client_id={credentials['client_id']}&redirect_uri={quote(REDIRECT_URI, safe='')}&userid={user_42.userid}",
    )
    data = {
        "client_id": credentials["client_id"],
        "client_secret": credentials["client_secret"],
        "redirect_uri": REDIRECT_URI,
        "code": code,
        "userid": user_42.userid,
    }

    response = requests.post(f"{live_server.url}/api/oauth2/Token", json=data, timeout=10)

    assert context_of(live_server.url, assert_token_response(response))["userid"] == user_42.userid


def test_deployed_mobile_client_flow(live_server, credentials, user_42):
    cid = credentials["client_id"]
    code = authorization_code(
        live_server.url,
        f"client_id={cid}&redirect_uri={quote(REDIRECT_URI, safe='')}&response_type=code&userid={user_42.userid}",
    )

    response = requests.post(
        f"{live_server.url}/api/oauth2/Token",
        data={"client_id": cid, "client_secret": credentials["client_secret"], "code": code},
        timeout=10,
    )

    assert context_of(live_server.url, assert_token_response(response))["userid"] == user_42.userid


def test_spec_authorize_error_unknown_client_id(live_server, credentials):
    response = requests.get(
        f"{live_server.url}/api/oauth2?client_id=abc123&redirect_uri=https%3A%2F%2Flocalhost%2Fcallback",
        allow_redirects=False,
        timeout=10,
    )

    assert_published_401(response)


def test_spec_token_error_missing_client_id(live_server, credentials):
    data = {"client_secret": credentials["client_secret"], "redirect_uri": REDIRECT_URI, "code": "AUTH_CODE_HERE"}

    assert_text_reason(requests.post(f"{live_server.url}/api/oauth2/Token", data=data, timeout=10), "Invalid client_id")


def test_spec_token_error_invalid_code(live_server, credentials):
    data = {**credentials, "redirect_uri": REDIRECT_URI, "code": "SplxlOBeZQQYbYS6WxSbIA"}
    del data["company"], data["redirect_uris"]

    assert_text_reason(requests.post(f"{live_server.url}/api/oauth2/Token", data=data, timeout=10), "Invalid Code")


def test_spec_token_error_unknown_client_id(live_server, credentials):
    data = {"client_id": "YOUR_client_id", "client_secret": "YOUR_client_secret", "code": "AUTH_CODE_HERE"}

    # resp = requests.post(OAUTH_TOKEN_ENDPOINT, data=data); resp.json()
    resp = requests.post(f"{live_server.url}/api/oauth2/Token", data=data, timeout=10)

    assert_published_401(resp)


def test_spec_token_error_missing_client_secret(live_server, credentials):
    data = {"client_id": credentials["client_id"], "redirect_uri": REDIRECT_URI, "code": "AUTH_CODE_HERE"}

    assert_text_reason(
        requests.post(f"{live_server.url}/api/oauth2/Token", data=data, timeout=10), "Invalid client_secret"
    )


def test_spec_token_error_invalid_client_secret(live_server, credentials):
    data = {"client_id": credentials["client_id"], "client_secret": "wrong", "code": "AUTH_CODE_HERE"}

    assert_published_401(requests.post(f"{live_server.url}/api/oauth2/Token", data=data, timeout=10))


def test_spec_expired_or_invalid_token_is_401(live_server, credentials):
    response = requests.get(
        f"{live_server.url}/api/oauth2/me", headers={"Authorization": "Bearer AAABBBCCC111222333444"}, timeout=10
    )

    assert response.status_code == 401 and response.json()["status"] == 401


def test_authlib_completes_the_flow_with_state_and_pkce(live_server, credentials):
    session = OAuth2Session(
        client_id=credentials["client_id"],
        client_secret=credentials["client_secret"],
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
    )
    verifier = generate_token(64)
    state = secrets.token_urlsafe(16)
    url, state = session.create_authorization_url(f"{live_server.url}/api/oauth2", state=state, code_verifier=verifier)
    redirect = requests.get(url, allow_redirects=False, timeout=10)
    assert parse_qs(urlsplit(redirect.headers["Location"]).query)["state"] == [state]

    token = session.fetch_token(
        f"{live_server.url}/api/oauth2/Token",
        authorization_response=redirect.headers["Location"],
        code_verifier=verifier,
    )
    response = session.get(f"{live_server.url}/api/oauth2/me", timeout=10)
    session.close()

    assert token["token_type"] == "Bearer" and token["expires_in"] == 3600
    assert response.status_code == 200
    assert response.json()["client_id"] == credentials["client_id"]


def test_authlib_refuses_a_redirect_with_the_wrong_state(live_server, credentials):
    from authlib.oauth2.rfc6749.errors import MismatchingStateException

    session = OAuth2Session(credentials["client_id"], credentials["client_secret"], redirect_uri=REDIRECT_URI)
    url, _ = session.create_authorization_url(f"{live_server.url}/api/oauth2", state="expected")
    forged = requests.get(url.replace("state=expected", "state=forged"), allow_redirects=False, timeout=10)

    with pytest.raises(MismatchingStateException):
        session.fetch_token(
            f"{live_server.url}/api/oauth2/Token", authorization_response=forged.headers["Location"], state="expected"
        )
    session.close()
