"""The users and groups screens: list, search, filter, invite, edit roles and groups, deactivate, delete,
and the rule that a company always keeps an active admin."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import ApplicationUser, Group
from apps.oauth.services import access_token_issue
from tests.admin.conftest import logged_in
from tests.admin.helpers import action_post, actions_recorded, add_url, change_url, changelist, delete_url
from tests.factories import GroupFactory, UserFactory


def user_form(user, **changes) -> dict:
    data = {
        "email": user.email,
        "name": user.name,
        "roles": user.roles,
        "groups": [g.pk for g in user.groups.all()],
        "is_active": "on" if user.is_active else "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


def messages_of(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


# --- list, search, filter ---


def test_users_list_filters_by_role_and_active(company_admin_client, company, admin_user, plain_user):
    monitor = UserFactory(company=company, roles=["monitor"])
    inactive = UserFactory(company=company, roles=["user"], is_active=False)

    monitors = company_admin_client.get(changelist("accounts_applicationuser"), {"role": "monitor"})
    admins = company_admin_client.get(changelist("accounts_applicationuser"), {"role": "admin"})
    inactives = company_admin_client.get(changelist("accounts_applicationuser"), {"is_active__exact": "0"})

    assert list(monitors.context["cl"].result_list) == [monitor]
    assert list(admins.context["cl"].result_list) == [admin_user]
    assert list(inactives.context["cl"].result_list) == [inactive]


def test_users_list_searches_email_and_name(company_admin_client, company):
    ada = UserFactory(company=company, name="Ada Lovelace", email="ada@acme.example")
    UserFactory(company=company, name="Grace Hopper", email="grace@acme.example")

    by_name = company_admin_client.get(changelist("accounts_applicationuser"), {"q": "lovelace"})
    by_email = company_admin_client.get(changelist("accounts_applicationuser"), {"q": "ada@"})

    assert list(by_name.context["cl"].result_list) == [ada]
    assert list(by_email.context["cl"].result_list) == [ada]


def test_users_list_filters_by_group(company_admin_client, company, group, plain_user):
    group.members.add(plain_user)
    GroupFactory(company=company, name="Sales")

    response = company_admin_client.get(changelist("accounts_applicationuser"), {"groups__id__exact": group.pk})

    assert list(response.context["cl"].result_list) == [plain_user]


def test_users_list_runs_a_constant_number_of_queries(company_admin_client, company, group):
    with CaptureQueriesContext(connection) as few:
        company_admin_client.get(changelist("accounts_applicationuser"))
    for user in UserFactory.create_batch(10, company=company):
        group.members.add(user)
    with CaptureQueriesContext(connection) as many:
        company_admin_client.get(changelist("accounts_applicationuser"))

    assert len(many) == len(few)


# --- invite, edit ---


def test_invite_a_user_with_roles_groups_and_password(company_admin_client, company, group, client):
    response = company_admin_client.post(
        add_url("accounts_applicationuser"),
        {
            "email": "new@acme.example",
            "name": "New Person",
            "new_password": "a-long-enough-passphrase-9",
            "roles": ["monitor", "compliance"],
            "groups": [group.pk],
            "is_active": "on",
        },
    )

    user = ApplicationUser.objects.get(email="new@acme.example")
    assert response.status_code == 302
    assert user.company == company
    assert set(user.roles) == {"monitor", "compliance"}
    assert list(user.groups.all()) == [group]
    assert user.check_password("a-long-enough-passphrase-9")
    assert actions_recorded(company)[-2:] == ["user.created", "group.member_added"]


def test_invite_rejects_a_duplicate_email_and_a_weak_password(company_admin_client, plain_user):
    response = company_admin_client.post(
        add_url("accounts_applicationuser"),
        {"email": "USER@acme.example", "new_password": "123", "roles": ["user"], "is_active": "on"},
    )

    errors = response.context["adminform"].form.errors
    assert response.status_code == 200
    assert "email" in errors
    assert "new_password" in errors
    assert ApplicationUser.objects.filter(email__iexact="user@acme.example").count() == 1


def test_user_form_has_help_texts_and_no_superuser_or_company_field(company_admin_client, plain_user):
    response = company_admin_client.get(change_url("accounts_applicationuser", plain_user.pk))

    fields = response.context["adminform"].form.fields
    assert "is_superuser" not in fields
    assert "company" not in fields
    assert all(field.help_text for field in fields.values())


def test_edit_roles_groups_and_name(company_admin_client, company, plain_user, group):
    other_group = GroupFactory(company=company, name="Sales")
    plain_user.groups.add(other_group)

    response = company_admin_client.post(
        change_url("accounts_applicationuser", plain_user.pk),
        user_form(plain_user, name="Renamed", roles=["user", "monitor"], groups=[group.pk]),
    )

    plain_user.refresh_from_db()
    assert response.status_code == 302
    assert plain_user.name == "Renamed"
    assert set(plain_user.roles) == {"user", "monitor"}
    assert list(plain_user.groups.all()) == [group]
    recorded = actions_recorded(company)
    assert {"user.updated", "user.roles_changed", "group.member_added", "group.member_removed"} <= set(recorded)


def test_set_a_new_password(company_admin_client, plain_user, company):
    company_admin_client.post(
        change_url("accounts_applicationuser", plain_user.pk),
        user_form(plain_user, new_password="another-long-passphrase-7"),
    )

    plain_user.refresh_from_db()
    assert plain_user.check_password("another-long-passphrase-7")
    assert actions_recorded(company)[-1] == "user.password_set"


def test_deactivate_on_the_form_revokes_the_users_tokens(company_admin_client, plain_user, api_client, company):
    token, _ = access_token_issue(client=api_client, user=plain_user)

    company_admin_client.post(
        change_url("accounts_applicationuser", plain_user.pk), user_form(plain_user, is_active="")
    )

    plain_user.refresh_from_db()
    token.refresh_from_db()
    assert not plain_user.is_active
    assert token.revoked_at is not None
    assert actions_recorded(company)[-2:] == ["token.revoked", "user.deactivated"]


def test_deactivate_and_activate_actions(company_admin_client, plain_user, api_client):
    token, _ = access_token_issue(client=api_client, user=plain_user)

    action_post(company_admin_client, "accounts_applicationuser", "deactivate_users", [plain_user.pk])
    plain_user.refresh_from_db()
    token.refresh_from_db()
    assert not plain_user.is_active
    assert token.revoked_at is not None

    action_post(company_admin_client, "accounts_applicationuser", "activate_users", [plain_user.pk])
    plain_user.refresh_from_db()
    assert plain_user.is_active


def test_delete_a_user_from_the_delete_page(company_admin_client, plain_user, api_client, company):
    access_token_issue(client=api_client, user=plain_user)

    confirm = company_admin_client.get(delete_url("accounts_applicationuser", plain_user.pk))
    response = company_admin_client.post(delete_url("accounts_applicationuser", plain_user.pk), {"post": "yes"})

    assert confirm.status_code == 200
    assert response.status_code == 302
    assert not ApplicationUser.objects.filter(pk=plain_user.pk).exists()
    assert "user.deleted" in actions_recorded(company)


def test_delete_selected_users_asks_then_deletes(company_admin_client, company):
    doomed = UserFactory.create_batch(2, company=company, roles=["user"])

    confirm = action_post(company_admin_client, "accounts_applicationuser", "delete_selected", [u.pk for u in doomed])
    done = action_post(
        company_admin_client, "accounts_applicationuser", "delete_selected", [u.pk for u in doomed], post="yes"
    )

    assert confirm.status_code == 200
    assert done.status_code == 302
    assert not ApplicationUser.objects.filter(pk__in=[u.pk for u in doomed]).exists()
    assert actions_recorded(company).count("user.deleted") == 2


# --- the last-admin rule ---


def test_admin_cannot_remove_their_own_admin_role(company_admin_client, admin_user, company):
    UserFactory(company=company, roles=["admin"])  # not the last admin: the rule still holds

    response = company_admin_client.post(
        change_url("accounts_applicationuser", admin_user.pk), user_form(admin_user, roles=["user"])
    )

    admin_user.refresh_from_db()
    assert response.status_code == 200
    assert "cannot remove your own admin role" in " ".join(response.context["adminform"].form.non_field_errors())
    assert admin_user.role_admin


def test_another_admin_may_remove_an_admins_role(company_admin_client, company):
    second = UserFactory(company=company, roles=["admin"])

    response = company_admin_client.post(
        change_url("accounts_applicationuser", second.pk), user_form(second, roles=["user"])
    )

    second.refresh_from_db()
    assert response.status_code == 302
    assert not second.role_admin


def test_last_admin_cannot_deactivate_themselves(company_admin_client, admin_user):
    response = company_admin_client.post(
        change_url("accounts_applicationuser", admin_user.pk), user_form(admin_user, is_active="")
    )

    admin_user.refresh_from_db()
    assert "last active admin" in " ".join(response.context["adminform"].form.non_field_errors())
    assert admin_user.is_active


def test_last_admin_cannot_deactivate_themselves_by_action(company_admin_client, admin_user):
    response = action_post(company_admin_client, "accounts_applicationuser", "deactivate_users", [admin_user.pk])

    admin_user.refresh_from_db()
    assert admin_user.is_active
    assert "active admin" in messages_of(company_admin_client.get(response["Location"]))


def test_last_admin_cannot_delete_themselves(company_admin_client, admin_user):
    response = company_admin_client.post(delete_url("accounts_applicationuser", admin_user.pk), {"post": "yes"})

    assert ApplicationUser.objects.filter(pk=admin_user.pk).exists()
    assert "active admin" in messages_of(company_admin_client.get(response["Location"]))


def test_bulk_delete_that_would_remove_every_admin_deletes_nothing(company_admin_client, company, admin_user):
    second = UserFactory(company=company, roles=["admin"])
    bystander = UserFactory(company=company, roles=["user"])
    ids = [bystander.pk, second.pk, admin_user.pk]

    action_post(company_admin_client, "accounts_applicationuser", "delete_selected", ids, post="yes")

    assert ApplicationUser.objects.filter(pk__in=ids).count() == 3


def test_admin_may_deactivate_themselves_when_another_admin_remains(company_admin_client, admin_user, company):
    UserFactory(company=company, roles=["admin"])

    action_post(company_admin_client, "accounts_applicationuser", "deactivate_users", [admin_user.pk])

    admin_user.refresh_from_db()
    assert not admin_user.is_active


def test_server_admin_cannot_delete_a_companys_last_admin_either(server_admin_client, admin_user):
    server_admin_client.post(delete_url("accounts_applicationuser", admin_user.pk), {"post": "yes"})

    assert ApplicationUser.objects.filter(pk=admin_user.pk).exists()


def test_server_admin_invites_a_user_into_a_chosen_company(server_admin_client, other_company, other_group):
    response = server_admin_client.post(
        add_url("accounts_applicationuser"),
        {
            "company": other_company.pk,
            "email": "boss@globex.example",
            "roles": ["admin"],
            "groups": [other_group.pk],
            "is_active": "on",
        },
    )

    user = ApplicationUser.objects.get(email="boss@globex.example")
    assert response.status_code == 302
    assert user.company == other_company
    assert list(user.groups.all()) == [other_group]


def test_server_admin_cannot_put_a_user_in_another_companys_group(server_admin_client, company, other_group):
    response = server_admin_client.post(
        add_url("accounts_applicationuser"),
        {"company": company.pk, "email": "x@acme.example", "roles": ["user"], "groups": [other_group.pk]},
    )

    assert response.status_code == 200
    assert "groups" in response.context["adminform"].form.errors


# --- groups ---


def test_create_a_group_with_members(company_admin_client, company, plain_user):
    response = company_admin_client.post(add_url("accounts_group"), {"name": "Research", "members": [plain_user.pk]})

    group = Group.objects.get(name="Research")
    assert response.status_code == 302
    assert group.company == company
    assert list(group.members.all()) == [plain_user]
    assert actions_recorded(company)[-2:] == ["group.created", "group.member_added"]


def test_group_names_are_unique_within_the_company(company_admin_client, group, other_company):
    GroupFactory(company=other_company, name="Research")

    duplicate = company_admin_client.post(add_url("accounts_group"), {"name": "Engineering"})
    same_as_other_company = company_admin_client.post(add_url("accounts_group"), {"name": "Research"})

    assert duplicate.status_code == 200
    assert "name" in duplicate.context["adminform"].form.errors
    assert same_as_other_company.status_code == 302


def test_rename_and_change_members(company_admin_client, company, group, plain_user, admin_user):
    group.members.add(admin_user)

    response = company_admin_client.post(
        change_url("accounts_group", group.pk), {"name": "Platform", "members": [plain_user.pk]}
    )

    group.refresh_from_db()
    assert response.status_code == 302
    assert group.name == "Platform"
    assert list(group.members.all()) == [plain_user]
    assert {"group.renamed", "group.member_added", "group.member_removed"} <= set(actions_recorded(company))


def test_delete_a_group(company_admin_client, company, group, plain_user):
    group.members.add(plain_user)

    response = company_admin_client.post(delete_url("accounts_group", group.pk), {"post": "yes"})

    assert response.status_code == 302
    assert not Group.objects.filter(pk=group.pk).exists()
    assert ApplicationUser.objects.filter(pk=plain_user.pk).exists()
    assert actions_recorded(company)[-1] == "group.deleted"


def test_delete_selected_groups(company_admin_client, company):
    groups = GroupFactory.create_batch(2, company=company)

    action_post(company_admin_client, "accounts_group", "delete_selected", [g.pk for g in groups], post="yes")

    assert not Group.objects.filter(pk__in=[g.pk for g in groups]).exists()
    assert actions_recorded(company).count("group.deleted") == 2


def test_groups_list_shows_member_counts(company_admin_client, group, plain_user, admin_user):
    group.members.add(plain_user, admin_user)

    response = company_admin_client.get(changelist("accounts_group"))

    assert response.context["cl"].result_list[0].member_count == 2


def test_monitor_cannot_create_a_group(company):
    browser = logged_in(UserFactory(company=company, roles=["monitor"]))

    response = browser.post(add_url("accounts_group"), {"name": "Sneaky"})

    assert response.status_code == 302
    assert not Group.objects.filter(name="Sneaky").exists()
