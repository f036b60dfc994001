"""Statement: SQL the ORM built once, run again with each call's values; ``first()`` must give exactly what the
ORM's own reads give (every field converted: decimals, datetimes, booleans, JSON, encrypted text), on PostgreSQL
and on SQLite."""

import tempfile
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Exists, OuterRef, Value
from django.utils import timezone
from psycopg import pq

from apps.agents.models import Agent, AgentUserGrant
from apps.audit.services import Actor
from apps.core.statements import Statement, together
from apps.oauth.models import AccessToken
from apps.oauth.services import access_token_issue, api_client_create
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

    # Converted as the queryset converts them (SQLite's 0/1 become booleans).
    assert granted.granted is True and granted.label == "x" and granted.name == "Granted"
    assert not_granted.granted is False and not_granted.pk == other.pk
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


_TOKEN = Statement(
    lambda *, jti: AccessToken.objects.select_related("client", "company", "user").filter(jti=jti), jti="str"
)


def _concrete(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def test_first_attaches_select_related_instances_as_the_orm_does(company, plain_user, django_assert_num_queries):
    client, _secret = api_client_create(
        company=company, name="Related", redirect_uris="https://localhost/cb", actor=Actor.system()
    )
    user_row, _jwt = access_token_issue(client=client, user=plain_user)
    generic_row, _jwt = access_token_issue(client=client, user=None)

    with django_assert_num_queries(1):
        read = _TOKEN.first(jti=user_row.jti)
        # The relations came with the row: reading them queries nothing more.
        relations = (read.client, read.company, read.user)
    orm = AccessToken.objects.select_related("client", "company", "user").get(jti=user_row.jti)
    assert _concrete(read) == _concrete(orm)
    for mine, theirs in zip(relations, (orm.client, orm.company, orm.user), strict=True):
        assert type(mine) is type(theirs) and _concrete(mine) == _concrete(theirs)
        assert mine._state.adding is False and mine._state.db == "default"
    assert isinstance(read.client.grants, list) and read.client.grants == orm.client.grants  # JSON, converted

    with django_assert_num_queries(1):
        generic = _TOKEN.first(jti=generic_row.jti)
        assert generic.user is None  # the nullable relation, absent: None, as the ORM gives it
    assert generic.client.pk == client.pk
    assert _TOKEN.first(jti="no-such-token") is None


def test_first_refuses_a_values_queryset(company):
    values = Statement(lambda *, pk: Agent.objects.filter(pk=pk).values_list("name"))
    AgentFactory(company=company, name="Listed")
    assert values.rows(pk=Agent.objects.get(name="Listed").pk) == [("Listed",)]
    with pytest.raises(TypeError, match="rows"):
        values.first(pk=1)


_NAME_OF = Statement(lambda *, pk: Agent.objects.filter(pk=pk).values_list("name"))


def test_statements_sent_together_give_the_rows_each_gives_alone(company):
    first, second = AgentFactory(company=company, name="One"), AgentFactory(company=company, name="Two")

    with together():
        one = _NAME_OF.send(pk=first.pk)
        two = _BY_NAME.send(company_pk=company.pk, name="Two")
        none = _BY_NAME.send(company_pk=company.pk, name="no such agent")

    assert one.rows() == [("One",)] == _NAME_OF.rows(pk=first.pk)
    assert _fields(two.first()) == _fields(Agent.objects.get(pk=second.pk))
    assert none.first() is None


def test_statements_sent_together_travel_in_one_round_trip(company, django_assert_num_queries):
    """PostgreSQL: psycopg's pipeline mode, seen in libpq's own trace of the messages sent: every statement goes
    out before the one Sync that asks for the results. SQLite has no round trips: each statement runs as sent."""
    agents = [AgentFactory(company=company, name=f"Agent {n}") for n in range(3)]
    if connection.vendor != "postgresql":
        with django_assert_num_queries(3), together():
            sent = [_NAME_OF.send(pk=agent.pk) for agent in agents]
            assert sent[0].rows() == [("Agent 0",)]  # run as sent: readable inside the block
        assert [s.rows() for s in sent[1:]] == [[("Agent 1",)], [("Agent 2",)]]
        return
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    with tempfile.TemporaryFile("w+") as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            with together():
                sent = [_NAME_OF.send(pk=agent.pk) for agent in agents]
        finally:
            pgconn.untrace()
        trace.seek(0)
        messages = [line.split("\t")[:3:2] for line in trace.read().splitlines()]
    assert [s.rows() for s in sent] == [[("Agent 0",)], [("Agent 1",)], [("Agent 2",)]]
    sent_messages = [name.split()[0] for way, name in messages if way == "F"]
    assert sent_messages.count("Execute") == 3 and sent_messages.count("Sync") == 1
    first_reply = next(i for i, (way, _name) in enumerate(messages) if way == "B")
    assert [name.split()[0] for _way, name in messages[:first_reply]].count("Execute") == 3  # all out, then replies
