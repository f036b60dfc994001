"""The monitoring pages over Django's test client: the role matrix and two companies on every page, the queue's
filters and empty states, an issue's page (excerpt, changes, comments, history) and the rule screens."""

import pytest
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.audit.services import Actor
from apps.chat.models import Message, MessageType
from apps.chat.services import conversation_create
from apps.monitoring.models import AlertRule, Issue, IssueStatus
from apps.monitoring.services import Trigger, issue_raise
from tests.factories import UserFactory

HTMX = {"HX-Request": "true"}


@pytest.fixture
def issue(make_rule):
    rule = make_rule(name="Blocked prompts", kind="blocked_prompt")
    return issue_raise(rule=rule, trigger=Trigger(key="conversation:x", title="Prompt blocked by prompt_injection"))[0]


@pytest.fixture
def other_issue(other_company, other_monitor):
    from apps.monitoring.services import alert_rule_create

    rule, _ = alert_rule_create(
        company=other_company,
        actor=Actor(user=other_monitor),
        data={"name": "Globex rule", "kind": "blocked_prompt", "severity": "low", "enabled": True},
    )
    return issue_raise(rule=rule, trigger=Trigger(key="k", title="Globex issue"))[0]


@pytest.fixture
def people(admin_user, monitor_user, compliance_user, plain_user):
    return {"admin": admin_user, "monitor": monitor_user, "compliance": compliance_user, "user": plain_user}


def page_urls(issue):
    rule = issue.rule.public_id
    return [
        reverse("monitoring:index"),
        reverse("monitoring:issue", args=[issue.public_id]),
        reverse("monitoring:rules"),
        reverse("monitoring:rule-create"),
        reverse("monitoring:rule-edit", args=[rule]),
        reverse("monitoring:rule-delete", args=[rule]),
    ]


def post_urls(issue):
    rule = issue.rule.public_id
    return [
        (reverse("monitoring:issue-update", args=[issue.public_id]), {"status": "resolved", "severity": "low"}),
        (reverse("monitoring:issue-comment", args=[issue.public_id]), {"text": "hi"}),
        (reverse("monitoring:rule-toggle", args=[rule]), {}),
        (reverse("monitoring:rule-secret", args=[rule]), {}),
        (reverse("monitoring:rule-edit", args=[rule]), {"name": "x", "kind": "blocked_prompt", "severity": "low"}),
        (reverse("monitoring:rule-delete", args=[rule]), {}),
        (reverse("monitoring:rule-create"), {"name": "x", "kind": "blocked_prompt", "severity": "low"}),
    ]


@pytest.mark.parametrize(("role", "status"), [("admin", 200), ("monitor", 200), ("compliance", 403), ("user", 403)])
def test_every_page_by_role(client, people, issue, role, status):
    client.force_login(people[role])

    for url in page_urls(issue):
        assert client.get(url).status_code == status, url


@pytest.mark.parametrize("role", ["compliance", "user"])
def test_every_write_is_refused_without_the_role(client, people, issue, role):
    client.force_login(people[role])

    for url, data in post_urls(issue):
        assert client.post(url, data).status_code == 403, url
    assert AlertRule.objects.count() == 1 and Issue.objects.get().status == "open"
    assert not issue.comments.exists()


def test_anonymous_visitors_are_sent_to_the_login_page(client, issue):
    for url in page_urls(issue):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next="), url


@pytest.mark.parametrize("role", ["admin", "monitor"])
def test_another_companys_issue_and_rule_are_404_on_every_page_and_write(client, people, issue, other_issue, role):
    client.force_login(people[role])

    for url in page_urls(other_issue)[1:2] + page_urls(other_issue)[4:]:
        assert client.get(url).status_code == 404, url
    for url, data in post_urls(other_issue)[:-1]:
        assert client.post(url, data).status_code == 404, url
    other_issue.refresh_from_db()
    assert other_issue.status == "open" and AlertRule.objects.filter(company=other_issue.company).count() == 1
    html = client.get(reverse("monitoring:index") + "?status=").content.decode()
    assert "Globex issue" not in html and issue.title in html


def test_the_queue_filters_by_status_severity_rule_assignee_and_agent(client, monitor_user, issue, make_rule, agent):
    second_rule = make_rule(name="Toxic", kind="scanner_hit", scanner="toxicity", severity="low")
    second, _ = issue_raise(rule=second_rule, trigger=Trigger(key="k2", title="Toxic answer", agent=agent))
    Issue.objects.filter(pk=second.pk).update(assignee=monitor_user)
    client.force_login(monitor_user)
    url = reverse("monitoring:index")

    def titles(**query):
        html = client.get(url, query, headers=HTMX).content.decode()
        return [title for title in ("Prompt blocked", "Toxic answer") if title in html]

    assert titles() == ["Prompt blocked", "Toxic answer"]
    assert titles(severity="low") == ["Toxic answer"]
    assert titles(rule=issue.rule.public_id) == ["Prompt blocked"]
    assert titles(assignee=monitor_user.userid) == ["Toxic answer"]
    assert titles(assignee="none") == ["Prompt blocked"]
    assert titles(agent=agent.public_id) == ["Toxic answer"]
    Issue.objects.filter(pk=issue.pk).update(status=IssueStatus.RESOLVED)
    assert titles() == ["Toxic answer"]
    assert titles(status="resolved") == ["Prompt blocked"]
    partial = client.get(url, headers=HTMX).content.decode()
    assert partial.startswith('<div id="issue-table">') and "<html" not in partial


