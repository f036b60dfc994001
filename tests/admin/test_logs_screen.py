"""Admin > Logs: events explained in words, filtered by actor, action, target and date range, linked to their
objects without a query per row, exported as streamed CSV (audited, formula-safe), scoped to the company."""

import csv
import io
import tracemalloc
from datetime import UTC, timedelta

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.accounts.services import group_create, user_delete
from apps.audit.models import AuditEvent
from apps.audit.services import Actor, audit_event_record
from apps.companies.services import company_rename
from apps.oauth.services import access_token_issue, api_client_rotate_secret
from tests.admin.conftest import logged_in
from tests.admin.helpers import change_url, changelist
from tests.factories import APIUserFactory, GroupFactory, UserFactory

LOGS = changelist("audit_auditevent")
EXPORT = reverse("admin:audit_auditevent_export_csv")


def event(company, action, **kwargs):
    return audit_event_record(action=action, company=company, actor=kwargs.pop("actor", Actor.system()), **kwargs)


def listed(browser, **query) -> set:
    response = browser.get(LOGS, query)
    assert response.status_code == 200
    return set(response.context["cl"].result_list)


def exported(browser, **query) -> list[dict]:
    response = browser.get(EXPORT, query)
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body)))


def days_ago(entry: AuditEvent, days: int) -> AuditEvent:
    AuditEvent.objects.filter(pk=entry.pk).update(created=timezone.now() - timedelta(days=days))
    return AuditEvent.objects.get(pk=entry.pk)


# --- words ---


def test_the_list_says_what_happened_in_words(company_admin_client, admin_user, api_client):
    api_client_rotate_secret(client=api_client, actor=Actor(user=admin_user))

    html = company_admin_client.get(LOGS).content.decode()

    assert "admin@acme.example rotated the secret of the API client Acme integration (0 tokens revoked)" in html
    assert "What happened" in html


def test_the_action_filter_offers_readable_names(company_admin_client, company):
    event(company, "client.secret_rotated")
    event(company, "chat.message_blocked")

    html = company_admin_client.get(LOGS).content.decode()

    assert "Client secret rotated" in html
    assert "chat: message blocked" in html


def test_an_events_page_says_what_happened_and_links_the_target(company_admin_client, admin_user, plain_user):
    entry = event(admin_user.company, "user.password_set", actor=Actor(user=admin_user), target=plain_user)

    html = company_admin_client.get(change_url("audit_auditevent", entry.pk)).content.decode()

    assert "admin@acme.example set a new password for user@acme.example" in html
    assert change_url("accounts_applicationuser", plain_user.pk) in html


# --- filters ---


def test_filter_by_actor_person_and_actor_client(company_admin_client, company, admin_user, api_client):
    by_admin = event(company, "user.updated", actor=Actor(user=admin_user))
    by_client = event(company, "token.issued", actor=Actor(client=api_client))
    by_command = event(company, "group.created")

    assert listed(company_admin_client, actor_user__id__exact=admin_user.pk) == {by_admin}
    assert listed(company_admin_client, actor_client__id__exact=api_client.pk) == {by_client}
    assert listed(company_admin_client, actor_type__exact="system") == {by_command}


def test_filter_by_action(company_admin_client, company):
    rotated = event(company, "client.secret_rotated")
    event(company, "user.created")

    assert listed(company_admin_client, action="client.secret_rotated") == {rotated}


def test_filter_by_kind_of_target_and_by_one_target(company_admin_client, company, plain_user, group):
    about_user = event(company, "user.updated", target=plain_user)
    about_group = event(company, "group.renamed", target=group)
    about_other_group = event(company, "group.renamed", target=GroupFactory(company=company, name="Sales"))

    assert listed(company_admin_client, target_type="accounts.group") == {about_group, about_other_group}
    assert listed(company_admin_client, target_type="accounts.group", target_id=str(group.pk)) == {about_group}
    assert listed(company_admin_client, q="Sales") == {about_other_group}
    assert listed(company_admin_client, target_id=plain_user.userid) == {about_user}


def test_the_target_filter_names_the_kinds_of_object(company_admin_client, company, group):
    event(company, "group.renamed", target=group)

    html = company_admin_client.get(LOGS).content.decode()

    assert "?target_type=accounts.group" in html
    assert ">Group</a>" in html


def test_filter_by_date_range_includes_both_days(company_admin_client, company):
    today = event(company, "user.created")
    three_days = days_ago(event(company, "user.updated"), 3)
    ten_days = days_ago(event(company, "group.created"), 10)
    day = timezone.localdate()

    def span(**bounds):
        return listed(company_admin_client, **{k: str(day - timedelta(days=v)) for k, v in bounds.items()})

    assert span(created_from=3) == {today, three_days}
    assert span(created_to=3) == {three_days, ten_days}
    assert span(created_from=10, created_to=3) == {three_days, ten_days}
    assert span(created_from=3, created_to=3) == {three_days}
    assert span(created_from=2, created_to=1) == set()


