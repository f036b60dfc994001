"""The one-second memory of token rows: a busy token costs no query, and a revoked or deactivated one still fails
within one second (the memory is per process; here the changes are made as another process would: in the
database, with nothing telling this process)."""

import time

import pytest
from django.utils import timezone

from apps.accounts.models import ApplicationUser
from apps.companies.models import Company
from apps.oauth import token_cache
from apps.oauth.models import AccessToken, APIUser
from apps.oauth.services import access_token_issue
from tests.helpers import bearer, run_manage

ME = "/api/oauth2/me"


@pytest.fixture(autouse=True)
def row_memory(settings):
    settings.BEARER_ROW_MAX_AGE_SECONDS = 1
    token_cache.forget_all()
    yield
    token_cache.forget_all()


def seconds_until_refused(client, token: str, limit: float = 3.0) -> float:
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if client.get(ME, headers=bearer(token)).status_code == 401:
            return time.monotonic() - start
        time.sleep(0.05)
    return float("inf")


def test_a_token_used_again_within_a_second_costs_no_query(client, generic_token, django_assert_num_queries):
    assert client.get(ME, headers=bearer(generic_token)).status_code == 200

    with django_assert_num_queries(0):
        response = client.get(ME, headers=bearer(generic_token))

    assert response.status_code == 200


def test_the_row_is_read_again_after_a_second(client, generic_token, django_assert_num_queries):
    assert client.get(ME, headers=bearer(generic_token)).status_code == 200
    time.sleep(1.05)

    with django_assert_num_queries(1):
        client.get(ME, headers=bearer(generic_token))


def test_memory_off_reads_the_row_every_time(client, generic_token, settings, django_assert_num_queries):
    settings.BEARER_ROW_MAX_AGE_SECONDS = 0
    client.get(ME, headers=bearer(generic_token))

    with django_assert_num_queries(1):
        client.get(ME, headers=bearer(generic_token))


def revoke(**_) -> None:
    AccessToken.objects.update(revoked_at=timezone.now())


def deactivate_client(**_) -> None:
    APIUser.objects.update(is_active=False)


def deactivate_company(**_) -> None:
    Company.objects.update(is_active=False)


def deactivate_user(*, user) -> None:
    ApplicationUser.objects.filter(pk=user.pk).update(is_active=False)


def delete_user(*, user) -> None:
    ApplicationUser.objects.filter(pk=user.pk).delete()


@pytest.mark.parametrize("change", [revoke, deactivate_client, deactivate_company, deactivate_user, delete_user])
def test_a_busy_token_fails_within_one_second_of_losing_its_rights(client, plain_user, user_token, change):
    assert client.get(ME, headers=bearer(user_token)).status_code == 200  # remembered from here on

    change(user=plain_user)

    assert seconds_until_refused(client, user_token) < 1.0 + 0.2  # the polling step and one request's time


def test_a_remembered_token_still_expires_on_time(client, api_client, settings):
    settings.ACCESS_TOKEN_LIFETIME_SECONDS = 2
    _, token = access_token_issue(client=api_client, user=None)
    expires = AccessToken.objects.get().expires_at
    assert client.get(ME, headers=bearer(token)).status_code == 200

    while timezone.now() < expires:
        client.get(ME, headers=bearer(token))  # keeps the row remembered up to the last moment
        time.sleep(0.05)

    assert client.get(ME, headers=bearer(token)).status_code == 401


@pytest.mark.parametrize("value", ["2", "-1", "1.5"])
def test_startup_refuses_a_row_memory_longer_than_one_second(value):
    result = run_manage("check", env={"DEBUG": "true", "BEARER_ROW_MAX_AGE_SECONDS": value})

    assert result.returncode != 0
    assert "BEARER_ROW_MAX_AGE_SECONDS must be between 0 and 1" in result.stderr


def test_a_remembered_token_fails_once_its_key_leaves_the_ring(client, generic_token, settings):
    assert client.get(ME, headers=bearer(generic_token)).status_code == 200  # verified and remembered

    settings.JWT_KEY_ID, settings.JWT_SIGNING_KEY = "2", "n" * 64  # the old key is retired without grace

    assert client.get(ME, headers=bearer(generic_token)).status_code == 401


def test_a_forged_token_is_never_remembered(client, generic_token):
    header, payload, signature = generic_token.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"

    assert client.get(ME, headers=bearer(forged)).status_code == 401
    assert client.get(ME, headers=bearer(forged)).status_code == 401
    assert forged not in token_cache._claims
