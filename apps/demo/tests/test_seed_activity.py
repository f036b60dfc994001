"""seed_activity: realistic, consistent, deterministic synthetic activity that only adds."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum

from apps.accounts.models import ApplicationUser
from apps.chat.models import Conversation, ExchangeOutcome, Message, MessageType, UsageRecord
from apps.dashboards.models import DailyScanHits, DailyUsage
from apps.dashboards.rollups import rollups_rebuild
from apps.scanners.models import ScanHit
from tests.factories import AgentFactory, CompanyFactory

pytestmark = pytest.mark.django_db


def seed(*args) -> dict:
    out, err = StringIO(), StringIO()
    call_command("seed_activity", "--json", *args, stdout=out, stderr=err)
    return json.loads(out.getvalue())


@pytest.fixture
def seeded_company(company):
    AgentFactory(company=company, name="Helper", input_price_per_million=2, output_price_per_million=8)
    AgentFactory(company=company, name="Coder", input_price_per_million=1, output_price_per_million=4)
    return company


def story(company) -> list[tuple]:
    """What happened, without ids or absolute times."""
    return list(
        UsageRecord.objects.for_company(company)
        .order_by("pk")
        .values_list("user__name", "agent__name", "outcome", "input_tokens", "output_tokens", "country", "channel")
    )


def test_seed_activity_fills_a_company_with_consistent_activity(seeded_company):
    result = seed("--company", "acme", "--conversations", "60", "--users", "8")

    assert result["conversations"] == Conversation.objects.for_company(seeded_company).count() == 60
    assert result["messages"] == Message.objects.for_company(seeded_company).count()
    assert result["exchanges"] == UsageRecord.objects.for_company(seeded_company).count()
    assert result["scan_hits"] == ScanHit.objects.for_company(seeded_company).count()
    assert ApplicationUser.objects.for_company(seeded_company).count() == 8 == result["users_created"]
    # Every answered exchange stored its prompt and its answer; a blocked prompt stored no message.
    records = UsageRecord.objects.for_company(seeded_company)
    answered = records.exclude(outcome=ExchangeOutcome.BLOCKED)
    assert answered.filter(message__isnull=True).count() == 0
    assert records.filter(outcome=ExchangeOutcome.BLOCKED, message__isnull=False).count() == 0
    assert result["messages"] == 2 * answered.count()
    assert Message.objects.for_company(seeded_company).filter(message_type=MessageType.AI).count() == answered.count()
    # Blocked exchanges are flagged and have a blocking hit on their conversation.
    for record in records.filter(outcome=ExchangeOutcome.BLOCKED).select_related("conversation"):
        assert record.flagged
        assert ScanHit.objects.filter(
            conversation_public_id=record.conversation.public_id, action="block", direction="prompt"
        ).exists()
    # Costs are the agent's prices.
    helper = records.filter(agent__name="Helper", outcome=ExchangeOutcome.COMPLETED).first()
    assert helper.cost * 1_000_000 == helper.input_tokens * 2 + helper.output_tokens * 8
    assert records.filter(cost__gt=0).exists() and records.filter(country="").exists()
    assert set(records.values_list("channel", flat=True)) <= {"api", "web"}
    assert {c.total_tokens for c in Conversation.objects.for_company(seeded_company)} != {0}


def test_seed_activity_is_deterministic_with_a_seed(seeded_company, other_company):
    AgentFactory(company=other_company, name="Helper", input_price_per_million=2, output_price_per_million=8)
    AgentFactory(company=other_company, name="Coder", input_price_per_million=1, output_price_per_million=4)

    seed("--company", "acme", "--conversations", "30", "--seed", "7", "--users", "6")
    seed("--company", "globex", "--conversations", "30", "--seed", "7", "--users", "6")

    assert story(seeded_company) == story(other_company)
    assert len(story(seeded_company)) > 30


def test_a_second_run_adds_different_activity(seeded_company):
    seed("--company", "acme", "--conversations", "20", "--users", "4")
    first = story(seeded_company)

    seed("--company", "acme", "--conversations", "20", "--users", "4")

    assert Conversation.objects.for_company(seeded_company).count() == 40
    assert story(seeded_company)[: len(first)] == first
    assert story(seeded_company)[len(first) :] != first


def test_seed_activity_keeps_the_rollups_equal_to_a_rebuild(seeded_company):
    seed("--company", "acme", "--conversations", "40", "--users", "6")
    seed("--company", "acme", "--conversations", "10", "--users", "6")
    seeded = sorted(DailyUsage.objects.values_list("day", "agent", "user", "channel", "country", "exchanges", "cost"))
    seeded_hits = sorted(DailyScanHits.objects.values_list("day", "agent", "user", "channel", "scanner", "hits"))

    rollups_rebuild(seeded_company)

    assert (
        sorted(DailyUsage.objects.values_list("day", "agent", "user", "channel", "country", "exchanges", "cost"))
        == seeded
    )
    assert (
        sorted(DailyScanHits.objects.values_list("day", "agent", "user", "channel", "scanner", "hits")) == seeded_hits
    )
    usage = UsageRecord.objects.for_company(seeded_company)
    assert DailyUsage.objects.aggregate(n=Sum("exchanges"))["n"] == usage.count()
    assert DailyUsage.objects.aggregate(n=Sum("conversations"))["n"] == 50
    assert DailyScanHits.objects.aggregate(n=Sum("hits"))["n"] == ScanHit.objects.count() > 0


def test_seed_activity_refuses_an_unknown_company_or_a_company_without_agents(db):
    CompanyFactory(slug="empty")
    with pytest.raises(CommandError, match="No company"):
        seed("--company", "nope", "--conversations", "5")
    with pytest.raises(CommandError, match="no agent"):
        seed("--company", "empty", "--conversations", "5")
    assert not Conversation.objects.exists()