def test_the_date_range_form_keeps_the_other_filters(company_admin_client, company):
    event(company, "user.created")

    html = company_admin_client.get(LOGS, {"action": "user.created", "q": "x"}).content.decode()

    assert '<input type="hidden" name="action" value="user.created">' in html
    assert '<input type="hidden" name="q" value="x">' in html
    assert 'name="created_from"' in html


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01", "2026-02-30", "1" * 500])
def test_a_malformed_date_shows_the_error_page_not_a_500(company_admin_client, company, value):
    event(company, "user.created")

    response = company_admin_client.get(LOGS, {"created_from": value})

    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


# --- links to the objects ---


def test_each_event_links_to_its_object_while_it_exists(company_admin_client, company, admin_user, plain_user, group):
    doomed = UserFactory(company=company, email="gone@acme.example")
    event(company, "user.updated", target=plain_user)
    event(company, "group.created", target=group)
    event(company, "user.created", target=doomed)
    token, _ = access_token_issue(client=APIUserFactory(company=company, name="Linked client"), user=None)
    event(company, "token.issued", client=token.client, target=token)
    user_delete(user=doomed, actor=Actor(user=admin_user))

    html = company_admin_client.get(LOGS).content.decode()

    assert f'href="{change_url("accounts_applicationuser", plain_user.pk)}"' in html
    assert f'href="{change_url("accounts_group", group.pk)}"' in html
    assert f'href="{change_url("oauth_accesstoken", token.pk)}"' in html
    assert '<span class="audit-target">gone@acme.example</span>' in html


def test_no_link_to_another_companys_object_even_from_an_own_event(company_admin_client, company, other_user):
    # An own event naming a foreign object cannot happen through the services; the link check holds anyway.
    event(company, "user.updated", target=other_user)

    html = company_admin_client.get(LOGS).content.decode()

    assert change_url("accounts_applicationuser", other_user.pk) not in html
    assert '<span class="audit-target">user@globex.example</span>' in html


def test_a_malformed_target_id_is_shown_without_a_link(company_admin_client, company):
    entry = event(company, "group.renamed")
    AuditEvent.objects.filter(pk=entry.pk).update(target_type="accounts.group", target_id="not-a-number")

    response = company_admin_client.get(LOGS)

    assert response.status_code == 200
    assert '<span class="audit-target">not-a-number</span>' in response.content.decode()


def test_companies_link_for_a_server_admin_only(company_admin_client, server_admin_client, company):
    company_rename(company=company, name="Acme Corp", actor=Actor.system())
    link = f'href="{change_url("companies_company", company.pk)}"'

    assert link not in company_admin_client.get(LOGS).content.decode()
    assert link in server_admin_client.get(LOGS).content.decode()


def _fill(company, count: int) -> None:
    for _ in range(count):
        user = UserFactory(company=company)
        client = APIUserFactory(company=company)
        event(company, "user.updated", actor=Actor(user=user), user=user, target=user)
        event(
            company,
            "group.created",
            target=group_create(company=company, name=f"Group of {user.email}", actor=Actor.system()),
        )
        event(company, "client.updated", client=client, target=client)
        event(company, "token.issued", client=client, target=access_token_issue(client=client, user=None)[0])


