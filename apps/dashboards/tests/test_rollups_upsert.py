"""Counting exchanges and hits one at a time (the signal receivers' upserts): the same rows and numbers as a rebuild
from the facts, whether the row exists or not, with NULL keys, and with writers racing for a new row."""

import contextlib
import threading
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.chat.models import UsageRecord
from apps.dashboards.models import DailyAgentScanHits, DailyAgentUsage, DailyScanHits, DailyUsage, DailyUserUsage
from apps.dashboards.rollups import (
    HIT_COUNTERS,
    HIT_LEVELS,
    USAGE_COUNTERS,
    USAGE_LEVELS,
    exchange_add,
    hits_add,
    rollups_rebuild,
)
from tests.factories import AgentFactory, UserFactory

from .conftest import TODAY, conversation_of, exchange, hit

USAGE_MODELS = (DailyUsage, DailyUserUsage, DailyAgentUsage)


def snapshot(company) -> list[list[tuple]]:
    levels = [(model, fields, USAGE_COUNTERS) for model, fields in USAGE_LEVELS]
    levels += [(model, fields, HIT_COUNTERS) for model, fields in HIT_LEVELS]
    return [
        sorted(model.objects.filter(company=company).values_list(*fields, *counters))
        for model, fields, counters in levels
    ]


def rebuilt(company) -> list[list[tuple]]:
    rollups_rebuild(company)
    return snapshot(company)


def race(writers: int, write) -> list[Exception]:
    """``write(index)`` in ``writers`` threads released together, each on its own connection; the errors raised.
    The in-memory SQLite test database fails a conflicting write at once instead of waiting (a shared cache), so
    there the writers take turns: the race is PostgreSQL's."""
    barrier = threading.Barrier(writers)
    one_at_a_time = threading.Lock() if connection.vendor == "sqlite" else contextlib.nullcontext()
    errors = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            with one_at_a_time:
                write(index)
        except Exception as error:  # reported by the caller's assertion
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return errors


@pytest.fixture
def people(company):
    return UserFactory(company=company, roles=["user"]), AgentFactory(company=company, name="Agent A")


@pytest.mark.django_db
def test_the_same_key_twice_adds_to_one_row_and_counts_the_conversation_once(company, people):
    user, agent = people
    talk, other_talk = conversation_of(user, agent), conversation_of(user, agent)
    first = exchange(talk, day=TODAY, input_tokens=100, output_tokens=10, cost="0.50")
    second = exchange(talk, day=TODAY, input_tokens=200, output_tokens=20, cost="1.25", flagged=True)
    third = exchange(other_talk, day=TODAY, input_tokens=1, outcome="failed")

    for record in (first, second, third):
        exchange_add(record, [])

    for model in USAGE_MODELS:
        [row] = model.objects.filter(company=company)
        assert (row.exchanges, row.messages, row.conversations, row.input_tokens, row.output_tokens) == (
            3, 6, 2, 301, 30,
        ), model  # fmt: skip
        assert (row.flagged, row.failed, str(row.cost)) == (1, 1, "1.75000000"), model
    assert snapshot(company) == rebuilt(company)


@pytest.mark.django_db
def test_keys_with_a_null_land_in_one_row(company, people):
    """A deleted user's exchanges (user NULL) and the Scanner API's hits of no agent and no user (agent and user
    NULL): a unique constraint never matches NULLs, yet each key keeps one row, as a rebuild makes it."""
    user, agent = people
    talk = conversation_of(user, agent)
    for tokens in (10, 20):
        exchange(talk, day=TODAY, input_tokens=tokens)
    one_off = exchange(talk, day=TODAY, input_tokens=40)
    UsageRecord.objects.filter(pk=one_off.pk).update(conversation=None)  # a ChatWithAgent one-off
    UsageRecord.objects.update(user=None)
    api_hits = [hit(company, scanner="pii", action=action, day=TODAY, agent=None, source="api") for action in
                ("flag", "block", "flag")]  # fmt: skip

    for record in UsageRecord.objects.order_by("pk"):
        exchange_add(record, [])
    hits_add(company, api_hits[:1], source="api")
    hits_add(company, api_hits[1:], source="api")

    for model in USAGE_MODELS:
        [row] = model.objects.filter(company=company)
        assert (row.exchanges, row.conversations, row.input_tokens) == (3, 1, 70), model
    assert DailyUsage.objects.get().user_id is None
    [hits] = DailyScanHits.objects.filter(company=company)
    assert (hits.agent_id, hits.user_id, hits.channel, hits.hits, hits.blocked) == (None, None, "api", 3, 1)
    [by_agent] = DailyAgentScanHits.objects.filter(company=company)
    assert (by_agent.agent_id, by_agent.hits, by_agent.blocked) == (None, 3, 1)
    assert snapshot(company) == rebuilt(company)


