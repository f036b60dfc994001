"""The admin's autocomplete endpoint: a reverse relation is refused (it was a 500), a forward one still
answers, within the admin's company."""

import pytest

from tests.factories import UserFactory

AUTOCOMPLETE = "/admin/autocomplete/"


@pytest.mark.parametrize(
    "params",
    [
        {"app_label": "accounts", "model_name": "applicationuser", "field_name": "groups"},
        {"app_label": "accounts", "model_name": "applicationuser", "field_name": "groups", "term": "eng"},
    ],
)
def test_autocomplete_on_a_reverse_relation_is_refused_not_a_500(company_admin_client, group, params):
    response = company_admin_client.get(AUTOCOMPLETE, params)

    assert response.status_code == 403


def test_autocomplete_on_a_reverse_relation_is_refused_for_a_server_admin_too(server_admin_client):
    params = {"app_label": "accounts", "model_name": "applicationuser", "field_name": "groups"}

    assert server_admin_client.get(AUTOCOMPLETE, params).status_code == 403


def test_autocomplete_on_a_forward_relation_answers_within_the_company(company_admin_client, admin_user, other_user):
    colleague = UserFactory(company=admin_user.company, email="colleague@acme.example")
    params = {"app_label": "accounts", "model_name": "group", "field_name": "members", "term": "example"}

    response = company_admin_client.get(AUTOCOMPLETE, params)

    assert response.status_code == 200
    ids = {result["id"] for result in response.json()["results"]}
    assert ids == {str(admin_user.pk), str(colleague.pk)}


def test_autocomplete_needs_a_login(client, db):
    params = {"app_label": "accounts", "model_name": "group", "field_name": "members"}

    response = client.get(AUTOCOMPLETE, params)

    assert response.status_code == 302 and "/admin/login/" in response["Location"]