def _screen_queries(client) -> list[str]:
    """The SQL of one request of the Logs screen, without the session store's own (database or cache backend)."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get(LOGS).status_code == 200
    return [
        q["sql"] for q in queries.captured_queries if "django_session" not in q["sql"] and "SAVEPOINT" not in q["sql"]
    ]


def test_the_list_runs_a_fixed_number_of_queries_whatever_the_rows(company_admin_client, company):
    # The request's user and company; the filters' choices (action, actor person and client, target, client,
    # user); two counts and the page; one look-up per kind of target (user, group, client, token); the date
    # hierarchy's two. Seventeen, with 10 rows or with 60 (the session store's queries depend on its backend).
    _fill(company, 2)
    assert len(_screen_queries(company_admin_client)) == 17

    _fill(company, 10)
    assert len(_screen_queries(company_admin_client)) == 17
    response = company_admin_client.get(LOGS)
    assert len(response.context["cl"].result_list) == 60


# --- CSV export ---


def test_export_streams_the_filtered_rows_in_the_lists_order(company_admin_client, company, admin_user, group):
    first = event(company, "group.renamed", actor=Actor(user=admin_user), target=group, detail={"before": "Eng"})
    second = event(company, "group.renamed", target=group, detail={"before": "Engineering"})
    event(company, "user.created")

    response = company_admin_client.get(EXPORT, {"action": "group.renamed"})
    rows = exported(company_admin_client, action="group.renamed")

    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="airisk-logs-acme-')
    assert [row["what happened"] for row in rows] == [
        "The command line renamed the group Engineering to Engineering",
        "admin@acme.example renamed the group Eng to Engineering",
    ]
    assert rows[1]["actor"] == "admin@acme.example"
    assert rows[1]["target id"] == str(group.pk)
    assert rows[1]["detail"] == '{"before": "Eng"}'
    assert rows[1]["time (UTC)"] == first.created.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    assert second.pk > first.pk


def test_export_honours_the_date_range_and_search(company_admin_client, company):
    event(company, "user.created", actor=Actor(ip="203.0.113.9"))
    days_ago(event(company, "user.created"), 5)

    rows = exported(company_admin_client, created_from=str(timezone.localdate()), q="anonymous")

    assert [(row["action"], row["IP address"]) for row in rows] == [("user.created", "203.0.113.9")]


def test_export_is_audited_with_its_criteria(company_admin_client, company, admin_user):
    event(company, "user.created")

    exported(company_admin_client, action="user.created", created_from="2026-01-01")

    record = AuditEvent.objects.get(action="audit.exported")
    assert record.company == company
    assert record.actor_user == admin_user
    assert record.detail == {"format": "CSV", "criteria": {"action": "user.created", "created_from": "2026-01-01"}}


def test_an_oversized_criterion_is_recorded_cut_short(company_admin_client, company):
    exported(company_admin_client, q="x" * 5000)

    assert AuditEvent.objects.get(action="audit.exported").detail["criteria"] == {"q": "x" * 200}


def test_export_defuses_spreadsheet_formulas(company_admin_client, company):
    for label in ('=HYPERLINK("http://evil")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "plain"):
        entry = event(company, "group.created")
        AuditEvent.objects.filter(pk=entry.pk).update(target_label=label, actor_label=label)

    rows = exported(company_admin_client, action="group.created")

    assert sorted(row["target"] for row in rows) == sorted(
        ['\'=HYPERLINK("http://evil")', "'+1+1", "'-2+3", "'@SUM(A1)", "'\t=1", "plain"]
    )
    assert all(not row["what happened"].startswith(("=", "+", "-", "@")) for row in rows)


def test_a_malformed_filter_exports_nothing_and_is_not_audited(company_admin_client, company):
    event(company, "user.created")

    response = company_admin_client.get(EXPORT, {"created_to": "not-a-date"})

    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")
    assert not AuditEvent.objects.filter(action="audit.exported").exists()


def test_export_memory_does_not_grow_with_the_rows(company_admin_client, company):
    def peak_bytes_for(count: int) -> int:
        AuditEvent.objects.all().delete()
        AuditEvent.objects.bulk_create(
            AuditEvent(company=company, action="user.updated", actor_type="system", target_label=f"user {n}" * 8)
            for n in range(count)
        )
        response = company_admin_client.get(EXPORT)
        tracemalloc.start()
        size = sum(len(chunk) for chunk in response.streaming_content)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert size > count * 100
        return peak

    small, large = peak_bytes_for(1_000), peak_bytes_for(6_000)

    assert large < small * 1.5


# --- who sees what ---


def test_company_admin_exports_only_their_companys_events(company_admin_client, company, other_company):
    event(company, "user.created")
    event(other_company, "user.created", actor=Actor(ip="192.0.2.66"))
    event(None, "server_admin.created")

    rows = exported(company_admin_client)

    # The export's own audit.exported is recorded before the first row, so it is in the file too.
    assert [(row["action"], row["actor"]) for row in rows] == [
        ("audit.exported", "admin@acme.example"),
        ("user.created", "command line"),
    ]


def test_company_admin_never_lists_another_companys_events(company_admin_client, company, other_company):
    own = event(company, "user.created")
    event(other_company, "user.created")
    event(None, "server_admin.created")

    assert listed(company_admin_client) == {own}
    assert listed(company_admin_client, action="user.created") == {own}


def test_server_admin_lists_and_exports_every_companys_events(server_admin_client, company, other_company):
    event(company, "user.created")
    event(other_company, "user.created")
    event(None, "server_admin.created")

    assert len(listed(server_admin_client)) == 3

    rows = exported(server_admin_client)
    assert len(rows) == 4
    assert AuditEvent.objects.get(action="audit.exported").company is None


@pytest.mark.parametrize("roles", [["monitor"], ["compliance"], ["user"], ["monitor", "compliance", "user"]])
def test_other_roles_cannot_export(company, roles):
    event(company, "user.created")
    browser = logged_in(UserFactory(company=company, roles=roles))

    response = browser.get(EXPORT)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert not AuditEvent.objects.filter(action="audit.exported").exists()


def test_anonymous_visitor_cannot_export(client, company):
    event(company, "user.created")

    response = client.get(EXPORT)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_the_export_button_carries_the_current_filters(company_admin_client, company):
    event(company, "user.created")

    html = company_admin_client.get(LOGS, {"action": "user.created", "q": "acme"}).content.decode()

    assert f'href="{EXPORT}?action=user.created&amp;q=acme"' in html
