"""Statement: SQL the ORM built once, run again with each call's values; ``first()`` must give exactly what the
ORM's own reads give (every field converted: decimals, datetimes, booleans, JSON, encrypted text), on PostgreSQL
and on SQLite."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Exists, OuterRef, Value
from django.utils import timezone

from apps.agents.models import Agent, AgentUserGrant
from apps.core.statements import Statement
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db

_BY_NAME = Statement(lambda *, company_pk, name: Agent.objects.filter(company_id=company_pk, name=name), name="str")
_ANNOTATED = Statement(
    lambda *, pk, user_pk: Agent.objects.filter(pk=pk).annotate(
        granted=Exists(AgentUserGrant.objects.filter(agent=OuterRef("pk"), user_id=user_pk)), label=Value("x")
    )
)


def _fields(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in Agent._meta.concrete_fields}


def test_first_converts_every_field_as_the_orm_does(company, plain_user):
    agent = AgentFactory(
        company=company,
        name="Converted",
        api_key="sk-secret-value",
        input_price_per_million=Decimal("2.50"),
        temperature=0.3,
        deleted_at=timezone.now() - timedelta(days=1),
    )

    read = _BY_NAME.first(company_pk=company.pk, name="Converted")

    orm = Agent.objects.get(pk=agent.pk)
    assert _fields(read) == _fields(orm)
    assert read.api_key == "sk-secret-value"  # decrypted by the field's own converter
    assert read.input_price_per_million == Decimal("2.50") and read.deleted_at == orm.deleted_at
    assert read._state.adding is False and read._state.db == "default"
    # The same as the queryset's raw() path, which works the mapping out per call.
    assert _fields(next(iter(_BY_NAME.raw(company_pk=company.pk, name="Converted")))) == _fields(orm)


def test_first_sets_annotations_as_attributes_and_returns_none_without_a_row(company, plain_user):
    agent = AgentFactory(company=company, name="Granted")
    AgentUserGrant.objects.create(company=company, agent=agent, user=plain_user)
    other = AgentFactory(company=company, name="Not granted")

    granted = _ANNOTATED.first(pk=agent.pk, user_pk=plain_user.pk)
    not_granted = _ANNOTATED.first(pk=other.pk, user_pk=plain_user.pk)

    assert bool(granted.granted) is True and granted.label == "x" and granted.name == "Granted"
    assert bool(not_granted.granted) is False and not_granted.pk == other.pk
    assert _ANNOTATED.first(pk=other.pk + 1000, user_pk=plain_user.pk) is None
    assert _BY_NAME.first(company_pk=company.pk, name="no such agent") is None


def test_each_call_runs_with_its_own_values(company, other_company):
    AgentFactory(company=company, name="Same name")
    mine = Agent.objects.get(company=company, name="Same name")
    theirs = AgentFactory(company=other_company, name="Same name")

    assert _BY_NAME.first(company_pk=company.pk, name="Same name").pk == mine.pk
    assert _BY_NAME.first(company_pk=other_company.pk, name="Same name").pk == theirs.pk
    assert _BY_NAME.rows(company_pk=other_company.pk, name="Same name")[0][0] == theirs.pk


def test_a_build_that_does_not_carry_its_arguments_as_parameters_fails_loudly(company):
    # An argument the build ignores never reaches the SQL as a parameter: the statement refuses to run.
    ignoring = Statement(lambda *, pk, unused: Agent.objects.filter(pk=pk))

    with pytest.raises(ValueError, match="unused"):
        ignoring.first(pk=1, unused=2)
