"""Webhooks to internal addresses are refused unless the operator allows them (MONITORING_WEBHOOK_ALLOW_PRIVATE):
a rule's webhook must not be a way into the network behind AIRisk."""

import pytest
from django.core.exceptions import ValidationError

from apps.monitoring.delivery import deliver_due, is_internal_host
from apps.monitoring.models import Notification
from apps.monitoring.services import Trigger, issue_raise, validate_webhook_url

pytestmark = pytest.mark.django_db(transaction=True)  # delivery closes and reopens connections


@pytest.fixture(autouse=True)
def production_default(settings):
    settings.MONITORING_WEBHOOK_ALLOW_PRIVATE = False
    settings.MONITORING_NOTIFY_THREADS = 0  # only deliver_due() sends: the test reads its result


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",
        "api.localhost",
        "10.1.2.3",
        "192.168.0.5",
        "172.16.9.9",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "::ffff:127.0.0.1",
        "0.0.0.0",
        "100.64.0.1",
        "224.0.0.1",
    ],
)
def test_internal_hosts(host):
    assert is_internal_host(host)
    with pytest.raises(ValidationError, match="is internal"):
        validate_webhook_url(f"http://{'[' + host + ']' if ':' in host else host}:8080/hook")


@pytest.mark.parametrize("host", ["8.8.8.8", "2001:4860:4860::8888", "hooks.example.com", ""])
def test_public_addresses_and_names_pass_validation(host):
    assert not is_internal_host(host)


def test_a_rule_cannot_be_saved_with_an_internal_webhook(make_rule):
    with pytest.raises(ValidationError, match="MONITORING_WEBHOOK_ALLOW_PRIVATE"):
        make_rule(kind="blocked_prompt", webhook_url="http://169.254.169.254/latest/meta-data/")


def test_a_name_that_resolves_to_an_internal_address_is_refused_when_sent(make_rule, settings):
    settings.MONITORING_WEBHOOK_ALLOW_PRIVATE = True  # saved while allowed (or a name that resolved elsewhere then)
    rule = make_rule(kind="blocked_prompt", webhook_url="http://localhost.:9/hook")
    settings.MONITORING_WEBHOOK_ALLOW_PRIVATE = False
    issue_raise(rule=rule, trigger=Trigger(key="k", title="t"))

    deliver_due()

    notification = Notification.objects.get(channel="webhook")
    assert "is internal" in notification.last_error


def test_a_host_name_is_judged_on_the_addresses_it_resolves_to(make_rule):
    # The machine's own name passes validation (a name is not resolved then) and resolves to one of its own
    # addresses, never a public one for a test machine: refused when sent.
    import socket

    host = socket.gethostname()
    assert not is_internal_host(host)
    rule = make_rule(kind="blocked_prompt", webhook_url=f"http://{host}:9/hook")
    issue_raise(rule=rule, trigger=Trigger(key="k", title="t"))

    deliver_due()

    assert "is internal" in Notification.objects.get(channel="webhook").last_error
