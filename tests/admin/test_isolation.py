"""Tenant isolation in the admin: company A's admin never sees, reaches or changes company B's objects.
Typed URLs of B's objects are 404 (as for a missing object), actions drop B's ids, and every choice list
(foreign keys, many-to-many, list filters, autocomplete) holds only A's rows."""

import pytest
from django.urls import reverse

from apps.accounts.models import ApplicationUser, Group
from apps.audit.models import AuditEvent
from apps.audit.services import Actor, audit_event_record
from apps.oauth.models import AccessToken
from apps.oauth.services import access_token_issue
from tests.admin.helpers import action_post, change_url, changelist, delete_url, history_url
from tests.factories import APIUserFactory


@pytest.fixture
def other_token(other_api_client, other_user):
    return access_token_issue(client=other_api_client, user=other_user)[0]


@pytest.fixture
def other_event(other_company, other_user):
    return audit_event_record(
        action="user.created", company=other_company, actor=Actor.system(), user=other_user, target=other_user
    )


@pytest.fixture
def foreign_objects(other_user, other_group, other_api_client, other_token, other_event):
    return {
        "accounts_applicationuser": other_user,
        "accounts_group": other_group,
        "oauth_apiuser": other_api_client,
        "oauth_accesstoken": other_token,
        "audit_auditevent": other_event,
    }


SCREENS = ["accounts_applicationuser", "accounts_group", "oauth_apiuser", "oauth_accesstoken", "audit_auditevent"]


@pytest.mark.parametrize("screen", SCREENS)
def test_typed_change_url_of_another_companys_object_is_404(company_admin_client, foreign_objects, screen):
    response = company_admin_client.get(change_url(screen, foreign_objects[screen].pk))

    assert response.status_code == 404


@pytest.mark.parametrize("screen", SCREENS)
def test_typed_history_url_of_another_companys_object_is_404(company_admin_client, foreign_objects, screen):
    assert company_admin_client.get(history_url(screen, foreign_objects[screen].pk)).status_code == 404


@pytest.mark.parametrize("screen", ["accounts_applicationuser", "accounts_group"])
def test_delete_url_of_another_companys_object_is_404_and_deletes_nothing(
    company_admin_client, foreign_objects, screen
):
    target = foreign_objects[screen]

    get = company_admin_client.get(delete_url(screen, target.pk))
    post = company_admin_client.post(delete_url(screen, target.pk), {"post": "yes"})

    assert get.status_code == post.status_code == 404
    assert type(target).objects.filter(pk=target.pk).exists()


def test_change_post_to_another_companys_client_is_404_and_changes_nothing(company_admin_client, other_api_client):
    response = company_admin_client.post(
        change_url("oauth_apiuser", other_api_client.pk),
        {"name": "hijacked", "redirect_uris": "https://evil.example/cb", "is_active": "on"},
    )

    other_api_client.refresh_from_db()
    assert response.status_code == 404
    assert other_api_client.name == "Globex integration"


def test_rotate_secret_of_another_companys_client_is_404(company_admin_client, other_api_client):
    url = reverse("admin:oauth_apiuser_rotate_secret", args=[other_api_client.pk])
    before = other_api_client.secret_hash

    get = company_admin_client.get(url)
    post = company_admin_client.post(url)

    other_api_client.refresh_from_db()
    assert get.status_code == post.status_code == 404
    assert other_api_client.secret_hash == before


def test_object_url_of_a_missing_object_is_also_404(company_admin_client):
    assert company_admin_client.get(change_url("oauth_apiuser", 999999)).status_code == 404
    assert company_admin_client.get(change_url("oauth_apiuser", "not-a-number")).status_code == 404


def test_change_lists_show_only_the_own_companys_rows(
    company_admin_client, api_client, plain_user, group, foreign_objects, generic_token
):
    pages = {screen: company_admin_client.get(changelist(screen)) for screen in SCREENS}

    assert pages["oauth_apiuser"].context["cl"].result_count == 1
    assert api_client.client_id in pages["oauth_apiuser"].content.decode()
    assert foreign_objects["oauth_apiuser"].client_id not in pages["oauth_apiuser"].content.decode()
    assert "user@globex.example" not in pages["accounts_applicationuser"].content.decode()
    assert "user@acme.example" in pages["accounts_applicationuser"].content.decode()
    assert list(pages["accounts_group"].context["cl"].result_list) == [group]
    assert {t.company_id for t in pages["oauth_accesstoken"].context["cl"].result_list} == {api_client.company_id}
    assert foreign_objects["oauth_accesstoken"].jti not in pages["oauth_accesstoken"].content.decode()
    assert all(e.company_id == api_client.company_id for e in pages["audit_auditevent"].context["cl"].result_list)


def test_search_does_not_find_another_companys_rows(company_admin_client, other_user, other_api_client):
    users = company_admin_client.get(changelist("accounts_applicationuser"), {"q": "globex"})
    clients = company_admin_client.get(changelist("oauth_apiuser"), {"q": other_api_client.client_id})

    assert users.context["cl"].result_count == 0
    assert clients.context["cl"].result_count == 0


def test_server_admin_sees_every_companys_rows(
    server_admin_client, api_client, other_api_client, plain_user, other_user
):
    clients = server_admin_client.get(changelist("oauth_apiuser"))
    users = server_admin_client.get(changelist("accounts_applicationuser"))

    assert set(clients.context["cl"].result_list) == {api_client, other_api_client}
    assert {plain_user, other_user} <= set(users.context["cl"].result_list)
    assert server_admin_client.get(change_url("oauth_apiuser", other_api_client.pk)).status_code == 200


