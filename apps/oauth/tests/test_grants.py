"""Named grants: what a client may do, narrowed by a user's roles, carried in the JWT as ``scope`` and reported by
``/api/oauth2/me`` and introspection; a grant taken from the client stops working at once."""

import re
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.audit.services import Actor
from apps.oauth.grants import (
    DEFAULT_GRANTS,
    GRANTS,
    grants_for_user,
    normalize_grants,
    roles_text,
    scope_string,
    validate_grants,
)
from apps.oauth.models import APIUser
from apps.oauth.permissions import RequiresGrant
from apps.oauth.services import access_token_issue, api_client_create, api_client_update
from apps.oauth.tests.test_revoke_introspect_metadata import introspect
from apps.oauth.tokens import encode_access_token
from tests.factories import APIUserFactory, UserFactory
from tests.helpers import bearer

ME = "/api/oauth2/me"
EVERY_GRANT = list(GRANTS)


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_the_grants_and_the_defaults_are_the_ones_the_coming_apis_use():
    assert EVERY_GRANT == [
        "users:read",
        "users:write",
        "chat",
        "agents:read",
        "agents:write",
        "scanner",
        "monitoring",
        "compliance",
        "dashboards",
    ]
    assert DEFAULT_GRANTS == ("users:read", "chat", "agents:read")
    assert all(grant.label and grant.description for grant in GRANTS.values())


@pytest.mark.parametrize(
    ("roles", "carried"),
    [
        (["user"], "users:read chat agents:read scanner"),
        (["admin"], "users:read users:write chat agents:read agents:write scanner monitoring dashboards"),
        (["admin", "user"], "users:read users:write chat agents:read agents:write scanner monitoring dashboards"),
        (["monitor", "user"], "users:read chat agents:read scanner monitoring dashboards"),
        (["compliance"], "users:read chat agents:read scanner compliance dashboards"),
        ([], "users:read chat agents:read scanner"),
    ],
)
def test_a_user_tokens_grants_are_the_clients_narrowed_by_the_users_roles(company, roles, carried):
    user = UserFactory(company=company, roles=roles)

    assert scope_string(grants_for_user(EVERY_GRANT, user)) == carried


def test_a_generic_token_carries_the_clients_grants_unnarrowed():
    assert grants_for_user(EVERY_GRANT, None) == frozenset(EVERY_GRANT)
    assert grants_for_user(["users:read", "retired:grant"], None) == frozenset({"users:read"})


def test_normalize_orders_deduplicates_and_refuses_unknown_names():
    assert normalize_grants(["chat", "users:write", "chat", "users:read"]) == ["users:read", "users:write", "chat"]
    with pytest.raises(ValidationError, match="Unknown grant 'users:admin'; known grants: users:read, "):
        normalize_grants(["users:admin"])
    with pytest.raises(ValidationError, match="list of grant names"):
        normalize_grants("users:read chat")
    with pytest.raises(ValidationError, match="Unknown grant 7"):
        normalize_grants([7])


@pytest.mark.parametrize("value", [["chat", "users:read"], ["chat", "chat"], ["nope"], "chat", None, {}, {"chat": 1}])
def test_the_model_refuses_malformed_grants(api_client, value):
    api_client.grants = value

    with pytest.raises(ValidationError) as raised:
        api_client.full_clean()
    assert "grants" in raised.value.message_dict


def test_roles_text_names_the_roles_a_grant_needs():
    assert roles_text("users:write") == "admin"
    assert roles_text("dashboards") == "admin or monitor or compliance"
    assert roles_text("chat") == "any role"


def test_requires_grant_refuses_an_unknown_grant_name_at_import_time():
    with pytest.raises(ValueError, match="Unknown grant 'users:wirte'"):
        RequiresGrant("users:wirte")


# The services


def test_a_new_client_gets_the_default_grants(company):
    client, _ = api_client_create(
        company=company, name="New", redirect_uris="https://a.example/cb", actor=Actor.system()
    )

    assert client.grants == ["users:read", "chat", "agents:read"]
    assert AuditEvent.objects.get(action="client.created").detail["grants"] == client.grants


def test_create_refuses_an_unknown_grant_and_stores_nothing(company):
    with pytest.raises(ValidationError, match="Unknown grant"):
        api_client_create(
            company=company, name="New", redirect_uris="https://a.example/cb", actor=Actor.system(), grants=["root"]
        )
    assert not APIUser.objects.exists()


def test_update_stores_the_grants_in_order_and_audits_what_changed(api_client, company):
    api_client_update(client=api_client, actor=Actor.system(), grants=["monitoring", "users:read", "users:write"])

    api_client.refresh_from_db()
    event = AuditEvent.objects.get(action="client.updated")
    assert api_client.grants == ["users:read", "users:write", "monitoring"]
    assert event.detail == {
        "changed": ["grants"],
        "grants_added": ["users:write", "monitoring"],
        "grants_removed": ["chat", "agents:read"],
    }


# The token: the JWT's scope claim, /me and introspection


