"""The Monitoring API: rules and issues with the `monitoring` grant, the role matrix of user tokens, generic
tokens, two companies (another company's rule or issue is a 404), problem+json errors and the audit trail."""

import pytest

from apps.audit.models import AuditEvent
from apps.monitoring.models import AlertRule, Issue
from apps.monitoring.services import Trigger, issue_raise
from apps.oauth.services import access_token_issue
from tests.factories import APIUserFactory
from tests.helpers import bearer

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"
GRANTS = ["users:read", "monitoring"]


@pytest.fixture
def monitoring_client(company):
    return APIUserFactory(company=company, name="SIEM", grants=GRANTS)


@pytest.fixture
def tokens(monitoring_client, admin_user, monitor_user, compliance_user, plain_user):
    def token(user):
        return access_token_issue(client=monitoring_client, user=user)[1]

    return {
        "admin": token(admin_user),
        "monitor": token(monitor_user),
        "compliance": token(compliance_user),
        "user": token(plain_user),
        "generic": token(None),
    }


@pytest.fixture
def other_issue(other_company, other_monitor):
    from apps.audit.services import Actor
    from apps.monitoring.services import alert_rule_create

    rule, _ = alert_rule_create(
        company=other_company,
        actor=Actor(user=other_monitor),
        data={"name": "Globex rule", "kind": "blocked_prompt", "severity": "low", "enabled": True},
    )
    return issue_raise(rule=rule, trigger=Trigger(key="k", title="Globex issue"))[0]


@pytest.fixture
def issue(make_rule):
    rule = make_rule(name="Blocked", kind="blocked_prompt")
    return issue_raise(rule=rule, trigger=Trigger(key="conversation:c1", title="Prompt blocked"))[0]


def endpoints(issue):
    rule = issue.rule.public_id
    return [
        ("get", "/api/monitoring/rules", None),
        ("post", "/api/monitoring/rules", {"name": "x", "condition": "blocked_prompt", "severity": "low"}),
        ("get", f"/api/monitoring/rules/{rule}", None),
        ("patch", f"/api/monitoring/rules/{rule}", {"enabled": False}),
        ("delete", f"/api/monitoring/rules/{rule}", None),
        ("get", "/api/monitoring/issues", None),
        ("get", f"/api/monitoring/issues/{issue.public_id}", None),
        ("patch", f"/api/monitoring/issues/{issue.public_id}", {"status": "acknowledged"}),
        ("post", f"/api/monitoring/issues/{issue.public_id}/comments", {"text": "seen"}),
    ]


def call(client, method, url, body, token):
    kwargs = {"headers": bearer(token)}
    if body is not None:
        kwargs.update(data=body, content_type="application/json")
    return getattr(client, method)(url, **kwargs)


@pytest.mark.parametrize("who", ["compliance", "user"])
def test_user_tokens_without_the_role_get_a_403_problem_everywhere(client, tokens, issue, who):
    for method, url, body in endpoints(issue):
        response = call(client, method, url, body, tokens[who])
        assert response.status_code == 403, url
        assert response["Content-Type"].startswith(PROBLEM) and "monitoring" in response.json()["detail"]
    assert AlertRule.objects.count() == 1 and Issue.objects.get().status == "open"


def test_a_client_without_the_grant_gets_403(client, generic_token, issue):
    response = client.get("/api/monitoring/issues", headers=bearer(generic_token))

    assert response.status_code == 403 and response["Content-Type"].startswith(PROBLEM)


def test_no_token_is_401(client):
    assert client.get("/api/monitoring/rules").status_code == 401


@pytest.mark.parametrize("who", ["admin", "monitor", "generic"])
def test_every_endpoint_works_for_monitors_admins_and_generic_tokens(client, tokens, issue, who):
    statuses = [call(client, method, url, body, tokens[who]).status_code for method, url, body in endpoints(issue)]

    assert statuses == [200, 201, 200, 200, 204, 200, 200, 200, 201]


@pytest.mark.parametrize("who", ["monitor", "generic"])
def test_another_companys_rule_and_issue_are_404(client, tokens, issue, other_issue, who):
    for method, url, body in endpoints(other_issue):
        if "/rules/" in url or "/issues/" in url:
            response = call(client, method, url, body, tokens[who])
            assert response.status_code == 404, url
            assert response["Content-Type"].startswith(PROBLEM)
    listed = client.get("/api/monitoring/issues", headers=bearer(tokens[who])).json()
    assert [item["title"] for item in listed["data"]] == ["Prompt blocked"]
    other_issue.refresh_from_db()
    assert other_issue.status == "open" and not other_issue.comments.exists()