def test_actions_drop_another_companys_ids(company_admin_client, api_client, other_api_client, other_token):
    response = action_post(
        company_admin_client, "oauth_apiuser", "deactivate_clients", [api_client.pk, other_api_client.pk]
    )

    api_client.refresh_from_db()
    other_api_client.refresh_from_db()
    other_token.refresh_from_db()
    assert response.status_code == 302
    assert not api_client.is_active
    assert other_api_client.is_active
    assert other_token.revoked_at is None


def test_revoke_token_action_with_a_foreign_token_id_changes_nothing(company_admin_client, other_token):
    action_post(company_admin_client, "oauth_accesstoken", "revoke_tokens", [other_token.pk])

    other_token.refresh_from_db()
    assert other_token.revoked_at is None


def test_user_actions_with_foreign_ids_change_nothing(company_admin_client, other_user, other_group):
    action_post(company_admin_client, "accounts_applicationuser", "deactivate_users", [other_user.pk])
    action_post(company_admin_client, "accounts_applicationuser", "delete_selected", [other_user.pk], post="yes")
    action_post(company_admin_client, "accounts_group", "delete_selected", [other_group.pk], post="yes")

    other_user.refresh_from_db()
    assert other_user.is_active
    assert Group.objects.filter(pk=other_group.pk).exists()


def test_user_form_offers_only_the_own_companys_groups(company_admin_client, plain_user, group, other_group):
    add = company_admin_client.get(reverse("admin:accounts_applicationuser_add"))
    change = company_admin_client.get(change_url("accounts_applicationuser", plain_user.pk))

    for response in (add, change):
        assert list(response.context["adminform"].form.fields["groups"].queryset) == [group]


def test_user_form_rejects_another_companys_group_id(company_admin_client, plain_user, other_group):
    response = company_admin_client.post(
        change_url("accounts_applicationuser", plain_user.pk),
        {"email": plain_user.email, "name": "x", "roles": ["user"], "groups": [other_group.pk], "is_active": "on"},
    )

    assert response.status_code == 200
    assert "groups" in response.context["adminform"].form.errors
    assert not other_group.members.filter(pk=plain_user.pk).exists()


def test_group_form_offers_only_the_own_companys_users(company_admin_client, admin_user, plain_user, other_user):
    response = company_admin_client.get(reverse("admin:accounts_group_add"))

    assert set(response.context["adminform"].form.fields["members"].queryset) == {admin_user, plain_user}


def test_group_form_rejects_another_companys_user_id(company_admin_client, group, other_user):
    response = company_admin_client.post(
        change_url("accounts_group", group.pk), {"name": group.name, "members": [other_user.pk]}
    )

    assert response.status_code == 200
    assert "members" in response.context["adminform"].form.errors
    assert not group.members.exists()


def test_list_filters_offer_only_the_own_companys_related_rows(
    company_admin_client, company, api_client, plain_user, other_api_client, generic_token, other_token, other_event
):
    second = APIUserFactory(company=company, name="Acme second")
    access_token_issue(client=second, user=plain_user)
    audit_event_record(action="user.created", company=company, actor=Actor.system(), client=second, user=plain_user)

    tokens = company_admin_client.get(changelist("oauth_accesstoken")).content.decode()
    logs = company_admin_client.get(changelist("audit_auditevent")).content.decode()

    assert f"client__id__exact={api_client.pk}" in tokens
    assert f"client__id__exact={second.pk}" in tokens
    assert f"client__id__exact={other_api_client.pk}" not in tokens
    assert f"client__id__exact={second.pk}" in logs
    assert f"client__id__exact={other_api_client.pk}" not in logs
    assert "user@globex.example" not in tokens + logs
    assert "Globex integration" not in tokens + logs


def test_filtering_by_a_foreign_id_in_the_url_shows_nothing(company_admin_client, other_api_client, other_token):
    response = company_admin_client.get(changelist("oauth_accesstoken"), {"client__id__exact": other_api_client.pk})

    assert other_token.jti not in response.content.decode()


def test_autocomplete_lists_only_the_own_companys_rows(
    company_admin_client, api_client, other_api_client, generic_token
):
    response = company_admin_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "oauth", "model_name": "accesstoken", "field_name": "client", "term": ""},
    )

    assert response.status_code == 200
    assert {row["id"] for row in response.json()["results"]} == {str(api_client.pk)}


def test_company_admin_cannot_see_server_admins(company_admin_client, server_admin):
    response = company_admin_client.get(changelist("accounts_applicationuser"))

    assert server_admin not in response.context["cl"].result_list
    assert company_admin_client.get(change_url("accounts_applicationuser", server_admin.pk)).status_code == 404


def test_foreign_rows_are_unchanged_after_the_whole_run(company_admin_client, foreign_objects, other_company):
    before = {
        "users": list(ApplicationUser.objects.filter(company=other_company).values()),
        "tokens": list(AccessToken.objects.filter(company=other_company).values()),
        "events": AuditEvent.objects.filter(company=other_company).count(),
    }
    for screen in SCREENS:
        company_admin_client.post(change_url(screen, foreign_objects[screen].pk), {"name": "x"})

    assert list(ApplicationUser.objects.filter(company=other_company).values()) == before["users"]
    assert list(AccessToken.objects.filter(company=other_company).values()) == before["tokens"]
    assert AuditEvent.objects.filter(company=other_company).count() == before["events"]