def test_the_jwt_carries_the_clients_grants_as_a_space_separated_scope(company, plain_user, admin_user):
    client = APIUserFactory(company=company, grants=EVERY_GRANT)

    generic = claims_of(access_token_issue(client=client, user=None)[1])
    plain = claims_of(access_token_issue(client=client, user=plain_user)[1])
    admin = claims_of(access_token_issue(client=client, user=admin_user)[1])

    assert generic["scope"] == " ".join(EVERY_GRANT)
    assert plain["scope"] == "users:read chat agents:read scanner"
    assert "users:write" in admin["scope"].split() and "compliance" not in admin["scope"].split()


def test_the_token_endpoint_issues_the_narrowed_scope(client, company, plain_user, authorize, exchange):
    api_client = APIUserFactory(company=company, grants=EVERY_GRANT)
    code = authorize(api_client, userid=plain_user.userid)

    token = exchange(api_client, code).json()["access_token"]

    assert claims_of(token)["scope"] == "users:read chat agents:read scanner"
    assert AuditEvent.objects.get(action="token.issued").detail["scope"] == "users:read chat agents:read scanner"


def test_me_reports_the_scope_of_a_user_token(client, company):
    monitor = UserFactory(company=company, roles=["monitor", "user"])
    api_client = APIUserFactory(company=company, grants=["users:read", "users:write", "monitoring", "compliance"])
    token = access_token_issue(client=api_client, user=monitor)[1]

    assert client.get(ME, headers=bearer(token)).json()["scope"] == "users:read monitoring"


def test_me_and_introspection_report_a_grant_taken_away_at_once(client, api_client, generic_token):
    api_client_update(client=api_client, actor=Actor.system(), grants=["chat"])

    me = client.get(ME, headers=bearer(generic_token)).json()
    introspection = introspect(client, api_client, generic_token).json()

    assert me["scope"] == "chat"
    assert introspection["active"] is True and introspection["scope"] == "chat"


def test_a_client_without_grants_gets_an_empty_scope(client, company):
    api_client = APIUserFactory(company=company, grants=[])
    token = access_token_issue(client=api_client, user=None)[1]

    assert claims_of(token)["scope"] == ""
    assert client.get(ME, headers=bearer(token)).json()["scope"] == ""


def test_introspection_reports_the_narrowed_scope_of_a_user_token(client, company, api_client, plain_user):
    writer = APIUserFactory(company=company, grants=["users:read", "users:write"])
    token = access_token_issue(client=writer, user=plain_user)[1]

    body = introspect(client, api_client, token).json()

    assert body["scope"] == "users:read"


def legacy_token(api_client, user=None) -> str:
    """A token as the server issued it before grants existed: no scope claim."""
    value = access_token_issue(client=api_client, user=user)[1]
    claims = claims_of(value)
    del claims["scope"]
    return jwt.encode(claims, settings.JWT_SIGNING_KEY, algorithm="HS256", headers={"kid": settings.JWT_KEY_ID})


def test_a_token_issued_before_grants_existed_gets_the_clients_current_narrowed_grants(client, company, plain_user):
    api_client = APIUserFactory(company=company, grants=["users:read", "users:write", "chat"])

    generic = client.get(ME, headers=bearer(legacy_token(api_client))).json()
    user = client.get(ME, headers=bearer(legacy_token(api_client, plain_user))).json()

    assert generic["scope"] == "users:read users:write chat"
    assert user["scope"] == "users:read chat"


def test_a_scope_claim_that_is_not_a_string_is_an_invalid_token(client, api_client):
    row = access_token_issue(client=api_client, user=None)[0]
    now = timezone.now()
    forged = encode_access_token(
        jti=row.jti,
        client_id=api_client.client_id,
        company_slug="acme",
        userid=None,
        scope="users:read",
        issued_at=now,
        expires_at=now + timedelta(minutes=5),
    )
    claims = claims_of(forged)
    claims["scope"] = ["users:read", "users:write"]
    listed = jwt.encode(claims, settings.JWT_SIGNING_KEY, algorithm="HS256", headers={"kid": settings.JWT_KEY_ID})

    assert client.get(ME, headers=bearer(forged)).status_code == 200
    assert client.get(ME, headers=bearer(listed)).status_code == 401


def test_reading_the_grants_adds_no_query_to_bearer_authentication(
    client, company, admin_user, django_assert_max_num_queries
):
    writer = APIUserFactory(company=company, grants=EVERY_GRANT)
    token = access_token_issue(client=writer, user=admin_user)[1]

    with django_assert_max_num_queries(1):
        response = client.get(ME, headers=bearer(token))

    assert (
        response.json()["scope"] == "users:read users:write chat agents:read agents:write scanner monitoring dashboards"
    )


def test_server_metadata_lists_the_grants_as_scopes_supported(client):
    body = client.get("/.well-known/oauth-authorization-server").json()

    assert body["scopes_supported"] == EVERY_GRANT


def test_validate_grants_accepts_the_canonical_form():
    validate_grants(["users:read", "chat"])
    validate_grants([])


def test_the_grants_table_in_docs_oauth2_matches_the_code():
    docs = (Path(__file__).resolve().parents[3] / "docs" / "oauth2.md").read_text()
    rows = re.findall(r"^\| `([a-z:]+)` \| [^|]+ \| (yes|no) \|", docs, re.M)

    assert [name for name, _ in rows] == EVERY_GRANT
    assert [name for name, default in rows if default == "yes"] == list(DEFAULT_GRANTS)
