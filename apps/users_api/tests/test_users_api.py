"""The Users endpoints: reads with any token of the company, writes with a ``users:write`` client's generic token
or an admin's user token from such a client, strict validation, and errors as problem+json."""

from datetime import timedelta

import pytest
from django.http import QueryDict
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.accounts.models import ApplicationUser
from apps.accounts.selectors import _user_page_sql
from apps.audit.models import AuditEvent
from apps.oauth.services import access_token_issue
from apps.users_api.serializers import UserListQuerySerializer, _validated_query
from tests.factories import GroupFactory, UserFactory
from tests.helpers import bearer

PROBLEM = "application/problem+json"


def post(client, url, body, token):
    return client.post(url, body, content_type="application/json", headers=bearer(token))


def test_list_users_returns_the_company_users_with_their_groups(client, generic_token, admin_user, group):
    group.members.add(admin_user)

    response = client.get("/api/Users/ListUsers", headers=bearer(generic_token))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["page"] == 1 and body["pageSize"] == 50 and body["totalCount"] == 1 and body["totalPages"] == 1
    assert body["data"] == [
        {
            "userid": admin_user.userid,
            "email": "admin@acme.example",
            "name": admin_user.name,
            "roles": ["admin", "user"],
            "groups": [{"id": group.id, "name": "Engineering"}],
            "active": True,
            "created": admin_user.created.isoformat().replace("+00:00", "Z"),
        }
    ]


@pytest.mark.parametrize("path", ["/api/ListUsers", "/api/users/listusers", "/API/USERS/LISTUSERS", "/api/listUSERS"])
def test_list_users_answers_on_the_short_path_and_in_any_case(client, generic_token, plain_user, path):
    response = client.get(path, headers=bearer(generic_token))

    assert response.status_code == 200
    assert [u["userid"] for u in response.json()["data"]] == [plain_user.userid]


def test_list_users_never_shows_another_companys_users(client, generic_token, plain_user, other_user, other_group):
    other_group.members.add(other_user)

    response = client.get("/api/Users/ListUsers?pageSize=500", headers=bearer(generic_token))

    assert [u["email"] for u in response.json()["data"]] == ["user@acme.example"]
    assert response.json()["totalCount"] == 1


def test_list_users_with_another_companys_token_shows_only_that_company(client, other_generic_token, plain_user):
    response = client.get("/api/Users/ListUsers", headers=bearer(other_generic_token))

    assert response.json()["data"] == []
    assert response.json()["totalCount"] == 0


@pytest.mark.parametrize("token_fixture", ["generic_token", "user_token", "admin_token", "manager_token"])
def test_every_token_of_the_company_may_read(client, request, token_fixture, plain_user):
    token = request.getfixturevalue(token_fixture)

    listed = client.get("/api/Users/ListUsers", headers=bearer(token))
    one = client.get(f"/api/Users/GetUser?userid={plain_user.userid}", headers=bearer(token))

    assert listed.status_code == 200
    assert one.status_code == 200


def test_list_users_search_matches_email_or_name_ignoring_case(client, generic_token, company):
    UserFactory(company=company, email="ada@acme.example", name="Ada Lovelace")
    UserFactory(company=company, email="grace@acme.example", name="Grace Hopper")
    UserFactory(company=company, email="lovelace.fan@acme.example", name="Fan")

    by_name = client.get("/api/Users/ListUsers?search=LOVELACE", headers=bearer(generic_token)).json()
    by_email = client.get("/api/Users/ListUsers?search=Grace@", headers=bearer(generic_token)).json()

    assert sorted(u["email"] for u in by_name["data"]) == ["ada@acme.example", "lovelace.fan@acme.example"]
    assert by_name["totalCount"] == 2
    assert [u["email"] for u in by_email["data"]] == ["grace@acme.example"]


