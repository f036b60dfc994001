"""The issued tokens and logs screens (read-only apart from revoking), and the server admin's Companies."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.request import Request

from apps.audit.models import AuditEvent
from apps.audit.services import Actor, audit_event_record
from apps.companies.models import Company
from apps.oauth.authentication import BearerTokenAuthentication, InvalidBearerToken
from apps.oauth.models import AccessToken
from apps.oauth.services import access_token_issue
from tests.admin.helpers import action_post, actions_recorded, add_url, change_url, changelist, delete_url
from tests.factories import APIUserFactory, UserFactory
from tests.helpers import bearer

# --- issued tokens ---


def test_tokens_list_shows_client_user_times_and_status(company_admin_client, api_client, plain_user):
    generic, _ = access_token_issue(client=api_client, user=None)
    for_user, _ = access_token_issue(client=api_client, user=plain_user)

    response = company_admin_client.get(changelist("oauth_accesstoken"))

    html = response.content.decode()
    assert set(response.context["cl"].result_list) == {generic, for_user}
    assert "user@acme.example" in html
    assert "generic token" in html
    for column in ("client", "issued", "expires", "revoked"):
        assert column in html.lower()


def test_tokens_filter_by_status_kind_and_user(company_admin_client, api_client, plain_user):
    active, _ = access_token_issue(client=api_client, user=None)
    revoked, _ = access_token_issue(client=api_client, user=plain_user)
    expired, _ = access_token_issue(client=api_client, user=None)
    AccessToken.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    AccessToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    def listed(**query):
        return set(company_admin_client.get(changelist("oauth_accesstoken"), query).context["cl"].result_list)

    assert listed(status="active") == {active}
    assert listed(status="revoked") == {revoked}
    assert listed(status="expired") == {expired}
    assert listed(kind="user") == {revoked}
    assert listed(user__id__exact=plain_user.pk) == {revoked}


def test_revoke_tokens_action_revokes_and_the_token_stops_working(company_admin_client, api_client, company, rf):
    token, jwt_value = access_token_issue(client=api_client, user=None)
    keep, _ = access_token_issue(client=api_client, user=None)

    response = action_post(company_admin_client, "oauth_accesstoken", "revoke_tokens", [token.pk])

    token.refresh_from_db()
    keep.refresh_from_db()
    assert response.status_code == 302
    assert token.revoked_at is not None
    assert keep.revoked_at is None
    assert actions_recorded(company)[-1] == "token.revoked"
    with pytest.raises(InvalidBearerToken):
        BearerTokenAuthentication().authenticate(Request(rf.get("/", headers=bearer(jwt_value))))


def test_tokens_are_read_only(company_admin_client, api_client):
    token, _ = access_token_issue(client=api_client, user=None)

    assert company_admin_client.get(add_url("oauth_accesstoken")).status_code == 403
    assert company_admin_client.post(change_url("oauth_accesstoken", token.pk), {"jti": "x"}).status_code == 403
    assert company_admin_client.post(delete_url("oauth_accesstoken", token.pk), {"post": "yes"}).status_code == 403
    assert company_admin_client.get(change_url("oauth_accesstoken", token.pk)).status_code == 200
    assert AccessToken.objects.get(pk=token.pk).jti == token.jti


# --- logs ---


def event(company, action, **kwargs):
    return audit_event_record(action=action, company=company, actor=kwargs.pop("actor", Actor.system()), **kwargs)


def test_logs_list_newest_first(company_admin_client, company):
    first = event(company, "user.created")
    second = event(company, "group.created")
    AuditEvent.objects.filter(pk=first.pk).update(created=timezone.now() - timedelta(days=2))

    response = company_admin_client.get(changelist("audit_auditevent"))

    assert list(response.context["cl"].result_list) == [second, AuditEvent.objects.get(pk=first.pk)]


def test_logs_filter_by_action_actor_client_user_and_date(
    company_admin_client, company, admin_user, plain_user, api_client
):
    by_admin = event(company, "user.updated", actor=Actor(user=admin_user), user=plain_user)
    by_client = event(company, "oauth.token.issued", client=api_client)
    old = event(company, "group.created")
    AuditEvent.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(days=40))

    def listed(**query):
        return set(company_admin_client.get(changelist("audit_auditevent"), query).context["cl"].result_list)

    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    assert listed(action="user.updated") == {by_admin}
    assert listed(actor_user__id__exact=admin_user.pk) == {by_admin}
    assert listed(client__id__exact=api_client.pk) == {by_client}
    assert listed(user__id__exact=plain_user.pk) == {by_admin}
    assert listed(created__gte=str(today), created__lt=str(today + timedelta(days=1))) == {by_admin, by_client}


def test_logs_action_filter_offers_only_own_actions(company_admin_client, company, other_company):
    event(company, "user.created")
    event(other_company, "secret.other_company_only")

    html = company_admin_client.get(changelist("audit_auditevent")).content.decode()

    assert "?action=user.created" in html
    assert "secret.other_company_only" not in html


def test_logs_are_read_only(company_admin_client, company):
    entry = event(company, "user.created")

    assert company_admin_client.get(add_url("audit_auditevent")).status_code == 403
    assert company_admin_client.post(change_url("audit_auditevent", entry.pk), {"action": "x"}).status_code == 403
    assert company_admin_client.post(delete_url("audit_auditevent", entry.pk), {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.get(pk=entry.pk).action == "user.created"


def test_company_admin_does_not_see_server_level_events(company_admin_client, server_admin_client):
    server_event = event(None, "server_admin.created")

    assert company_admin_client.get(change_url("audit_auditevent", server_event.pk)).status_code == 404
    assert server_admin_client.get(change_url("audit_auditevent", server_event.pk)).status_code == 200


def test_admin_changes_record_who_and_from_where(company_admin_client, admin_user, plain_user, company):
    company_admin_client.post(
        change_url("accounts_applicationuser", plain_user.pk),
        {"email": plain_user.email, "name": "Changed", "roles": ["user"], "is_active": "on"},
    )

    entry = AuditEvent.objects.filter(company=company, action="user.updated").get()
    assert entry.actor_user == admin_user
    assert entry.actor_type == "user"
    assert entry.ip == "127.0.0.1"
    assert entry.trace_id.startswith("00-")


# --- companies (server admins) ---


def test_server_admin_creates_a_company(server_admin_client):
    response = server_admin_client.post(
        add_url("companies_company"), {"name": "Initech", "slug": "initech", "is_active": "on"}
    )

    company = Company.objects.get(slug="initech")
    assert response.status_code == 302
    assert company.name == "Initech"
    assert actions_recorded(company) == ["company.created"]


def test_server_admin_renames_a_company_but_not_its_slug(server_admin_client, company):
    response = server_admin_client.post(
        change_url("companies_company", company.pk), {"name": "Acme Corp", "slug": "changed", "is_active": "on"}
    )

    company.refresh_from_db()
    assert response.status_code == 302
    assert (company.name, company.slug) == ("Acme Corp", "acme")
    assert actions_recorded(company)[-1] == "company.renamed"


def test_deactivating_a_company_revokes_its_tokens_and_blocks_its_clients(
    server_admin_client, company, api_client, other_api_client, rf
):
    token, jwt_value = access_token_issue(client=api_client, user=None)
    other_token, _ = access_token_issue(client=other_api_client, user=None)

    action_post(server_admin_client, "companies_company", "deactivate_companies", [company.pk])

    company.refresh_from_db()
    token.refresh_from_db()
    other_token.refresh_from_db()
    assert not company.is_active
    assert token.revoked_at is not None
    assert other_token.revoked_at is None
    assert actions_recorded(company)[-2:] == ["token.revoked", "company.deactivated"]
    with pytest.raises(InvalidBearerToken):
        BearerTokenAuthentication().authenticate(Request(rf.get("/", headers=bearer(jwt_value))))


def test_deactivating_a_company_on_its_form_and_activating_it_again(server_admin_client, company):
    server_admin_client.post(change_url("companies_company", company.pk), {"name": "Acme", "slug": "acme"})
    company.refresh_from_db()
    assert not company.is_active

    action_post(server_admin_client, "companies_company", "activate_companies", [company.pk])
    company.refresh_from_db()
    assert company.is_active


def test_companies_list_counts_users_and_clients(server_admin_client, company):
    UserFactory.create_batch(2, company=company)
    APIUserFactory(company=company)

    response = server_admin_client.get(changelist("companies_company"))

    row = next(c for c in response.context["cl"].result_list if c.pk == company.pk)
    assert (row.user_count, row.client_count) == (2, 1)


def test_companies_cannot_be_deleted(server_admin_client, company):
    assert server_admin_client.post(delete_url("companies_company", company.pk), {"post": "yes"}).status_code == 403
    assert Company.objects.filter(pk=company.pk).exists()


@pytest.fixture
def rf():
    return RequestFactory()


def test_tokens_and_logs_lists_run_a_constant_number_of_queries(company_admin_client, company, api_client):
    def queries_for(screen):
        with CaptureQueriesContext(connection) as captured:
            company_admin_client.get(changelist(screen))
        return len(captured)

    access_token_issue(client=api_client, user=None)
    event(company, "user.created")
    few = {screen: queries_for(screen) for screen in ("oauth_accesstoken", "audit_auditevent")}
    for user in UserFactory.create_batch(8, company=company):
        client = APIUserFactory(company=company)
        access_token_issue(client=client, user=user)
        event(company, "user.updated", actor=Actor(user=user), client=client, user=user)

    assert {screen: queries_for(screen) for screen in few} == few


@pytest.mark.parametrize(
    ("url_name", "who"),
    [
        ("admin:accounts_group_add", "company_admin_client"),
        ("admin:oauth_apiuser_add", "company_admin_client"),
        ("admin:accounts_applicationuser_add", "company_admin_client"),
        ("admin:companies_company_add", "server_admin_client"),
        ("admin:oauth_apiuser_add", "server_admin_client"),
    ],
)
def test_every_form_field_explains_itself(request, url_name, who):
    browser = request.getfixturevalue(who)

    fields = browser.get(reverse(url_name)).context["adminform"].form.fields

    assert [name for name, field in fields.items() if not field.help_text] == []
