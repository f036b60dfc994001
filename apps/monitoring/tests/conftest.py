"""Fixtures of the monitoring tests: the chat's fake engine and agent, monitors and compliance officers of both
companies, and rules made through the services."""

import pytest

from apps.audit.services import Actor
from apps.chat.tests.conftest import agent, fake_llm, other_agent  # noqa: F401  (shared fixtures)
from apps.monitoring.services import alert_rule_create
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def webhooks_on_loopback(settings):
    """The test receivers listen on 127.0.0.1, which production refuses by default (test_webhook_guard.py)."""
    settings.MONITORING_WEBHOOK_ALLOW_PRIVATE = True


@pytest.fixture
def monitor_user(company):
    return UserFactory(company=company, email="monitor@acme.example", roles=["monitor"])


@pytest.fixture
def compliance_user(company):
    return UserFactory(company=company, email="compliance@acme.example", roles=["compliance"])


@pytest.fixture
def other_monitor(other_company):
    return UserFactory(company=other_company, email="monitor@globex.example", roles=["monitor"])


@pytest.fixture
def make_rule(company, monitor_user):
    def make(target_company=None, **data):
        fields = {"name": "Rule", "kind": "blocked_prompt", "severity": "high", "enabled": True, **data}
        rule, secret = alert_rule_create(company=target_company or company, actor=Actor(user=monitor_user), data=fields)
        rule.plain_secret = secret
        return rule

    return make


@pytest.fixture
def conversation(company, plain_user, agent):  # noqa: F811
    from apps.chat.services import conversation_create

    return conversation_create(company=company, user=plain_user, actor=Actor(user=plain_user), agent=agent, title="t")