def test_list_users_filters_by_role_and_by_active(client, generic_token, admin_user, plain_user, company):
    inactive = UserFactory(company=company, email="gone@acme.example", roles=["user"], is_active=False)

    admins = client.get("/api/Users/ListUsers?role=admin", headers=bearer(generic_token)).json()
    inactive_users = client.get("/api/Users/ListUsers?active=false", headers=bearer(generic_token)).json()
    active_plain = client.get("/api/Users/ListUsers?active=true&role=user", headers=bearer(generic_token)).json()

    assert [u["userid"] for u in admins["data"]] == [admin_user.userid]
    assert [u["userid"] for u in inactive_users["data"]] == [inactive.userid]
    assert inactive_users["data"][0]["active"] is False
    assert sorted(u["userid"] for u in active_plain["data"]) == sorted([admin_user.userid, plain_user.userid])


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("pageSize=0", "pageSize"),
        ("pageSize=501", "pageSize"),
        ("pageSize=abc", "pageSize"),
        ("pageSize=5.0", "pageSize"),
        ("pageSize=", "pageSize"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=two", "page"),
        ("role=owner", "role"),
        ("active=yes", "active"),
        ("search=", "search"),
        ("search=" + "x" * 255, "search"),
        ("sort=name", "sort"),
        ("page=1&page=2", "page"),
    ],
)
def test_list_users_rejects_a_bad_parameter_naming_it(client, generic_token, query, parameter):
    response = client.get(f"/api/Users/ListUsers?{query}", headers=bearer(generic_token))

    assert response.status_code == 400
    assert response["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert list(body["errors"]) == [parameter]
    assert body["traceId"].startswith("00-")


def test_list_users_accepts_the_page_size_bounds(client, generic_token, plain_user):
    smallest = client.get("/api/Users/ListUsers?pageSize=1", headers=bearer(generic_token))
    largest = client.get("/api/Users/ListUsers?pageSize=500", headers=bearer(generic_token))

    assert smallest.status_code == 200 and smallest.json()["pageSize"] == 1
    assert largest.status_code == 200 and largest.json()["pageSize"] == 500


def test_list_users_pages_split_the_users_at_the_boundaries(client, generic_token, company):
    users = [UserFactory(company=company, email=f"u{i}@acme.example") for i in range(5)]

    pages = [
        client.get(f"/api/Users/ListUsers?pageSize=2&page={page}", headers=bearer(generic_token)).json()
        for page in (1, 2, 3)
    ]

    assert [[u["userid"] for u in page["data"]] for page in pages] == [
        [users[0].userid, users[1].userid],
        [users[2].userid, users[3].userid],
        [users[4].userid],
    ]
    assert {(p["totalCount"], p["totalPages"], p["pageSize"]) for p in pages} == {(5, 3, 2)}
    assert [p["page"] for p in pages] == [1, 2, 3]


def test_list_users_page_past_the_end_is_empty_not_an_error(client, generic_token, company):
    UserFactory.create_batch(3, company=company)

    response = client.get("/api/Users/ListUsers?pageSize=2&page=3", headers=bearer(generic_token))
    far = client.get("/api/Users/ListUsers?pageSize=500&page=1000000000", headers=bearer(generic_token))

    assert response.status_code == 200
    assert response.json() == {"data": [], "page": 3, "pageSize": 2, "totalCount": 3, "totalPages": 2}
    assert far.status_code == 200 and far.json()["data"] == []


def test_list_users_empty_company_has_zero_pages(client, other_generic_token):
    response = client.get("/api/Users/ListUsers", headers=bearer(other_generic_token))

    assert response.json() == {"data": [], "page": 1, "pageSize": 50, "totalCount": 0, "totalPages": 0}
    assert response["Link"] == '<http://testserver/api/Users/ListUsers?page=1>; rel="first"'


def test_list_users_link_header_points_to_first_prev_next_last_keeping_filters(client, generic_token, company):
    UserFactory.create_batch(5, company=company, roles=["user"])

    response = client.get("/api/Users/ListUsers?pageSize=2&page=2&role=user", headers=bearer(generic_token))

    base = "http://testserver/api/Users/ListUsers?pageSize=2&role=user&page="
    assert response["Link"] == (
        f'<{base}1>; rel="first", <{base}1>; rel="prev", <{base}3>; rel="next", <{base}3>; rel="last"'
    )


def test_list_users_totals_come_with_the_page_and_from_a_count_beyond_it(
    client, generic_token, company, django_assert_num_queries
):
    UserFactory.create_batch(4, company=company)

    with django_assert_num_queries(2):  # the token, then the page with its total
        middle = client.get("/api/Users/ListUsers?pageSize=2&page=2", headers=bearer(generic_token)).json()
    with django_assert_num_queries(3):  # no row carries the total beyond the end: a count query
        beyond = client.get("/api/Users/ListUsers?pageSize=2&page=9", headers=bearer(generic_token)).json()

    assert (middle["totalCount"], middle["totalPages"], len(middle["data"])) == (4, 2, 2)
    assert (beyond["totalCount"], beyond["totalPages"], beyond["data"]) == (4, 2, [])
    assert "page_total" not in middle["data"][0]


def test_list_users_link_header_has_no_next_on_the_last_page_and_prev_leads_back_from_beyond(
    client, generic_token, company
):
    UserFactory.create_batch(3, company=company)

    last = client.get("/api/Users/ListUsers?pageSize=2&page=2", headers=bearer(generic_token))
    beyond = client.get("/api/Users/ListUsers?pageSize=2&page=9", headers=bearer(generic_token))

    assert 'rel="next"' not in last["Link"]
    assert '<http://testserver/api/Users/ListUsers?pageSize=2&page=1>; rel="prev"' in last["Link"]
    assert '<http://testserver/api/Users/ListUsers?pageSize=2&page=2>; rel="prev"' in beyond["Link"]


def test_list_users_order_is_stable_under_equal_timestamps(client, generic_token, company):
    same_time = timezone.now() - timedelta(days=1)
    users = [UserFactory(company=company, created=same_time) for _ in range(7)]
    earlier = UserFactory(company=company, created=same_time - timedelta(seconds=1))
    expected = [earlier.userid, *sorted(u.userid for u in users)]

    first = [
        u["userid"]
        for page in (1, 2, 3)
        for u in client.get(f"/api/Users/ListUsers?pageSize=3&page={page}", headers=bearer(generic_token)).json()[
            "data"
        ]
    ]
    again = [u["userid"] for u in client.get("/api/Users/ListUsers", headers=bearer(generic_token)).json()["data"]]

    assert first == expected
    assert again == expected


@pytest.mark.parametrize(
    ("user_count", "queries"),
    [
        # Bearer authentication, then the page with its users' groups and the total (a window count).
        (50, 2),
        (120, 2),
    ],
)
def test_list_users_runs_a_small_constant_number_of_queries(
    client, generic_token, company, django_assert_num_queries, user_count, queries
):
    groups = [GroupFactory(company=company) for _ in range(5)]
    for i in range(user_count):
        user = UserFactory(company=company)
        user.groups.add(groups[i % 5], groups[(i + 1) % 5])

    with django_assert_num_queries(queries):
        response = client.get("/api/Users/ListUsers?pageSize=50", headers=bearer(generic_token))

    assert len(response.json()["data"]) == 50
    assert response.json()["totalCount"] == user_count
    assert all(len(u["groups"]) == 2 for u in response.json()["data"])


def test_list_users_needs_a_token(client, plain_user):
    missing = client.get("/api/Users/ListUsers")
    invalid = client.get("/api/Users/ListUsers", headers=bearer("not-a-jwt"))

    for response in (missing, invalid):
        assert response.status_code == 401
        assert response["Content-Type"].startswith(PROBLEM)
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert response.json()["traceId"].startswith("00-")


def test_list_users_gives_each_user_their_own_groups_by_name(client, generic_token, company, plain_user, admin_user):
    ops, eng, design = (GroupFactory(company=company, name=name) for name in ("ops", "eng", "design"))
    ops.members.add(plain_user, admin_user)
    eng.members.add(plain_user)
    design.members.add(plain_user)

    data = client.get("/api/Users/ListUsers", headers=bearer(generic_token)).json()["data"]

    groups = {user["email"]: [group["name"] for group in user["groups"]] for user in data}
    assert groups == {plain_user.email: ["design", "eng", "ops"], admin_user.email: ["ops"]}
    assert next(user["groups"] for user in data if user["email"] == admin_user.email) == [{"id": ops.id, "name": "ops"}]


def test_list_users_refuses_other_methods(client, generic_token):
    response = client.post("/api/Users/ListUsers", {}, content_type="application/json", headers=bearer(generic_token))

    assert response.status_code == 405
    assert response["Content-Type"].startswith(PROBLEM)


# GetUser


def test_get_user_returns_one_user(client, generic_token, plain_user, group):
    group.members.add(plain_user)

    response = client.get(f"/api/Users/GetUser?userid={plain_user.userid}", headers=bearer(generic_token))

    assert response.status_code == 200
    assert response.json()["userid"] == plain_user.userid
    assert response.json()["groups"] == [{"id": group.id, "name": "Engineering"}]


@pytest.mark.parametrize("userid", ["00000000-0000-4000-8000-000000000000", "nonsense", "1"])
def test_get_user_unknown_userid_is_404(client, generic_token, userid):
    response = client.get(f"/api/Users/GetUser?userid={userid}", headers=bearer(generic_token))

    assert response.status_code == 404
    assert response["Content-Type"].startswith(PROBLEM)


@pytest.mark.parametrize(("query", "parameter"), [("", "userid"), ("userid=", "userid"), ("userid=x&extra=1", "extra")])
def test_get_user_rejects_a_bad_query_naming_the_parameter(client, generic_token, query, parameter):
    response = client.get(f"/api/Users/GetUser?{query}", headers=bearer(generic_token))

    assert response.status_code == 400
    assert parameter in response.json()["errors"]


# CreateUser


def test_create_user_with_admin_token_creates_it_in_the_company_and_audits(
    client, admin_token, admin_user, manager_client, company, group
):
    response = post(
        client,
        "/api/Users/CreateUser",
        {"email": "New@Acme.Example", "name": "  New Person ", "roles": ["monitor", "user"], "groups": [group.id]},
        admin_token,
    )

    assert response.status_code == 201
    body = response.json()
    user = ApplicationUser.objects.get(userid=body["userid"])
    assert user.company == company
    assert body["email"] == "New@acme.example"
    assert body["name"] == "New Person"
    assert body["roles"] == ["monitor", "user"]
    assert body["groups"] == [{"id": group.id, "name": "Engineering"}]
    assert not user.has_usable_password()
    event = AuditEvent.objects.get(action="user.created", target_id=user.userid)
    assert event.company == company
    assert event.actor_client == manager_client
    assert event.actor_user == admin_user
    assert AuditEvent.objects.filter(action="group.member_added", user=user).count() == 1


def test_create_user_with_users_write_generic_token_records_the_client_as_actor(client, manager_token, manager_client):
    response = post(client, "/api/Users/CreateUser", {"email": "hr@acme.example", "name": "HR"}, manager_token)

    assert response.status_code == 201
    assert response.json()["roles"] == ["user"]
    event = AuditEvent.objects.get(action="user.created", target_id=response.json()["userid"])
    assert event.actor_type == "client"
    assert event.actor_client == manager_client
    assert event.actor_user is None


def test_create_user_accepts_an_empty_role_list(client, admin_token):
    response = post(client, "/api/Users/CreateUser", {"email": "n@acme.example", "name": "N", "roles": []}, admin_token)

    assert response.status_code == 201
    assert response.json()["roles"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "name": "X"}, "email"),
        ({"email": "a@acme.example", "name": "X", "roles": ["owner"]}, "roles"),
        ({"email": "a@acme.example", "name": "X", "roles": "admin"}, "roles"),
        ({"email": "a@acme.example", "name": "x" * 151}, "name"),
        ({"email": "a@acme.example", "name": "   "}, "name"),
        ({"email": "a@acme.example", "name": 5}, "name"),
        ({"email": "a@acme.example"}, "name"),
        ({"name": "X"}, "email"),
        ({"email": "a@acme.example", "name": "X", "groups": ["1"]}, "groups"),
        ({"email": "a@acme.example", "name": "X", "groups": [True]}, "groups"),
        ({"email": "a@acme.example", "name": "X", "isAdmin": True}, "isAdmin"),
        ({"email": "a@acme.example", "name": "X\x00"}, "name"),
        ({"email": "a@acme.example", "name": "X", "company": "globex"}, "company"),
    ],
)
def test_create_user_rejects_invalid_input_naming_the_field(client, admin_token, body, field):
    response = post(client, "/api/Users/CreateUser", body, admin_token)

    assert response.status_code == 400
    assert response["Content-Type"].startswith(PROBLEM)
    assert field in response.json()["errors"]
    assert not ApplicationUser.objects.filter(email__iexact="a@acme.example").exists()


