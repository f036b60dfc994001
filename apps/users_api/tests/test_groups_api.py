"""The Groups endpoints."""

import pytest

from apps.accounts.models import ApplicationUser, Group
from apps.audit.models import AuditEvent
from tests.factories import GroupFactory, UserFactory
from tests.helpers import bearer


def post(client, url, body, token):
    return client.post(url, body, content_type="application/json", headers=bearer(token))


def test_list_groups_returns_the_company_groups_with_member_counts(client, user_token, group, plain_user, other_group):
    group.members.add(plain_user)
    GroupFactory(company=group.company, name="Audit")

    response = client.get("/api/Groups/ListGroups", headers=bearer(user_token))

    assert response.status_code == 200
    body = response.json()
    assert [(g["name"], g["memberCount"]) for g in body["data"]] == [("Audit", 0), ("Engineering", 1)]
    assert body["data"][1]["id"] == group.id
    assert body["totalCount"] == 2 and body["totalPages"] == 1 and body["page"] == 1
    assert other_group.id not in [g["id"] for g in body["data"]]


def test_list_groups_searches_names_ignoring_case_and_paginates(client, generic_token, company):
    for name in ("Sales EMEA", "Sales US", "Support", "sales APAC"):
        GroupFactory(company=company, name=name)

    first = client.get("/api/Groups/ListGroups?search=SALES&pageSize=2", headers=bearer(generic_token))
    second = client.get("/api/Groups/ListGroups?search=SALES&pageSize=2&page=2", headers=bearer(generic_token))

    assert [g["name"] for g in first.json()["data"]] == ["Sales EMEA", "Sales US"]
    assert [g["name"] for g in second.json()["data"]] == ["sales APAC"]
    assert first.json()["totalCount"] == 3
    assert 'rel="next"' in first["Link"] and 'rel="next"' not in second["Link"]


@pytest.mark.parametrize(
    ("query", "parameter"), [("pageSize=501", "pageSize"), ("page=0", "page"), ("role=admin", "role")]
)
def test_list_groups_rejects_a_bad_parameter_naming_it(client, generic_token, query, parameter):
    response = client.get(f"/api/Groups/ListGroups?{query}", headers=bearer(generic_token))

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [parameter]


def test_create_group_creates_it_in_the_company_and_audits(client, admin_token, company):
    response = post(client, "/api/Groups/CreateGroup", {"name": " Finance "}, admin_token)

    assert response.status_code == 201
    body = response.json()
    group = Group.objects.get(pk=body["id"])
    assert group.company == company
    assert body["name"] == "Finance" and body["memberCount"] == 0
    assert AuditEvent.objects.filter(action="group.created", target_id=str(group.pk), company=company).exists()


def test_create_group_with_a_name_taken_in_the_company_is_409(client, manager_token, group):
    response = post(client, "/api/Groups/CreateGroup", {"name": "Engineering"}, manager_token)

    assert response.status_code == 409
    assert Group.objects.filter(company=group.company, name="Engineering").count() == 1


def test_create_group_may_reuse_a_name_of_another_company(client, admin_token, other_group):
    response = post(client, "/api/Groups/CreateGroup", {"name": other_group.name}, admin_token)

    assert response.status_code == 201
    assert response.json()["id"] != other_group.id


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 151}, "name"),
        ({"name": ["a"]}, "name"),
        ({"name": "A", "members": []}, "members"),
    ],
)
def test_create_group_rejects_invalid_input_naming_the_field(client, admin_token, body, field):
    response = post(client, "/api/Groups/CreateGroup", body, admin_token)

    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_delete_group_removes_it_but_keeps_its_members(client, admin_token, group, plain_user, company):
    group.members.add(plain_user)

    response = client.delete(f"/api/Groups/DeleteGroup?groupId={group.id}", headers=bearer(admin_token))

    assert response.status_code == 204
    assert not Group.objects.filter(pk=group.pk).exists()
    assert ApplicationUser.objects.filter(pk=plain_user.pk).exists()
    assert AuditEvent.objects.filter(action="group.deleted", target_id=str(group.pk), company=company).exists()


@pytest.mark.parametrize(
    ("query", "status"), [("groupId=abc", 400), ("", 400), ("groupId=0", 400), ("groupId=999999", 404)]
)
def test_delete_group_with_a_bad_or_unknown_id(client, admin_token, group, query, status):
    response = client.delete(f"/api/Groups/DeleteGroup?{query}", headers=bearer(admin_token))

    assert response.status_code == status
    assert Group.objects.filter(pk=group.pk).exists()


def test_list_groups_counts_members_without_a_query_per_group(
    client, generic_token, company, django_assert_num_queries
):
    for _ in range(20):
        GroupFactory(company=company).members.add(*UserFactory.create_batch(2, company=company))

    with django_assert_num_queries(2):
        response = client.get("/api/Groups/ListGroups", headers=bearer(generic_token))

    assert [g["memberCount"] for g in response.json()["data"]] == [2] * 20
