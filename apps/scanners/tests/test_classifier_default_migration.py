"""Migration 0002: saved prompt_injection settings still at the old out-of-the-box defaults (classifier off) move to
the new defaults (classifier on), audited; an admin's own configuration is left alone."""

import importlib

import pytest
from django.apps import apps as django_apps

from apps.audit.models import AuditEvent
from apps.scanners.models import AgentScannerOverride, ScannerDefault
from apps.scanners.selectors import scanner_settings_for
from tests.factories import AgentFactory, CompanyFactory

pytestmark = pytest.mark.django_db

migration = importlib.import_module("apps.scanners.migrations.0002_prompt_injection_classifier_on")


def _row(company, settings, *, enabled=True):
    return ScannerDefault.objects.create(
        company=company, scanner="prompt_injection", enabled=enabled, settings=dict(settings)
    )


def test_rows_at_the_old_default_follow_the_new_one_and_are_audited():
    company = CompanyFactory()
    agent = AgentFactory(company=company)
    _row(company, migration.OLD_DEFAULT)
    AgentScannerOverride.objects.create(
        company=company, agent=agent, scanner="prompt_injection", settings=dict(migration.OLD_DEFAULT)
    )
    assert scanner_settings_for(company)["prompt_injection"].use_classifier is False

    migration.forwards(django_apps, None)

    assert ScannerDefault.objects.get(company=company).settings == migration.NEW_DEFAULT
    assert AgentScannerOverride.objects.get(agent=agent).settings["use_classifier"] is True
    assert scanner_settings_for(company)["prompt_injection"].use_classifier is True
    assert scanner_settings_for(company, agent)["prompt_injection"].use_classifier is True
    events = AuditEvent.objects.filter(company=company).order_by("action")
    assert [e.action for e in events] == ["scanner.agent_override_set", "scanner.default_set"]
    assert events[0].target_id == agent.public_id and events[1].actor_type == "system"
    assert all(e.detail["scanner"] == "prompt_injection" for e in events)


@pytest.mark.parametrize(
    "settings",
    [
        {**migration.OLD_DEFAULT, "threshold": 0.7},  # the admin tuned it: the classifier stays as they left it
        {**migration.OLD_DEFAULT, "prompt_action": "flag"},
        {**migration.OLD_DEFAULT, "use_classifier": True},
    ],
)
def test_an_admins_own_configuration_is_left_alone(settings):
    company = CompanyFactory()
    row = _row(company, settings)

    migration.forwards(django_apps, None)

    row.refresh_from_db()
    assert row.settings == settings
    assert not AuditEvent.objects.filter(company=company).exists()


def test_other_companies_and_scanners_are_untouched_and_backwards_restores():
    company, other = CompanyFactory(), CompanyFactory()
    _row(company, migration.OLD_DEFAULT, enabled=False)
    toxicity = ScannerDefault.objects.create(company=other, scanner="toxicity", settings={"threshold": 0.8})

    migration.forwards(django_apps, None)

    row = ScannerDefault.objects.get(company=company)
    assert row.settings["use_classifier"] is True and row.enabled is False  # enabled is the admin's, kept
    toxicity.refresh_from_db()
    assert toxicity.settings == {"threshold": 0.8}

    migration.backwards(django_apps, None)

    assert ScannerDefault.objects.get(company=company).settings == migration.OLD_DEFAULT