@pytest.mark.django_db
def test_hits_are_summed_per_level(company, people):
    user, agent = people
    colleague = UserFactory(company=company, roles=["user"])
    talk, other_talk = conversation_of(user, agent), conversation_of(colleague, agent)
    mine = exchange(talk, day=TODAY, flagged=True)
    theirs = exchange(other_talk, day=TODAY, flagged=True, channel="api")
    my_hits = [
        hit(company, scanner="pii", action="flag", day=TODAY, agent=agent, conversation=talk),
        hit(company, scanner="pii", action="redact", day=TODAY, agent=agent, conversation=talk),
        hit(company, scanner="prompt_injection", action="block", day=TODAY, agent=agent, conversation=talk),
    ]
    their_hits = [hit(company, scanner="pii", action="block", day=TODAY, agent=agent, conversation=other_talk)]

    exchange_add(mine, my_hits)
    exchange_add(theirs, their_hits)

    assert sorted(
        DailyScanHits.objects.values_list("user_id", "channel", "scanner", "hits", "blocked")
    ) == sorted([
        (user.pk, "web", "pii", 2, 0), (user.pk, "web", "prompt_injection", 1, 1), (colleague.pk, "api", "pii", 1, 1),
    ])  # fmt: skip
    assert sorted(DailyAgentScanHits.objects.values_list("agent_id", "scanner", "hits", "blocked")) == [
        (agent.pk, "pii", 3, 1),
        (agent.pk, "prompt_injection", 1, 1),
    ]
    assert snapshot(company) == rebuilt(company)


@pytest.mark.django_db
def test_an_exchange_with_hits_is_one_statement_on_postgresql_and_one_per_level_on_sqlite(company, people):
    user, agent = people
    talk = conversation_of(user, agent)
    record = exchange(talk, day=TODAY, flagged=True)
    hits = [hit(company, scanner=kind, action="flag", day=TODAY, agent=agent, conversation=talk) for kind in
            ("pii", "toxicity")]  # fmt: skip
    record.company = company  # as the pipeline's record: no query for its company

    with CaptureQueriesContext(connection) as queries:
        exchange_add(record, hits)

    statements = [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]
    assert len(statements) == (1 if connection.vendor == "postgresql" else len(USAGE_LEVELS) + len(HIT_LEVELS))
    assert all(sql.startswith(("INSERT", "WITH")) for sql in statements), statements


@pytest.mark.django_db(transaction=True)
def test_writers_racing_for_a_new_row_all_count_in_it(company, people):
    """On PostgreSQL each thread has its own connection: the upserts really race for the day's new rows (``race``)."""
    user, agent = people
    writers = 8
    talk = conversation_of(user, agent)
    records = [exchange(talk, day=date(2026, 3, 19)) for _ in range(writers)]
    hits = [hit(company, scanner="pii", action="flag", day=date(2026, 3, 19), agent=agent, conversation=talk)
            for _ in range(writers)]  # fmt: skip
    errors = race(writers, lambda index: exchange_add(records[index], [hits[index]]))

    assert errors == []
    for model in USAGE_MODELS:
        [row] = model.objects.filter(company=company)
        assert (row.exchanges, row.conversations) == (writers, 1), model
    for model in (DailyScanHits, DailyAgentScanHits):
        [row] = model.objects.filter(company=company)
        assert row.hits == writers, model
    assert snapshot(company) == rebuilt(company)


@pytest.mark.django_db(transaction=True)
def test_writers_racing_for_a_new_row_with_a_null_key_all_count_in_one_row(company):
    """The Scanner API's hits (no user, no agent) have NULLs in their key, which no unique constraint matches: two
    writers that both found no row would each insert one, and every later hit would then be counted in both. On
    PostgreSQL the update-else-insert of such a key holds a lock on the key until its transaction ends (``race``:
    SQLite's writers take turns)."""
    writers = 8
    hits = [hit(company, scanner="pii", action="flag", day=date(2026, 3, 20), agent=None, source="api")
            for _ in range(writers)]  # fmt: skip
    errors = race(writers, lambda index: hits_add(company, [hits[index]], source="api"))

    assert errors == []
    for model in (DailyScanHits, DailyAgentScanHits):
        [row] = model.objects.filter(company=company)
        assert row.hits == writers, model
    assert snapshot(company) == rebuilt(company)
