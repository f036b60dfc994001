"""Who may do what, and the tenant wall: company A's tokens never see, change or learn of company B's
users and groups."""

import pytest

from apps.accounts.models import ApplicationUser, Group
from apps.audit.models import AuditEvent
from tests.helpers import bearer

PROBLEM = "application/problem+json"


def send(client, method, path, *, token, query="", body=None):
    url = f"{path}?{query}" if query else path
    if method == "post":
        return client.post(url, body or {}, content_type="application/json", headers=bearer(token))
    return getattr(client, method)(url, headers=bearer(token))


def write_requests(*, user, group):
    """One valid request per write endpoint, on the given user and group."""
    return {
        "CreateUser": ("post", "/api/Users/CreateUser", "", {"email": "new@acme.example", "name": "New"}),
        "AddUserToGroup": ("post", "/api/Users/AddUserToGroup", "", {"userid": user.userid, "groupId": group.id}),
        "RemoveUserFromGroup": (
            "post",
            "/api/Users/RemoveUserFromGroup",
            "",
            {"userid": user.userid, "groupId": group.id},
        ),
        "DeleteUser": ("delete", "/api/Users/DeleteUser", f"userid={user.userid}", None),
        "CreateGroup": ("post", "/api/Groups/CreateGroup", "", {"name": "New group"}),
        "DeleteGroup": ("delete", "/api/Groups/DeleteGroup", f"groupId={group.id}", None),
    }


WRITES = ["CreateUser", "AddUserToGroup", "RemoveUserFromGroup", "DeleteUser", "CreateGroup", "DeleteGroup"]
SUCCESS = {
    "CreateUser": 201,
    "AddUserToGroup": 200,
    "RemoveUserFromGroup": 200,
    "DeleteUser": 204,
    "CreateGroup": 201,
    "DeleteGroup": 204,
}


@pytest.mark.parametrize("endpoint", WRITES)
def test_writes_without_a_token_are_401(client, endpoint, plain_user, group):
    method, path, query, body = write_requests(user=plain_user, group=group)[endpoint]
    url = f"{path}?{query}" if query else path

    response = client.post(url, body, content_type="application/json") if method == "post" else client.delete(url)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def company_b_state(company):
    users = ApplicationUser.objects.filter(company=company).order_by("pk")
    groups = Group.objects.filter(company=company).order_by("pk")
    return (
        [(u.pk, u.userid, u.email, u.name, u.roles, u.is_active) for u in users],
        [(g.pk, g.name, sorted(g.members.values_list("pk", flat=True))) for g in groups],
    )


def b_targets(other_user, other_admin_user, other_group):
    # AddUserToGroup/RemoveUserFromGroup are tried with B's user, with B's group, and with both.
    return [
        ("GetUser", "get", "/api/Users/GetUser", f"userid={other_user.userid}", None),
        ("DeleteUser", "delete", "/api/Users/DeleteUser", f"userid={other_user.userid}", None),
        ("DeleteUser-admin", "delete", "/api/Users/DeleteUser", f"userid={other_admin_user.userid}", None),
        ("DeleteGroup", "delete", "/api/Groups/DeleteGroup", f"groupId={other_group.id}", None),
        (
            "CreateUser-group",
            "post",
            "/api/Users/CreateUser",
            "",
            {"email": "x@acme.example", "name": "X", "groups": [other_group.id]},
        ),
    ] + [
        (f"{name}-{case}", "post", f"/api/Users/{name}", "", {"userid": userid, "groupId": group_id})
        for name in ("AddUserToGroup", "RemoveUserFromGroup")
        for case, userid, group_id in (
            ("b-user", other_user.userid, "A_GROUP"),
            ("b-group", "A_USER", other_group.id),
            ("b-both", other_user.userid, other_group.id),
        )
    ]


CROSS_COMPANY_CASES = [
    "GetUser",
    "DeleteUser",
    "DeleteUser-admin",
    "DeleteGroup",
    "CreateUser-group",
    "AddUserToGroup-b-user",
    "AddUserToGroup-b-group",
    "AddUserToGroup-b-both",
    "RemoveUserFromGroup-b-user",
    "RemoveUserFromGroup-b-group",
    "RemoveUserFromGroup-b-both",
]


