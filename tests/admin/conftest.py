"""Fixtures of the admin screen tests: logged-in browsers (Django test clients) for each kind of person."""

import pytest
from django.test import Client

from apps.audit.models import AuditEvent
from tests.factories import UserFactory


def logged_in(user) -> Client:
    """A browser with ``user`` logged in. force_login is a test shortcut, not a person logging in: its audit
    event is dropped so that the tests of the Logs screen see only the events they make."""
    client = Client()
    client.force_login(user)
    AuditEvent.objects.filter(action="login.succeeded", user=user).delete()
    return client


@pytest.fixture
def server_admin(db):
    return UserFactory(company=None, email="root@server.example", is_superuser=True, roles=[])


@pytest.fixture
def other_admin(other_company):
    return UserFactory(company=other_company, email="admin@globex.example", roles=["admin", "user"])


@pytest.fixture
def company_admin_client(admin_user) -> Client:
    """Company A's admin, logged in."""
    return logged_in(admin_user)


@pytest.fixture
def server_admin_client(server_admin) -> Client:
    return logged_in(server_admin)
