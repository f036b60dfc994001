"""Fixtures of the Users and Groups API tests: clients with and without the ``users:write`` grant, and company B's
admin."""

import pytest

from apps.oauth.grants import DEFAULT_GRANTS, USERS_WRITE, normalize_grants
from apps.oauth.services import access_token_issue
from tests.factories import APIUserFactory, UserFactory

WRITER_GRANTS = normalize_grants([*DEFAULT_GRANTS, USERS_WRITE])


@pytest.fixture
def manager_client(company):
    """Company A's client whose generic tokens may write users and groups."""
    return APIUserFactory(company=company, name="Acme HR sync", grants=WRITER_GRANTS)


@pytest.fixture
def manager_token(manager_client):
    return access_token_issue(client=manager_client, user=None)[1]


@pytest.fixture
def admin_token(manager_client, admin_user):
    """Company A's admin's token from the client that holds ``users:write``: being an admin is not enough on its
    own, the client must be allowed to write too (the root conftest's ``admin_token`` comes from a client without
    ``users:write``)."""
    return access_token_issue(client=manager_client, user=admin_user)[1]


@pytest.fixture
def manager_client_user_token(manager_client, plain_user):
    """A non-admin user's token from a client that has ``users:write``: the user still may not write."""
    return access_token_issue(client=manager_client, user=plain_user)[1]


@pytest.fixture
def other_admin_user(other_company):
    return UserFactory(company=other_company, email="admin@globex.example", roles=["admin", "user"])


@pytest.fixture
def other_manager_token(other_company):
    client = APIUserFactory(company=other_company, name="Globex HR sync", grants=WRITER_GRANTS)
    return access_token_issue(client=client, user=None)[1]