def test_create_a_rule_with_scope_and_webhook_returns_its_secret_once(client, tokens, agent, group, plain_user):
    body = {
        "name": "PII in answers",
        "condition": "scanner_hit",
        "severity": "high",
        "scanner": "pii",
        "minScore": 0.7,
        "direction": "answer",
        "agents": [agent.public_id],
        "groups": [group.pk],
        "users": [plain_user.userid],
        "notifyEmail": True,
        "webhookUrl": "https://siem.example/airisk",
    }
    response = client.post(
        "/api/monitoring/rules", body, content_type="application/json", headers=bearer(tokens["monitor"])
    )

    assert response.status_code == 201
    created = response.json()
    assert created["webhookSecret"].startswith("whsec_") and created["hasWebhookSecret"]
    assert (created["scanner"], created["minScore"], created["agents"]) == ("pii", 0.7, [agent.public_id])
    assert created["users"] == [plain_user.userid] and created["groups"] == [group.pk]
    fetched = client.get(f"/api/monitoring/rules/{created['id']}", headers=bearer(tokens["monitor"])).json()
    assert "webhookSecret" not in fetched and fetched["name"] == "PII in answers"
    event = AuditEvent.objects.get(action="monitoring.rule_created")
    assert created["webhookSecret"] not in str(event.detail)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "condition": "scanner_hit", "severity": "low"}, "scanner"),
        ({"name": "x", "condition": "usage", "severity": "low", "measure": "cost", "period": "day"}, "threshold"),
        (
            {"name": "x", "condition": "blocked_prompt", "severity": "low", "webhookUrl": "file:///etc/passwd"},
            "webhookUrl",
        ),
        ({"name": "x", "condition": "blocked_prompt", "severity": "low", "agents": ["nope"]}, "agents"),
        ({"name": "x", "condition": "nope", "severity": "low"}, "condition"),
        ({"name": "x", "condition": "blocked_prompt", "severity": "low", "enabled": "yes"}, "enabled"),
        ({"name": "x", "condition": "blocked_prompt", "severity": "low", "surprise": 1}, "surprise"),
    ],
)
def test_bad_rules_are_400_problems_naming_the_field(client, tokens, body, field):
    response = client.post(
        "/api/monitoring/rules", body, content_type="application/json", headers=bearer(tokens["monitor"])
    )

    assert response.status_code == 400 and response["Content-Type"].startswith(PROBLEM)
    assert field in response.json()["errors"]
    assert not AlertRule.objects.exists()


def test_another_companys_agent_cannot_be_in_a_rules_scope(client, tokens, other_agent):
    body = {"name": "x", "condition": "blocked_prompt", "severity": "low", "agents": [other_agent.public_id]}

    response = client.post(
        "/api/monitoring/rules", body, content_type="application/json", headers=bearer(tokens["monitor"])
    )

    assert response.status_code == 400 and "agents" in response.json()["errors"]


def test_update_and_delete_a_rule(client, tokens, issue):
    url = f"/api/monitoring/rules/{issue.rule.public_id}"
    headers = bearer(tokens["admin"])

    patched = client.patch(
        url, {"enabled": False, "severity": "critical"}, content_type="application/json", headers=headers
    )
    assert (
        patched.status_code == 200 and patched.json()["enabled"] is False and patched.json()["severity"] == "critical"
    )
    assert client.delete(url, headers=headers).status_code == 204
    assert client.get(url, headers=headers).status_code == 404
    issue.refresh_from_db()
    assert issue.rule is None and issue.rule_name == "Blocked"


def test_list_issues_with_filters_and_pages(client, tokens, issue, make_rule, monitor_user):
    rule = make_rule(name="Second", kind="scanner_hit", scanner="pii", severity="low")
    for n in range(3):
        issue_raise(rule=rule, trigger=Trigger(key=f"k{n}", title=f"PII {n}"))
    headers = bearer(tokens["monitor"])

    page = client.get("/api/monitoring/issues?pageSize=2&severity=low", headers=headers)
    assert page.status_code == 200 and page.json()["totalCount"] == 3 and len(page.json()["data"]) == 2
    assert 'rel="next"' in page["Link"]
    by_rule = client.get(f"/api/monitoring/issues?rule={issue.rule.public_id}", headers=headers).json()
    assert [i["id"] for i in by_rule["data"]] == [issue.public_id]
    assert client.get("/api/monitoring/issues?status=bogus", headers=headers).status_code == 400
    assert client.get("/api/monitoring/issues?assignee=none", headers=headers).json()["totalCount"] == 4


def test_work_an_issue_through_the_api(client, tokens, issue, monitor_user, plain_user):
    url = f"/api/monitoring/issues/{issue.public_id}"
    headers = bearer(tokens["monitor"])

    acknowledged = client.patch(
        url,
        {"status": "acknowledged", "assignee": monitor_user.userid},
        content_type="application/json",
        headers=headers,
    )
    assert acknowledged.status_code == 200
    assert acknowledged.json()["status"] == "acknowledged" and acknowledged.json()["assignee"] == monitor_user.userid
    refused = client.patch(url, {"assignee": plain_user.userid}, content_type="application/json", headers=headers)
    assert refused.status_code == 400 and "assignee" in refused.json()["errors"]
    comment = client.post(f"{url}/comments", {"text": "Checked."}, content_type="application/json", headers=headers)
    assert comment.status_code == 201 and comment.json()["author"].startswith("SIEM")
    empty = client.post(f"{url}/comments", {"text": " "}, content_type="application/json", headers=headers)
    assert empty.status_code == 400
    resolved = client.patch(
        url, {"status": "resolved", "assignee": None}, content_type="application/json", headers=headers
    )

    body = resolved.json()
    assert body["status"] == "resolved" and body["assignee"] is None
    assert [c["text"] for c in body["comments"]] == ["Checked."]
    assert [h["field"] for h in body["history"]] == ["opened", "status", "assignee", "comment", "status", "assignee"]
    assert AuditEvent.objects.filter(action="monitoring.issue_updated").count() == 2


def test_the_schema_documents_every_monitoring_operation(client):
    paths = client.get("/api/schema").json()["paths"]

    operations = {(path, method) for path, ops in paths.items() if path.startswith("/api/monitoring") for method in ops}
    assert operations == {
        ("/api/monitoring/rules", "get"),
        ("/api/monitoring/rules", "post"),
        ("/api/monitoring/rules/{rule_id}", "get"),
        ("/api/monitoring/rules/{rule_id}", "patch"),
        ("/api/monitoring/rules/{rule_id}", "delete"),
        ("/api/monitoring/issues", "get"),
        ("/api/monitoring/issues/{issue_id}", "get"),
        ("/api/monitoring/issues/{issue_id}", "patch"),
        ("/api/monitoring/issues/{issue_id}/comments", "post"),
    }