def test_create_user_names_every_unknown_field(client, admin_token):
    response = post(
        client, "/api/Users/CreateUser", {"email": "a@acme.example", "name": "A", "x": 1, "y": 2}, admin_token
    )

    assert response.status_code == 400
    assert sorted(response.json()["errors"]) == ["x", "y"]


def test_create_user_rejects_a_body_that_is_not_a_json_object(client, admin_token):
    array = post(client, "/api/Users/CreateUser", [{"email": "a@acme.example"}], admin_token)
    malformed = client.post(
        "/api/Users/CreateUser", "{not json", content_type="application/json", headers=bearer(admin_token)
    )
    form = client.post(
        "/api/Users/CreateUser",
        "email=a%40acme.example&name=A",
        headers=bearer(admin_token),
        content_type="application/x-www-form-urlencoded",
    )

    assert array.status_code == 400
    assert malformed.status_code == 400
    assert form.status_code == 415
    assert all(r["Content-Type"].startswith(PROBLEM) for r in (array, malformed, form))


@pytest.mark.parametrize("email", ["user@acme.example", "USER@ACME.EXAMPLE", "user@globex.example"])
def test_create_user_with_a_taken_email_is_409(client, admin_token, plain_user, other_user, email):
    response = post(client, "/api/Users/CreateUser", {"email": email, "name": "Dup"}, admin_token)

    assert response.status_code == 409
    assert response["Content-Type"].startswith(PROBLEM)
    # The same answer whichever company holds the address: it names no company.
    assert response.json()["detail"].endswith("already exists.")
    assert "Globex" not in response.json()["detail"] and "Acme" not in response.json()["detail"]
    assert ApplicationUser.objects.filter(email__iexact=email).count() == 1


