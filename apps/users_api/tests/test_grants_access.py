"""Least privilege: a token never does more than its client's grants allow, and a user token never more than its
user's roles allow either (issue 8, "Least privilege")."""

from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from apps.accounts.models import ApplicationUser, Group
from apps.audit.services import Actor
from apps.oauth.authentication import BearerContext
from apps.oauth.grants import DEFAULT_GRANTS, USERS_READ
from apps.oauth.services import access_token_issue, api_client_update
from apps.users_api.permissions import NEEDS_ADMIN_USER, GenericOrAdminUserToken
from apps.users_api.tests.conftest import WRITER_GRANTS
from apps.users_api.tests.test_api_access import SUCCESS, WRITES, send, write_requests
from tests.factories import APIUserFactory
from tests.helpers import bearer

PROBLEM = "application/problem+json"
CLIENT_LACKS_WRITE = (
    "This token lacks the 'users:write' grant: its API client does not have it (a company admin grants it on the "
    "client's page)."
)
USER_LACKS_ROLE = (
    "This token lacks the 'users:write' grant: a user token carries it only for a user with the admin role."
)
WRITE_CHALLENGE = 'Bearer error="insufficient_scope", scope="users:write"'


@pytest.fixture
def client_with_grant(company):
    return APIUserFactory(company=company, name="With users:write", grants=WRITER_GRANTS)


@pytest.fixture
def client_without_grant(company):
    return APIUserFactory(company=company, name="Without users:write")


def nothing_written(plain_user, group) -> bool:
    return (
        ApplicationUser.objects.filter(pk=plain_user.pk).exists()
        and list(Group.objects.get(pk=group.pk).members.all()) == [plain_user]
        and not ApplicationUser.objects.filter(email="new@acme.example").exists()
        and not Group.objects.filter(name="New group").exists()
    )


# {generic, user(admin), user(plain)} x {client with users:write, client without}: what each write answers.
MATRIX = [
    ("client_with_grant", None, None),
    ("client_with_grant", "admin_user", None),
    ("client_with_grant", "plain_user", USER_LACKS_ROLE),
    ("client_without_grant", None, CLIENT_LACKS_WRITE),
    ("client_without_grant", "admin_user", CLIENT_LACKS_WRITE),
    ("client_without_grant", "plain_user", CLIENT_LACKS_WRITE),
]


@pytest.mark.parametrize("endpoint", WRITES)
@pytest.mark.parametrize(("client_fixture", "user_fixture", "refusal"), MATRIX, ids=lambda v: str(v)[:20])
def test_write_matrix_token_kind_by_client_grant(
    client, request, endpoint, client_fixture, user_fixture, refusal, admin_user, plain_user, group
):
    api_client = request.getfixturevalue(client_fixture)
    user = request.getfixturevalue(user_fixture) if user_fixture else None
    token = access_token_issue(client=api_client, user=user)[1]
    # RemoveUserFromGroup needs a membership to remove; the others do not mind it.
    group.members.add(plain_user)
    method, path, query, body = write_requests(user=plain_user, group=group)[endpoint]

    response = send(client, method, path, token=token, query=query, body=body)

    if refusal is None:
        assert response.status_code == SUCCESS[endpoint]
    else:
        assert response.status_code == 403
        assert response["Content-Type"].startswith(PROBLEM)
        assert response.json()["detail"] == refusal
        assert response.json()["traceId"].startswith("00-")
        assert response["WWW-Authenticate"] == WRITE_CHALLENGE
        assert nothing_written(plain_user, group)


def test_client_without_write_grant_cannot_write_through_an_admin_user_token(client, company, admin_user):
    """The hole of issue 8: list the admins with a generic token, mint an admin's user token, create an admin."""
    api_client = APIUserFactory(company=company, name="Read-only integration")
    credentials = {"client_id": api_client.client_id, "client_secret": api_client.plain_secret}

    def token_for(**params) -> str:
        query = {"client_id": api_client.client_id, "redirect_uri": "https://localhost/callback", **params}
        location = client.get("/api/oauth2", query)["Location"]
        code = parse_qs(urlsplit(location).query)["code"][0]
        answer = client.post("/api/oauth2/Token", {**credentials, "code": code}, content_type="application/json")
        return answer.json()["access_token"]

    generic = token_for()
    admins = client.get("/api/Users/ListUsers?role=admin", headers=bearer(generic)).json()["data"]
    admin_token = token_for(userid=admins[0]["userid"])
    created = client.post(
        "/api/Users/CreateUser",
        {"email": "intruder@acme.example", "name": "Intruder", "roles": ["admin"]},
        content_type="application/json",
        headers=bearer(admin_token),
    )

    assert [admin["userid"] for admin in admins] == [admin_user.userid]
    assert jwt.decode(admin_token, options={"verify_signature": False})["scope"] == "users:read chat agents:read"
    assert created.status_code == 403
    assert created.json()["detail"] == CLIENT_LACKS_WRITE
    assert not ApplicationUser.objects.filter(email="intruder@acme.example").exists()


