"""Abuse of the anonymous OAuth2 endpoints: throttled authorization, no audit row per issued code, failed
client authentications recorded once per client and minute, the caller's address behind trusted proxies,
and non-GET methods on /api/oauth2."""

import pytest
from django.test import Client

from apps.audit.models import AuditEvent
from apps.oauth.models import AuthorizationCode
from tests.factories import APIUserFactory

from .assertions import TRACE_ID
from .conftest import REDIRECT_URI

PROBLEM = "application/problem+json; charset=utf-8"


def authorize_from(client, api_client, ip: str = "127.0.0.1", **headers):
    query = {"client_id": api_client.client_id, "redirect_uri": REDIRECT_URI}
    return client.get("/api/oauth2", query, REMOTE_ADDR=ip, headers=headers)


def wrong_secret(client, client_id: str, ip: str = "127.0.0.1", **headers):
    body = {"client_id": client_id, "client_secret": "wrong", "code": "c"}
    return client.post("/api/oauth2/Token", body, content_type="application/json", REMOTE_ADDR=ip, headers=headers)


def assert_too_many(response, period: int) -> None:
    assert response.status_code == 429
    assert response["Content-Type"] == PROBLEM
    assert 1 <= int(response["Retry-After"]) <= period
    assert TRACE_ID.match(response.json()["traceId"])


# throttling the authorization endpoint


def test_authorize_throttles_per_ip_with_retry_after(client, api_client, settings):
    settings.OAUTH_AUTHORIZE_RATE_PER_IP = "3/min"

    statuses = [authorize_from(client, api_client).status_code for _ in range(3)]
    limited = authorize_from(client, api_client)

    assert statuses == [302, 302, 302]
    assert_too_many(limited, 60)
    assert AuthorizationCode.objects.count() == 3
    assert authorize_from(client, api_client, ip="10.0.0.9").status_code == 302


def test_authorize_per_ip_limit_counts_requests_for_unknown_clients_too(client, api_client, settings):
    settings.OAUTH_AUTHORIZE_RATE_PER_IP = "2/min"
    stranger = {"client_id": "made-up", "redirect_uri": REDIRECT_URI}

    statuses = [client.get("/api/oauth2", stranger).status_code for _ in range(2)]

    assert statuses == [401, 401]
    assert_too_many(authorize_from(client, api_client), 60)


def test_authorize_throttles_per_client_across_addresses(client, api_client, company, settings):
    settings.OAUTH_AUTHORIZE_RATE_PER_CLIENT = "2/hour"
    other = APIUserFactory(company=company, redirect_uris=REDIRECT_URI)

    statuses = [authorize_from(client, api_client, ip=f"10.0.0.{n}").status_code for n in range(1, 3)]
    limited = authorize_from(client, api_client, ip="10.0.0.3")

    assert statuses == [302, 302]
    assert_too_many(limited, 3600)
    assert authorize_from(client, other, ip="10.0.0.3").status_code == 302


def test_authorize_rates_default_to_300_per_ip_and_600_per_client_a_minute(settings):
    assert settings.OAUTH_AUTHORIZE_RATE_PER_IP == "300/min"
    assert settings.OAUTH_AUTHORIZE_RATE_PER_CLIENT == "600/min"


# audit volume


def test_issued_codes_write_no_audit_rows(client, api_client):
    for _ in range(20):
        assert authorize_from(client, api_client).status_code == 302

    assert AuthorizationCode.objects.count() == 20
    assert AuditEvent.objects.count() == 0


def test_refused_authorizations_are_still_audited(client, api_client):
    client.get("/api/oauth2", {"client_id": api_client.client_id, "redirect_uri": "https://evil.example/cb"})

    event = AuditEvent.objects.get(action="code.refused")
    assert event.outcome == "failure" and event.client == api_client


def test_failed_client_authentication_is_recorded_once_per_client_and_minute(client, api_client, company):
    other = APIUserFactory(company=company)
    for _ in range(5):
        assert wrong_secret(client, api_client.client_id).status_code == 401
    for _ in range(3):
        wrong_secret(client, other.client_id)
    for n in range(4):
        wrong_secret(client, f"made-up-{n}")

    events = AuditEvent.objects.filter(action="client.auth_failed").order_by("id")
    assert [(e.client, e.outcome) for e in events] == [(api_client, "failure"), (other, "failure"), (None, "failure")]
    assert events[2].detail == {"reason": "unknown client_id"}


def test_failed_client_authentication_is_recorded_again_in_the_next_window(client, api_client):
    from django.core.cache import cache

    wrong_secret(client, api_client.client_id)
    cache.clear()  # what the end of the minute does to the marker
    wrong_secret(client, api_client.client_id)

    assert AuditEvent.objects.filter(action="client.auth_failed").count() == 2


# the caller's address behind proxies


def test_without_trusted_proxies_a_forged_forwarded_for_does_not_escape_the_ip_limit(client, api_client, settings):
    settings.OAUTH_AUTHORIZE_RATE_PER_IP = "2/min"

    statuses = [authorize_from(client, api_client, X_Forwarded_For=f"198.51.100.{n}").status_code for n in range(3)]

    assert statuses == [302, 302, 429]


def test_behind_a_trusted_proxy_callers_are_limited_separately(client, api_client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.OAUTH_AUTHORIZE_RATE_PER_IP = "1/min"

    first = authorize_from(client, api_client, ip="10.0.0.1", X_Forwarded_For="198.51.100.1")
    second = authorize_from(client, api_client, ip="10.0.0.1", X_Forwarded_For="198.51.100.2")
    # A caller who prepends addresses to its header is still counted by the address the proxy saw.
    spoofed = authorize_from(client, api_client, ip="10.0.0.1", X_Forwarded_For="203.0.113.5, 198.51.100.1")

    assert (first.status_code, second.status_code) == (302, 302)
    assert spoofed.status_code == 429


def test_behind_a_trusted_proxy_the_audit_log_records_the_callers_address(client, api_client, settings):
    settings.TRUSTED_PROXY_COUNT = 1

    wrong_secret(client, api_client.client_id, ip="10.0.0.1", X_Forwarded_For="6.6.6.6, 198.51.100.7")

    assert AuditEvent.objects.get(action="client.auth_failed").ip == "198.51.100.7"


def test_without_trusted_proxies_the_audit_log_records_the_peer(client, api_client, settings):
    settings.TRUSTED_PROXY_COUNT = 0

    wrong_secret(client, api_client.client_id, ip="10.0.0.1", X_Forwarded_For="198.51.100.7")

    assert AuditEvent.objects.get(action="client.auth_failed").ip == "10.0.0.1"


# methods other than GET


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("path", ["/api/oauth2", "/.well-known/oauth-authorization-server"])
def test_other_methods_are_405_problems_even_with_csrf_checks(db, method, path):
    browser = Client(enforce_csrf_checks=True)

    response = getattr(browser, method)(path, "client_id=x", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 405
    assert response["Content-Type"] == PROBLEM
    assert response["Allow"] == "GET"
    assert response.json()["status"] == 405