def test_create_user_with_another_companys_group_is_404_and_creates_nothing(client, admin_token, other_group):
    response = post(
        client,
        "/api/Users/CreateUser",
        {"email": "a@acme.example", "name": "A", "groups": [other_group.id]},
        admin_token,
    )

    assert response.status_code == 404
    assert not ApplicationUser.objects.filter(email="a@acme.example").exists()
    assert other_group.members.count() == 0


# AddUserToGroup / RemoveUserFromGroup


def test_add_user_to_group_returns_the_user_and_is_idempotent(client, admin_token, plain_user, group):
    body = {"userid": plain_user.userid, "groupId": group.id}

    first = post(client, "/api/Users/AddUserToGroup", body, admin_token)
    second = post(client, "/api/users/addusertogroup", body, admin_token)

    assert first.status_code == second.status_code == 200
    assert second.json()["groups"] == [{"id": group.id, "name": "Engineering"}]
    assert list(group.members.all()) == [plain_user]
    assert AuditEvent.objects.filter(action="group.member_added", user=plain_user).count() == 1


def test_remove_user_from_group_returns_the_user_and_is_idempotent(client, manager_token, plain_user, group):
    group.members.add(plain_user)
    body = {"userid": plain_user.userid, "groupId": group.id}

    first = post(client, "/api/Users/RemoveUserFromGroup", body, manager_token)
    second = post(client, "/api/Users/RemoveUserFromGroup", body, manager_token)

    assert first.status_code == second.status_code == 200
    assert second.json()["groups"] == []
    assert group.members.count() == 0
    assert AuditEvent.objects.filter(action="group.member_removed", user=plain_user).count() == 1


