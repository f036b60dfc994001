"""Shared fixtures: two companies, their people, API clients and tokens.

Company A is the caller's company in most tests; company B (``other_*``) exists so that every test can
check that A's credentials never see B's data.
"""

import pytest
from asgiref.sync import SyncToAsync
from django.core.cache import cache

from apps.oauth.services import access_token_issue
from tests.factories import APIUserFactory, CompanyFactory, GroupFactory, UserFactory


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Rate-limit counters and audit de-duplication markers live in the process-wide cache: every test
    # starts without them, or the suite's own requests from 127.0.0.1 would add up to a 429.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def company(db):
    return CompanyFactory(name="Acme", slug="acme")


@pytest.fixture
def other_company(db):
    return CompanyFactory(name="Globex", slug="globex")


@pytest.fixture
def admin_user(company):
    return UserFactory(company=company, email="admin@acme.example", roles=["admin", "user"])


@pytest.fixture
def plain_user(company):
    return UserFactory(company=company, email="user@acme.example", roles=["user"])


@pytest.fixture
def other_user(other_company):
    return UserFactory(company=other_company, email="user@globex.example", roles=["user"])


@pytest.fixture
def group(company):
    return GroupFactory(company=company, name="Engineering")


@pytest.fixture
def other_group(other_company):
    return GroupFactory(company=other_company, name="Engineering")


@pytest.fixture
def api_client(company):
    """Company A's API client (APIUser); ``api_client.plain_secret`` holds its secret."""
    return APIUserFactory(company=company, name="Acme integration")


@pytest.fixture
def other_api_client(other_company):
    return APIUserFactory(company=other_company, name="Globex integration")


@pytest.fixture
def generic_token(api_client):
    return access_token_issue(client=api_client, user=None)[1]


@pytest.fixture
def user_token(api_client, plain_user):
    return access_token_issue(client=api_client, user=plain_user)[1]


@pytest.fixture
def admin_token(api_client, admin_user):
    return access_token_issue(client=api_client, user=admin_user)[1]


@pytest.fixture
def other_generic_token(other_api_client):
    return access_token_issue(client=other_api_client, user=None)[1]


def pytest_report_header(config) -> str:
    """Say which database and cache the suite runs on (CI runs it on PostgreSQL and on SQLite)."""
    from django.conf import settings

    return (
        f"AIRisk database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}"
        f" ({settings.DATABASES['default']['NAME']}), cache: {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}"
    )


@pytest.fixture
def sync_to_async_calls(monkeypatch):
    """What each sync_to_async call in the process runs (a live server runs in a thread of it), as a repr: a
    middleware's hook names its class; a function wrapped by another names both."""
    seen: list[str] = []
    original = SyncToAsync.__call__

    async def recording(self, *args, **kwargs):
        seen.append(f"{self.func!r} {getattr(self.func, '__wrapped__', '')!r}")
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", recording)
    return seen
