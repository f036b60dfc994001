"""Fixtures of the Users and Groups API tests: clients with and without ``manage_users``, and company B's admin."""

import pytest

from apps.oauth.services import access_token_issue
from tests.factories import APIUserFactory, UserFactory


@pytest.fixture
def manager_client(company):
    """Company A's client whose generic tokens may write users and groups."""
    return APIUserFactory(company=company, name="Acme HR sync", manage_users=True)


@pytest.fixture
def manager_token(manager_client):
    return access_token_issue(client=manager_client, user=None)[1]


@pytest.fixture
def manager_client_user_token(manager_client, plain_user):
    """A non-admin user's token from a client that has ``manage_users``: the user still may not write."""
    return access_token_issue(client=manager_client, user=plain_user)[1]


@pytest.fixture
def other_admin_user(other_company):
    return UserFactory(company=other_company, email="admin@globex.example", roles=["admin", "user"])


@pytest.fixture
def other_manager_token(other_company):
    client = APIUserFactory(company=other_company, name="Globex HR sync", manage_users=True)
    return access_token_issue(client=client, user=None)[1]