@pytest.mark.parametrize("path", ["/api/Users/AddUserToGroup", "/api/Users/RemoveUserFromGroup"])
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"groupId": 1}, "userid"),
        ({"userid": "x"}, "groupId"),
        ({"userid": "x", "groupId": "1"}, "groupId"),
        ({"userid": "x", "groupId": 0}, "groupId"),
        ({"userid": 7, "groupId": 1}, "userid"),
        ({"userid": "x", "groupId": 1, "role": "admin"}, "role"),
    ],
)
def test_membership_rejects_invalid_input_naming_the_field(client, admin_token, path, body, field):
    response = post(client, path, body, admin_token)

    assert response.status_code == 400
    assert field in response.json()["errors"]


@pytest.mark.parametrize("path", ["/api/Users/AddUserToGroup", "/api/Users/RemoveUserFromGroup"])
def test_membership_with_unknown_user_or_group_is_404(client, admin_token, plain_user, group, path):
    no_user = post(client, path, {"userid": "00000000-0000-4000-8000-000000000000", "groupId": group.id}, admin_token)
    no_group = post(client, path, {"userid": plain_user.userid, "groupId": group.id + 1000}, admin_token)

    assert no_user.status_code == 404
    assert no_group.status_code == 404


# DeleteUser


def test_delete_user_removes_them_and_audits(client, admin_token, plain_user, company, group):
    group.members.add(plain_user)
    userid = plain_user.userid

    response = client.delete(f"/api/Users/DeleteUser?userid={userid}", headers=bearer(admin_token))

    assert response.status_code == 204
    assert response.content == b""
    assert not ApplicationUser.objects.filter(userid=userid).exists()
    assert group.members.count() == 0
    assert AuditEvent.objects.filter(action="user.deleted", target_id=userid, company=company).count() == 1