def test_the_queue_says_what_to_do_next_when_empty(client, monitor_user, make_rule):
    client.force_login(monitor_user)
    url = reverse("monitoring:index")

    assert "Create an alert rule" in client.get(url).content.decode()
    make_rule()
    html = client.get(url).content.decode()
    assert "No open issues" in html and "evaluate_alerts" in html
    assert "No issue matches these filters" in client.get(url, {"severity": "critical"}).content.decode()


def test_the_excerpt_shows_the_hit_and_its_neighbours_only(client, monitor_user, make_rule, plain_user, agent):
    conversation = conversation_create(
        company=plain_user.company, user=plain_user, actor=Actor(user=plain_user), agent=agent, title="Leave"
    )
    messages = [
        Message.objects.create(
            company=plain_user.company,
            conversation=conversation,
            message_type=MessageType.USER if n % 2 == 0 else MessageType.AI,
            text=f"message number {n} " + ("long " * 200 if n == 4 else ""),
        )
        for n in range(9)
    ]
    rule = make_rule(kind="scanner_hit", scanner="toxicity")
    issue, _ = issue_raise(
        rule=rule,
        trigger=Trigger(
            key=f"conversation:{conversation.public_id}", title="t", conversation_public_id=conversation.public_id
        ),
    )
    issue.links.create(company=issue.company, summary="hit", message_public_id=messages[4].public_id)
    client.force_login(monitor_user)

    html = client.get(reverse("monitoring:issue", args=[issue.public_id])).content.decode()

    shown = [n for n in range(9) if f"message number {n} " in html]
    assert shown == [2, 3, 4, 5, 6]
    assert html.count("long ") < 130  # the hit message is truncated
    assert 'class="mon-line mon-line-user is-hit"' in html


def test_working_an_issue_changes_it_and_keeps_the_history(client, monitor_user, admin_user, issue):
    client.force_login(monitor_user)
    url = reverse("monitoring:issue-update", args=[issue.public_id])

    response = client.post(url, {"status": "acknowledged", "severity": "critical", "assignee": admin_user.userid})
    assert response.status_code == 302
    client.post(reverse("monitoring:issue-comment", args=[issue.public_id]), {"text": "Looking into it."})
    client.post(url, {"status": "resolved", "severity": "critical", "assignee": admin_user.userid})

    issue.refresh_from_db()
    assert (issue.status, issue.severity, issue.assignee) == ("resolved", "critical", admin_user)
    assert list(issue.changes.values_list("field", "before", "after")) == [
        ("opened", "", issue.title),
        ("status", "open", "acknowledged"),
        ("severity", "high", "critical"),
        ("assignee", "nobody", "admin@acme.example"),
        ("comment", "", "Looking into it."),
        ("status", "acknowledged", "resolved"),
    ]
    assert issue.comments.get().author == monitor_user
    assert AuditEvent.objects.filter(action="monitoring.issue_updated").count() == 2
    assert AuditEvent.objects.filter(action="monitoring.issue_commented").count() == 1
    html = client.get(reverse("monitoring:issue", args=[issue.public_id])).content.decode()
    assert "Looking into it." in html and "changed the status from" in html


def test_an_issue_cannot_be_assigned_to_a_plain_user_or_another_company(
    client, monitor_user, plain_user, other_user, issue
):
    client.force_login(monitor_user)
    url = reverse("monitoring:issue-update", args=[issue.public_id])

    for person in (plain_user, other_user):
        response = client.post(url, {"status": "open", "severity": "high", "assignee": person.userid})
        assert response.status_code == 400
    issue.refresh_from_db()
    assert issue.assignee is None


def test_an_empty_comment_is_refused(client, monitor_user, issue):
    client.force_login(monitor_user)

    response = client.post(reverse("monitoring:issue-comment", args=[issue.public_id]), {"text": "  "})

    assert response.status_code == 400 and not issue.comments.exists()


