"""The data migration from the ``manage_users`` switch to named grants: existing clients keep today's behaviour."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("oauth", "0001_initial")]
AFTER = [("oauth", "0002_client_grants")]


def migrate_to(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def old_apps(transactional_db):
    apps = migrate_to(BEFORE)
    yield apps
    migrate_to(MigrationExecutor(connection).loader.graph.leaf_nodes())


def old_client(apps, company, name, manage_users):
    return apps.get_model("oauth", "APIUser").objects.create(
        company=company,
        name=name,
        client_id=f"id-{name}",
        secret_hash="0" * 64,
        redirect_uris="https://localhost/cb",
        manage_users=manage_users,
    )


def test_manage_users_becomes_users_write_and_every_client_gets_the_defaults(old_apps):
    company = old_apps.get_model("companies", "Company").objects.create(name="Acme", slug="acme")
    old_client(old_apps, company, "writer", True)
    old_client(old_apps, company, "reader", False)

    new_apps = migrate_to(AFTER)

    grants = dict(new_apps.get_model("oauth", "APIUser").objects.values_list("name", "grants"))
    assert grants == {
        "writer": ["users:read", "users:write", "chat", "agents:read"],
        "reader": ["users:read", "chat", "agents:read"],
    }


def test_the_migration_reverses_to_manage_users(old_apps):
    company = old_apps.get_model("companies", "Company").objects.create(name="Acme", slug="acme")
    old_client(old_apps, company, "writer", True)
    old_client(old_apps, company, "reader", False)
    migrate_to(AFTER)

    reverted = migrate_to(BEFORE)

    flags = dict(reverted.get_model("oauth", "APIUser").objects.values_list("name", "manage_users"))
    assert flags == {"writer": True, "reader": False}