def test_delete_user_makes_their_tokens_fail_at_once(client, admin_token, plain_user, user_token):
    before = client.get("/api/Users/ListUsers", headers=bearer(user_token))

    deleted = client.delete(f"/api/Users/DeleteUser?userid={plain_user.userid}", headers=bearer(admin_token))
    after = client.get("/api/Users/ListUsers", headers=bearer(user_token))

    assert before.status_code == 200
    assert deleted.status_code == 204
    assert after.status_code == 401
    assert after["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_delete_user_refuses_the_companys_last_admin(client, manager_token, admin_user):
    response = client.delete(f"/api/Users/DeleteUser?userid={admin_user.userid}", headers=bearer(manager_token))

    assert response.status_code == 409
    assert "admin" in response.json()["detail"]
    assert ApplicationUser.objects.filter(pk=admin_user.pk).exists()


def test_delete_user_refuses_the_last_active_admin_even_when_an_inactive_admin_remains(
    client, manager_token, admin_user, company
):
    UserFactory(company=company, roles=["admin"], is_active=False)

    response = client.delete(f"/api/Users/DeleteUser?userid={admin_user.userid}", headers=bearer(manager_token))

    assert response.status_code == 409


def test_delete_user_allows_an_admin_when_another_admin_remains(client, admin_token, company):
    second_admin = UserFactory(company=company, roles=["admin"])

    response = client.delete(f"/api/Users/DeleteUser?userid={second_admin.userid}", headers=bearer(admin_token))

    assert response.status_code == 204
    assert not ApplicationUser.objects.filter(pk=second_admin.pk).exists()


def test_an_admin_may_delete_themself_when_another_admin_remains(client, admin_token, admin_user, company):
    UserFactory(company=company, roles=["admin"])

    response = client.delete(f"/api/Users/DeleteUser?userid={admin_user.userid}", headers=bearer(admin_token))
    after = client.get("/api/Users/ListUsers", headers=bearer(admin_token))

    assert response.status_code == 204
    assert after.status_code == 401


@pytest.mark.parametrize(("query", "parameter"), [("", "userid"), ("userid=a&userid=b", "userid"), ("id=1", "id")])
def test_delete_user_rejects_a_bad_query_naming_the_parameter(client, admin_token, query, parameter):
    response = client.delete(f"/api/Users/DeleteUser?{query}", headers=bearer(admin_token))

    assert response.status_code == 400
    assert parameter in response.json()["errors"]


def test_delete_user_of_unknown_userid_is_404(client, admin_token):
    response = client.delete("/api/Users/DeleteUser?userid=nobody", headers=bearer(admin_token))

    assert response.status_code == 404


def test_a_fresh_token_for_a_deleted_user_cannot_be_minted_from_old_rows(client, admin_token, plain_user, api_client):
    token_row, _ = access_token_issue(client=api_client, user=plain_user)

    client.delete(f"/api/Users/DeleteUser?userid={plain_user.userid}", headers=bearer(admin_token))

    assert not type(token_row).objects.filter(pk=token_row.pk).exists()


def test_list_users_reuses_its_sql_but_never_its_rows(client, generic_token, company):
    UserFactory(company=company, email="first@acme.example")
    first = client.get("/api/Users/ListUsers", headers=bearer(generic_token)).json()
    hits = _user_page_sql.cache_info().hits
    UserFactory(company=company, email="second@acme.example")

    second = client.get("/api/Users/ListUsers", headers=bearer(generic_token)).json()

    assert _user_page_sql.cache_info().hits == hits + 1
    assert [u["email"] for u in first["data"]] == ["first@acme.example"]
    assert [u["email"] for u in second["data"]] == ["first@acme.example", "second@acme.example"]
    assert second["totalCount"] == 2


def test_query_parameters_are_remembered_when_valid_and_refused_every_time_when_not():
    first = UserListQuerySerializer.validated_query(QueryDict("pageSize=7&role=admin"))
    hits = _validated_query.cache_info().hits
    again = UserListQuerySerializer.validated_query(QueryDict("pageSize=7&role=admin"))

    assert first == again == {"page": 1, "pageSize": 7, "role": "admin"}
    assert _validated_query.cache_info().hits == hits + 1
    for bad in ("pageSize=0", "pageSize=0", "page=1&page=2", "page=1&page=2", "unknown=1"):
        with pytest.raises(ValidationError):
            UserListQuerySerializer.validated_query(QueryDict(bad))