READS = [
    ("ListUsers", "/api/Users/ListUsers", ""),
    ("ListUsersShort", "/api/ListUsers", ""),
    ("GetUser", "/api/Users/GetUser", "userid={userid}"),
    ("ListGroups", "/api/Groups/ListGroups", ""),
]


@pytest.mark.parametrize(("name", "path", "query"), READS, ids=[read[0] for read in READS])
@pytest.mark.parametrize("user_fixture", [None, "admin_user"])
def test_reads_need_the_users_read_grant(client, request, company, name, path, query, user_fixture, plain_user):
    api_client = APIUserFactory(company=company, grants=["chat", "agents:read"])
    user = request.getfixturevalue(user_fixture) if user_fixture else None
    token = access_token_issue(client=api_client, user=user)[1]

    response = client.get(f"{path}?{query.format(userid=plain_user.userid)}", headers=bearer(token))

    assert response.status_code == 403
    assert response["Content-Type"].startswith(PROBLEM)
    assert "'users:read' grant" in response.json()["detail"]
    assert response["WWW-Authenticate"] == 'Bearer error="insufficient_scope", scope="users:read"'
    assert "data" not in response.json() and plain_user.email not in response.content.decode()


@pytest.mark.parametrize(("name", "path", "query"), READS, ids=[read[0] for read in READS])
def test_reads_with_the_default_grants_still_work_for_a_plain_users_token(client, name, path, query, plain_user):
    api_client = APIUserFactory(company=plain_user.company, grants=list(DEFAULT_GRANTS))
    token = access_token_issue(client=api_client, user=plain_user)[1]

    response = client.get(f"{path}?{query.format(userid=plain_user.userid)}", headers=bearer(token))

    assert response.status_code == 200


def test_a_grant_taken_from_the_client_stops_its_outstanding_tokens_at_once(client, client_with_grant, admin_user):
    token = access_token_issue(client=client_with_grant, user=admin_user)[1]
    create = {"email": "new@acme.example", "name": "New"}
    assert send(client, "post", "/api/Groups/CreateGroup", token=token, body={"name": "Before"}).status_code == 201

    api_client_update(client=client_with_grant, actor=Actor.system(), grants=DEFAULT_GRANTS)
    response = send(client, "post", "/api/Users/CreateUser", token=token, body=create)

    assert response.status_code == 403
    assert response.json()["detail"] == CLIENT_LACKS_WRITE
    assert not ApplicationUser.objects.filter(email="new@acme.example").exists()


def test_a_grant_given_later_does_not_widen_tokens_issued_before(client, client_without_grant, admin_user):
    token = access_token_issue(client=client_without_grant, user=admin_user)[1]

    api_client_update(client=client_without_grant, actor=Actor.system(), grants=WRITER_GRANTS)
    before = send(client, "post", "/api/Groups/CreateGroup", token=token, body={"name": "Old token"})
    fresh = access_token_issue(client=client_without_grant, user=admin_user)[1]
    after = send(client, "post", "/api/Groups/CreateGroup", token=fresh, body={"name": "New token"})

    assert before.status_code == 403
    assert "issued before its API client got the grant" in before.json()["detail"]
    assert after.status_code == 201
    assert list(Group.objects.values_list("name", flat=True)) == ["New token"]


def test_a_demoted_admins_outstanding_token_stops_writing(client, client_with_grant, admin_user, plain_user):
    token = access_token_issue(client=client_with_grant, user=admin_user)[1]
    admin_user.set_roles(["user"])
    admin_user.save()

    response = send(client, "post", "/api/Groups/CreateGroup", token=token, body={"name": "New group"})

    assert response.status_code == 403
    assert response.json()["detail"] == USER_LACKS_ROLE
    assert not Group.objects.filter(name="New group").exists()


def test_the_admin_role_check_holds_even_for_a_token_carrying_users_write(rf, client_with_grant, plain_user):
    """Defence in depth: should a user token ever carry users:write, a non-admin user still may not write."""
    token, _ = access_token_issue(client=client_with_grant, user=plain_user)
    request = rf.post("/api/Groups/CreateGroup")
    request.auth = BearerContext(
        company=plain_user.company,
        client=client_with_grant,
        user=plain_user,
        token=token,
        scope=frozenset(WRITER_GRANTS),
    )
    permission = GenericOrAdminUserToken()

    assert permission.has_permission(request, None) is False
    assert permission.message == NEEDS_ADMIN_USER


def test_a_client_without_users_read_cannot_read_even_with_an_admins_token(client, company, admin_user):
    api_client = APIUserFactory(company=company, grants=[])
    token = access_token_issue(client=api_client, user=admin_user)[1]

    response = client.get("/api/Users/ListUsers", headers=bearer(token))

    assert response.status_code == 403
    assert response.json()["detail"].startswith(f"This token lacks the '{USERS_READ}' grant: its API client")
