"""Period rules (a user's cost or tokens, an agent's error rate, failed-login bursts) through evaluate_alerts:
what opens, in which period, for whom, and that running it twice opens nothing new."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from apps.chat.models import ExchangeOutcome, UsageRecord
from apps.monitoring.evaluation import evaluate_period_rules, period_bounds
from apps.monitoring.models import Issue, IssueStatus
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db


def usage(user, agent, *, cost="0", tokens=0, outcome=ExchangeOutcome.COMPLETED, when=None):
    return UsageRecord.objects.create(
        company=agent.company,
        user=user,
        agent=agent,
        input_tokens=tokens,
        output_tokens=0,
        cost=Decimal(cost),
        outcome=outcome,
        created=when or timezone.now(),
    )


def evaluate(*args) -> dict:
    out, err = StringIO(), StringIO()
    call_command("evaluate_alerts", "--json", *args, stdout=out, stderr=err)
    return json.loads(out.getvalue())


@pytest.fixture
def bot(company):
    return AgentFactory(company=company, name="Bot")


def test_a_user_over_the_cost_threshold_today_opens_one_issue_and_a_second_run_opens_nothing(
    make_rule, plain_user, admin_user, bot
):
    rule = make_rule(name="Spend", kind="usage", measure="cost", threshold="1.00", period="day")
    usage(plain_user, bot, cost="0.60")
    usage(plain_user, bot, cost="0.50")
    usage(admin_user, bot, cost="0.90")
    usage(plain_user, bot, cost="5", when=timezone.now() - timedelta(days=2))  # another day

    first = evaluate()
    second = evaluate()

    assert (first["rules"], first["opened"], second["opened"], second["alreadyOpen"]) == (1, 1, 0, 1)
    issue = Issue.objects.get()
    assert issue.rule == rule and issue.subject_user == plain_user
    assert issue.detail["value"] == "1.100000" and "$1.10" in issue.title
    assert issue.links.count() == 2


def test_a_resolved_period_issue_is_not_reopened_in_the_same_period(make_rule, plain_user, bot):
    make_rule(kind="usage", measure="tokens", threshold="1000", period="hour")
    usage(plain_user, bot, tokens=1500)
    evaluate()
    Issue.objects.update(status=IssueStatus.RESOLVED)
    usage(plain_user, bot, tokens=1500)

    assert evaluate()["opened"] == 0
    assert Issue.objects.count() == 1


def test_a_grown_value_is_measured_again_on_the_open_issue(make_rule, plain_user, bot):
    make_rule(kind="usage", measure="tokens", threshold="1000", period="week")
    usage(plain_user, bot, tokens=1500)
    evaluate()
    usage(plain_user, bot, tokens=700)

    evaluate()

    issue = Issue.objects.get()
    assert issue.detail["value"] == "2200" and issue.changes.filter(field="measured").count() == 1


def test_the_usage_scope_counts_only_the_named_users(make_rule, plain_user, admin_user, bot):
    make_rule(kind="usage", measure="cost", threshold="1", period="month", users=[admin_user])
    usage(plain_user, bot, cost="3")

    assert evaluate()["opened"] == 0


def test_an_agents_error_rate_over_the_threshold_with_enough_exchanges(make_rule, plain_user, bot, company):
    quiet = AgentFactory(company=company, name="Quiet")
    make_rule(name="Errors", kind="error_rate", threshold="20", period="day", min_exchanges=5)
    for outcome in ["failed", "failed", "completed", "completed", "completed", "blocked", "blocked"]:
        usage(plain_user, bot, outcome=outcome)
    for outcome in ["failed", "completed"]:  # 50 % but too few exchanges
        usage(plain_user, quiet, outcome=outcome)

    assert evaluate()["opened"] == 1

    issue = Issue.objects.get()
    assert issue.agent == bot and issue.detail["rate"] == "40.0" and issue.detail["exchanges"] == 5
    assert "Bot failed 2 of 5 exchanges (40.0%)" in issue.title
    assert evaluate()["opened"] == 0


def test_an_error_rate_under_the_threshold_opens_nothing(make_rule, plain_user, bot):
    make_rule(kind="error_rate", threshold="50", period="hour", min_exchanges=2)
    for outcome in ["failed", "completed", "completed"]:
        usage(plain_user, bot, outcome=outcome)

    assert evaluate()["opened"] == 0


def test_a_login_failure_burst_opens_an_issue_as_it_happens_and_once(client, make_rule, plain_user):
    make_rule(name="Burst", kind="login_failures", failure_count=3, window_minutes=10, login_key="account")

    for _ in range(2):
        client.post(reverse("chat:login"), {"username": plain_user.email, "password": "wrong"})
    assert not Issue.objects.exists()
    client.post(reverse("chat:login"), {"username": plain_user.email, "password": "wrong"})

    issue = Issue.objects.get()
    assert issue.subject_user == plain_user and issue.hit_count == 3 and issue.links.count() == 3
    assert evaluate()["opened"] == 0
    client.post(reverse("chat:login"), {"username": plain_user.email, "password": "wrong"})
    issue.refresh_from_db()
    assert issue.hit_count == 4
    Issue.objects.update(status=IssueStatus.RESOLVED)
    assert evaluate()["opened"] == 0  # the counted failures are not counted again


def test_a_login_burst_per_address_counts_across_accounts(client, make_rule, plain_user, admin_user):
    make_rule(kind="login_failures", failure_count=4, window_minutes=5, login_key="address")

    for person in (plain_user, admin_user, plain_user, admin_user):
        client.post(reverse("chat:login"), {"username": person.email, "password": "wrong"})

    issue = Issue.objects.get()
    assert issue.dedup_key == "address:127.0.0.1" and issue.subject_user is None


def test_another_companys_failures_never_count(client, make_rule, other_user):
    make_rule(kind="login_failures", failure_count=2, window_minutes=5, login_key="address")

    for _ in range(3):
        client.post(reverse("chat:login"), {"username": other_user.email, "password": "wrong"})

    assert evaluate()["opened"] == 0 and not Issue.objects.exists()


def test_the_command_reports_progress_and_refuses_an_unknown_company(make_rule, company):
    from django.core.management.base import CommandError

    make_rule(name="Spend", kind="usage", measure="cost", threshold="1", period="day")
    err = StringIO()
    call_command("evaluate_alerts", "--company", company.slug, stdout=StringIO(), stderr=err)
    assert "acme / Spend (usage): 0 opened" in err.getvalue()
    with pytest.raises(CommandError, match="Unknown company: nope"):
        call_command("evaluate_alerts", "--company", "nope", stdout=StringIO())


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        ("hour", "2026-03-10T14:00:00+01:00", "2026-03-10T15:00:00+01:00"),
        ("day", "2026-03-10T00:00:00+01:00", "2026-03-11T00:00:00+01:00"),
        ("week", "2026-03-09T00:00:00+01:00", "2026-03-16T00:00:00+01:00"),
        ("month", "2026-03-01T00:00:00+01:00", "2026-04-01T00:00:00+02:00"),
    ],
)
def test_periods_are_calendar_periods_of_the_company_time_zone(period, start, end):
    now = datetime(2026, 3, 10, 13, 30, tzinfo=UTC)

    got = period_bounds(period, now, "Europe/Paris")

    assert (got[0].isoformat(), got[1].isoformat()) == (start, end)


def test_disabled_rules_and_inactive_companies_are_skipped(make_rule, plain_user, bot, company):
    rule = make_rule(kind="usage", measure="cost", threshold="1", period="day")
    usage(plain_user, bot, cost="2")
    company.is_active = False
    company.save()

    assert evaluate_period_rules().rules == 0
    company.is_active = True
    company.save()
    rule.enabled = False
    rule.save()
    assert evaluate_period_rules().rules == 0
