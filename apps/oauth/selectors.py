"""Reads of API clients and tokens.

A client is found by its ``client_id`` without a company: the client id *is* the credential that decides
the company (DESIGN.md), so it cannot be scoped by one beforehand.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from apps.accounts.models import ApplicationUser
from apps.accounts.selectors import get_user_for_company
from apps.companies.models import Company
from apps.oauth import crypto
from apps.oauth.models import AccessToken, APIUser

# Compared against when the client id is unknown, so that an unknown client and a wrong secret take the
# same time (no probing of client ids by timing either).
_UNKNOWN_CLIENT_HASH = "0" * 64


def api_client_get_by_client_id(client_id: str) -> APIUser | None:
    """The client with this client id, with its company (for the active checks), or None."""
    # get(), not first(): client_id is unique, and the token endpoint's hot path needs no ORDER BY.
    try:
        return APIUser.objects.select_related("company").get(client_id=client_id)
    except APIUser.DoesNotExist:
        return None


def api_client_usable(client: APIUser | None) -> bool:
    """May this client get codes and tokens at all? Not when it or its company is inactive."""
    return client is not None and client.is_active and client.company.is_active


def api_client_authenticate(*, client_id: str, client_secret: str) -> APIUser | None:
    """The usable client whose secret matches, or None. Unknown client, wrong secret and inactive client or
    company are one answer."""
    client = api_client_get_by_client_id(client_id)
    matches = crypto.secret_matches(client_secret, client.secret_hash if client else _UNKNOWN_CLIENT_HASH)
    return client if matches and api_client_usable(client) else None


def active_user_for_company(company: Company, userid: str) -> ApplicationUser | None:
    """The company's active user with this public id, or None (also for another company's user)."""
    try:
        user = get_user_for_company(company, userid)
    except Http404:
        return None
    return user if user.is_active else None


def access_token_for_client_company(*, client: APIUser, jti: str) -> AccessToken | None:
    """A token of the client's company by ``jti``, with what introspection reports; None for any other."""
    try:
        return AccessToken.objects.for_company(client.company).select_related("client", "company", "user").get(jti=jti)
    except AccessToken.DoesNotExist:
        return None


def access_tokens_of_client(client: APIUser) -> QuerySet[AccessToken]:
    return AccessToken.objects.for_company(client.company).filter(client=client)