@pytest.mark.parametrize("case", CROSS_COMPANY_CASES)
@pytest.mark.parametrize("token_fixture", ["admin_token", "manager_token", "generic_token"])
def test_company_b_ids_are_not_found_for_company_a_and_b_is_unchanged(
    client, request, case, token_fixture, plain_user, group, admin_user, other_user, other_admin_user, other_group
):
    token = request.getfixturevalue(token_fixture)
    other_group.members.add(other_user)
    targets = {name: rest for name, *rest in b_targets(other_user, other_admin_user, other_group)}
    method, path, query, body = targets[case]
    if body is not None:
        body = {
            k: {"A_GROUP": group.id, "A_USER": plain_user.userid}.get(v, v) if isinstance(v, str) else v
            for k, v in body.items()
        }
    other_company = other_user.company
    before = company_b_state(other_company)
    unknown = send(client, method, path, token=token, query=query.replace(other_user.userid, "no-such-user"), body=body)

    response = send(client, method, path, token=token, query=query, body=body)

    is_read = method == "get"
    may_write = token_fixture != "generic_token"
    if is_read or may_write:
        # Exactly as if the id did not exist: same status, same detail.
        assert response.status_code == 404
        assert response["Content-Type"].startswith(PROBLEM)
        if "userid=" in query:
            assert response.json()["detail"] == unknown.json()["detail"]
    else:
        assert response.status_code == 403
    assert company_b_state(other_company) == before
    assert not ApplicationUser.objects.filter(email="x@acme.example").exists()
    assert list(group.members.all()) == []


@pytest.mark.parametrize("token_fixture", ["generic_token", "user_token", "admin_token", "manager_token"])
def test_company_a_lists_never_show_company_b(
    client, request, token_fixture, plain_user, group, other_user, other_group
):
    token = request.getfixturevalue(token_fixture)
    other_group.members.add(other_user)

    users = client.get("/api/Users/ListUsers?pageSize=500", headers=bearer(token)).json()
    short = client.get("/api/ListUsers?search=globex", headers=bearer(token)).json()
    groups = client.get("/api/Groups/ListGroups?pageSize=500", headers=bearer(token)).json()

    assert other_user.userid not in [u["userid"] for u in users["data"]]
    assert short["data"] == [] and short["totalCount"] == 0
    assert [g["id"] for g in groups["data"]] == [group.id]


def test_company_b_tokens_see_and_change_only_company_b(client, other_manager_token, other_user, plain_user, group):
    listed = client.get("/api/Users/ListUsers", headers=bearer(other_manager_token)).json()
    deleted = client.delete(f"/api/Users/DeleteUser?userid={plain_user.userid}", headers=bearer(other_manager_token))
    joined = client.post(
        "/api/Users/AddUserToGroup",
        {"userid": other_user.userid, "groupId": group.id},
        content_type="application/json",
        headers=bearer(other_manager_token),
    )

    assert [u["userid"] for u in listed["data"]] == [other_user.userid]
    assert deleted.status_code == 404 and ApplicationUser.objects.filter(pk=plain_user.pk).exists()
    assert joined.status_code == 404 and group.members.count() == 0


AUDIT_ACTIONS = {
    "CreateUser": "user.created",
    "AddUserToGroup": "group.member_added",
    "RemoveUserFromGroup": "group.member_removed",
    "DeleteUser": "user.deleted",
    "CreateGroup": "group.created",
    "DeleteGroup": "group.deleted",
}


@pytest.mark.parametrize("endpoint", WRITES)
@pytest.mark.parametrize(
    ("token_fixture", "client_fixture", "user_fixture"),
    [("admin_token", "manager_client", "admin_user"), ("manager_token", "manager_client", None)],
)
def test_every_write_leaves_an_audit_event_naming_the_acting_client_and_user(
    client, request, endpoint, token_fixture, client_fixture, user_fixture, company, plain_user, group
):
    token = request.getfixturevalue(token_fixture)
    acting_client = request.getfixturevalue(client_fixture)
    acting_user = request.getfixturevalue(user_fixture) if user_fixture else None
    # Removal needs a membership to remove; for the other writes the user starts outside the group.
    if endpoint == "RemoveUserFromGroup":
        group.members.add(plain_user)
    method, path, query, body = write_requests(user=plain_user, group=group)[endpoint]

    send(client, method, path, token=token, query=query, body=body)

    event = AuditEvent.objects.get(action=AUDIT_ACTIONS[endpoint])
    assert event.company == company
    assert event.actor_type == "client"
    assert event.trace_id.startswith("00-")
    assert (event.actor_client, event.actor_user) == (acting_client, acting_user)
