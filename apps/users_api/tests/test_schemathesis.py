"""Property-based run of the Users and Groups API against its own OpenAPI schema (schemathesis).

Every operation is called, in-process through the real WSGI stack, with schema-valid and schema-invalid
inputs and with a generic token (of a client with ``users:write``, so that writes really happen) and a user token
of a company admin. Every response must be documented and match the schema, no response may be a 5xx, and
invalid inputs must be refused with a 4xx. Generation is derandomized, so a run is repeatable.
"""

import os

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from tests.factories import GroupFactory, UserFactory

# The OAuth2 endpoints are documented in the same schema but tested on their own (apps/oauth).
FUZZED_PATHS = r"^/api/(Users/|ListUsers$|Groups/)"
# Modest and derandomized for CI; a deeper, random local run: SCHEMATHESIS_EXAMPLES=200 SCHEMATHESIS_RANDOM=1.
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "20"))
DERANDOMIZE = os.environ.get("SCHEMATHESIS_RANDOM") != "1"


@pytest.fixture
def served_schema(client) -> dict:
    # Fetched before ``wsgi_app`` turns connection closing off: the test client turns it back on after each call.
    return client.get("/api/schema").json()


@pytest.fixture
def wsgi_app(served_schema):
    """The project's WSGI application, sharing the test's database connection and transaction.

    A WSGI server closes "old" database connections around each request; inside a test that would drop the
    transaction holding the fixtures, so (like Django's test client) the run turns that off meanwhile.
    """
    # For every sender, and for the WSGI handler alone (where airisk/asgi.py leaves request_started's receivers once
    # it has been imported by an ASGI test): each registration found is restored afterwards.
    found = [
        (signal, sender)
        for signal in (request_started, request_finished)
        for sender in (None, WSGIHandler)
        if signal.disconnect(close_old_connections, sender=sender)
    ]
    try:
        yield get_wsgi_application()
    finally:
        for signal, sender in found:
            signal.connect(close_old_connections, sender=sender)


def load_schema(raw: dict, app, token: str):
    """The served schema, limited to the fuzzed paths, calling ``app`` with ``token`` as the bearer token."""
    (scheme,) = [name for name, s in raw["components"]["securitySchemes"].items() if s.get("scheme") == "bearer"]
    config = schemathesis.Config.from_dict(
        {"generation": {"deterministic": True}, "auth": {"openapi": {scheme: {"bearer": token}}}}
    )
    loaded = schemathesis.openapi.from_dict(raw, config=config).include(path_regex=FUZZED_PATHS)
    loaded.app = app
    return loaded


@pytest.fixture
def populated(company, admin_user, plain_user, group):
    """Something to find: a second admin (so deletions are not all refused), users and groups."""
    UserFactory(company=company, roles=["admin"])
    GroupFactory(company=company, name="Audit").members.add(plain_user)
    group.members.add(admin_user)


def run_operation(operation, mode: GenerationMode) -> set[int]:
    """Call the operation with up to MAX_EXAMPLES generated requests; the statuses seen."""
    statuses: set[int] = set()

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=DERANDOMIZE,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def call(case):
        statuses.add(case.call_and_validate().status_code)

    call()
    return statuses


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
@pytest.mark.parametrize("token_fixture", ["manager_token", "admin_token"])
def test_api_conforms_to_its_schema(served_schema, wsgi_app, populated, request, mode, token_fixture):
    api_schema = load_schema(served_schema, wsgi_app, request.getfixturevalue(token_fixture))
    operations = [result.ok() for result in api_schema.get_all_operations()]

    seen = {operation.label: run_operation(operation, mode) for operation in operations}

    assert len(seen) == 10
    assert all(status < 500 for statuses in seen.values() for status in statuses)
    if mode == GenerationMode.POSITIVE:
        # The token was used (nothing was refused as unauthenticated) and the calls did real work.
        assert 401 not in set().union(*seen.values())
        for label in ("GET /api/Users/ListUsers", "GET /api/Groups/ListGroups", "POST /api/Groups/CreateGroup"):
            assert 200 in seen[label] or 201 in seen[label], (label, seen[label])
        assert 201 in seen["POST /api/Users/CreateUser"], seen["POST /api/Users/CreateUser"]
    else:
        assert 400 in set().union(*seen.values())