def test_a_rule_is_created_edited_disabled_and_deleted_in_the_pages(client, monitor_user, agent, group):
    client.force_login(monitor_user)

    response = client.post(
        reverse("monitoring:rule-create"),
        {
            "name": "Big spenders",
            "kind": "usage",
            "severity": "medium",
            "enabled": "on",
            "measure": "cost",
            "threshold": "5",
            "period": "day",
            "scanner": "pii",  # another kind's field: ignored
            "agents": [agent.pk],
            "groups": [group.pk],
        },
    )
    assert response.status_code == 302
    rule = AlertRule.objects.get()
    assert (rule.kind, rule.measure, rule.period, rule.scanner) == ("usage", "cost", "day", "")
    assert list(rule.agents.all()) == [agent] and list(rule.groups.all()) == [group]
    html = client.get(reverse("monitoring:rules")).content.decode()
    assert "Big spenders" in html and "Cost ≥ $5.00 per user per day" in html

    edit = reverse("monitoring:rule-edit", args=[rule.public_id])
    assert 'data-kinds="usage error_rate"' in client.get(edit).content.decode()
    client.post(
        edit,
        {
            "name": "Bigger spenders",
            "kind": "usage",
            "severity": "high",
            "measure": "tokens",
            "threshold": "100000",
            "period": "week",
            "enabled": "on",
        },
    )
    rule.refresh_from_db()
    assert (rule.name, rule.measure, rule.period, rule.agents.count()) == ("Bigger spenders", "tokens", "week", 0)

    client.post(reverse("monitoring:rule-toggle", args=[rule.public_id]))
    rule.refresh_from_db()
    assert not rule.enabled
    client.post(reverse("monitoring:rule-delete", args=[rule.public_id]))
    assert not AlertRule.objects.exists()
    actions = set(AuditEvent.objects.filter(action__startswith="monitoring.rule").values_list("action", flat=True))
    assert actions == {
        "monitoring.rule_created",
        "monitoring.rule_updated",
        "monitoring.rule_disabled",
        "monitoring.rule_deleted",
    }


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"kind": "scanner_hit"}, "scanner", "Choose the scanner"),
        ({"kind": "scanner_hit", "scanner": "pii", "min_score": "1.5"}, "min_score", "between 0 and 1"),
        ({"kind": "usage", "measure": "cost", "period": "day"}, "threshold", "above 0"),
        ({"kind": "error_rate", "threshold": "150", "period": "day"}, "threshold", "at most 100"),
        (
            {"kind": "login_failures", "failure_count": "1", "window_minutes": "5", "login_key": "account"},
            "failure_count",
            "at least 2",
        ),
        ({"kind": "blocked_prompt", "webhook_url": "ftp://example.com/hook"}, "webhook_url", "http:// or https://"),
        ({"kind": "blocked_prompt", "webhook_url": "javascript:alert(1)"}, "webhook_url", ""),
    ],
)
def test_the_rule_form_refuses_bad_conditions(client, monitor_user, data, field, message):
    client.force_login(monitor_user)

    response = client.post(reverse("monitoring:rule-create"), {"name": "r", "severity": "low", **data})

    assert response.status_code == 400 and field in response.context["form"].errors
    assert message in str(response.context["form"].errors[field])
    assert not AlertRule.objects.exists()


def test_a_webhook_secret_is_shown_once_and_stored_encrypted(client, monitor_user):
    from django.db import connection

    client.force_login(monitor_user)
    client.post(
        reverse("monitoring:rule-create"),
        {"name": "Hook", "kind": "blocked_prompt", "severity": "low", "webhook_url": "https://siem.example/hook"},
    )
    rule = AlertRule.objects.get()

    first = client.get(reverse("monitoring:rules")).content.decode()
    second = client.get(reverse("monitoring:rules")).content.decode()

    assert rule.webhook_secret.startswith("whsec_") and rule.webhook_secret in first
    assert rule.webhook_secret not in second
    with connection.cursor() as cursor:
        cursor.execute("select webhook_secret from monitoring_alertrule where id = %s", [rule.pk])
        assert rule.webhook_secret not in cursor.fetchone()[0]
    client.post(reverse("monitoring:rule-secret", args=[rule.public_id]))
    rotated = AlertRule.objects.get().webhook_secret
    assert rotated != rule.webhook_secret and rotated in client.get(reverse("monitoring:rules")).content.decode()


def test_the_navigation_shows_monitoring_to_monitors_and_admins_only(client, monitor_user, compliance_user):
    client.force_login(monitor_user)
    assert 'id="nav-monitoring"' in client.get(reverse("monitoring:rules")).content.decode()
    client.force_login(compliance_user)
    assert 'id="nav-monitoring"' not in client.get(reverse("chat:index")).content.decode()


def test_a_monitor_of_an_inactive_company_is_refused(client, company, issue):
    person = UserFactory(company=company, email="m2@acme.example", roles=["monitor"])
    company.is_active = False
    company.save()
    client.force_login(person)

    assert client.get(reverse("monitoring:index")).status_code in (302, 403)
