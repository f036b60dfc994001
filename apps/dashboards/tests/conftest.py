"""A small, hand-countable history for the dashboards' tests.

Company A (UTC), today = Friday 20 March 2026. "last 7 days" is 14-20 March, the previous period 7-13 March.

| record | day    | user | agent | channel | country | outcome   | in  | out | cost | flagged | conversation |
| r6     | 1 Feb  | u2   | A     | web     | FR      | completed | 500 | 500 | 2.00 | no      | c0 (first)   |
| r5     | 10 Mar | u1   | A     | web     | US      | completed | 100 | 100 | 0.50 | no      | c3 (first)   |
| r4     | 15 Mar | u2   | B     | api     | ""      | blocked   | 0   | 0   | 0    | yes     | c2 (first)   |
| r3     | 16 Mar | u2   | B     | api     | DE      | failed    | 300 | 0   | 0.25 | no      | c2           |
| r1     | 20 Mar | u1   | A     | web     | US      | completed | 100 | 50  | 0.50 | no      | c1 (first)   |
| r2     | 20 Mar | u1   | A     | web     | US      | completed | 200 | 100 | 1.00 | yes     | c1           |

Hits: pii (flag) on r2, prompt_injection (block) on r4, and a Scanner API pii hit of agent A on 18 March.
Groups: Finance = {u1}; Everyone = {u1, u2}. Company B has its own agent, user and an exchange on 20 March.
"""

from datetime import date, datetime
from decimal import Decimal

import pytest

from apps.chat.models import Conversation, ExchangeOutcome, Message, MessageType, UsageRecord
from apps.dashboards.rollups import rollups_rebuild
from apps.scanners.models import ScanHit
from tests.factories import AgentFactory, GroupFactory, UserFactory

TODAY = date(2026, 3, 20)


def at(day: date, hour: int = 12) -> datetime:
    from datetime import UTC

    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def exchange(conversation, *, day, input_tokens=0, output_tokens=0, cost="0", outcome="completed", flagged=False,
             country="US", channel="web", answered=True) -> UsageRecord:  # fmt: skip
    """One exchange as the pipeline stores it: the prompt and answer messages (unless blocked) and its record."""
    message = None
    if answered:
        common = {"company": conversation.company, "conversation": conversation, "created": at(day)}
        Message.objects.create(message_type=MessageType.USER, text="question", **common)
        message = Message.objects.create(message_type=MessageType.AI, text="answer", **common)
    return UsageRecord.objects.create(
        company=conversation.company,
        user=conversation.user,
        agent=conversation.agent,
        conversation=conversation,
        message=message,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost=Decimal(cost),
        outcome=outcome,
        flagged=flagged,
        country=country,
        channel=channel,
        created=at(day),
    )


def hit(company, *, scanner, action, day, agent, conversation=None, source="chat") -> ScanHit:
    found = ScanHit.objects.create(
        company=company,
        scanner=scanner,
        direction="prompt",
        source=source,
        action=action,
        score=0.9,
        threshold=0.5,
        agent=agent,
        conversation_public_id=conversation.public_id if conversation else "",
    )
    ScanHit.objects.filter(pk=found.pk).update(created=at(day))
    found.refresh_from_db()
    return found


def conversation_of(user, agent) -> Conversation:
    return Conversation.objects.create(company=user.company, user=user, agent=agent)


@pytest.fixture
def history(company, other_company):
    u1 = UserFactory(company=company, email="u1@acme.example", name="Uma One", roles=["user"])
    u2 = UserFactory(company=company, email="u2@acme.example", name="Ugo Two", roles=["user"])
    agent_a = AgentFactory(company=company, name="Agent A")
    agent_b = AgentFactory(company=company, name="Agent B")
    finance = GroupFactory(company=company, name="Finance")
    everyone = GroupFactory(company=company, name="Everyone")
    finance.members.add(u1)
    everyone.members.add(u1, u2)
    c0, c3 = conversation_of(u2, agent_a), conversation_of(u1, agent_a)
    c2, c1 = conversation_of(u2, agent_b), conversation_of(u1, agent_a)
    records = {
        "r6": exchange(c0, day=date(2026, 2, 1), input_tokens=500, output_tokens=500, cost="2.00", country="FR"),
        "r5": exchange(c3, day=date(2026, 3, 10), input_tokens=100, output_tokens=100, cost="0.50"),
        "r4": exchange(
            c2,
            day=date(2026, 3, 15),
            outcome=ExchangeOutcome.BLOCKED,
            flagged=True,
            country="",
            channel="api",
            answered=False,
        ),
        "r3": exchange(
            c2,
            day=date(2026, 3, 16),
            input_tokens=300,
            cost="0.25",
            outcome=ExchangeOutcome.FAILED,
            country="DE",
            channel="api",
        ),
        "r1": exchange(c1, day=date(2026, 3, 20), input_tokens=100, output_tokens=50, cost="0.50"),
        "r2": exchange(c1, day=date(2026, 3, 20), input_tokens=200, output_tokens=100, cost="1.00", flagged=True),
    }
    hits = [
        hit(company, scanner="pii", action="flag", day=date(2026, 3, 20), agent=agent_a, conversation=c1),
        hit(company, scanner="prompt_injection", action="block", day=date(2026, 3, 15), agent=agent_b, conversation=c2),
        hit(company, scanner="pii", action="redact", day=date(2026, 3, 18), agent=agent_a, source="api"),
    ]
    # Company B: an exchange on the same day, never counted for A.
    other = UserFactory(company=other_company, email="x@globex.example", name="Xena", roles=["user"])
    other_agent = AgentFactory(company=other_company, name="Globex agent")
    exchange(conversation_of(other, other_agent), day=TODAY, input_tokens=9999, cost="99", country="US")
    rollups_rebuild(company)
    rollups_rebuild(other_company)
    return {
        "u1": u1, "u2": u2, "agent_a": agent_a, "agent_b": agent_b, "finance": finance, "everyone": everyone,
        "records": records, "hits": hits, "other_user": other, "other_agent": other_agent,
    }  # fmt: skip
