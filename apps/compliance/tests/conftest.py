"""Fixtures of the compliance tests: the people of the role matrix in company A, a compliance officer in company B,
an agent each, a few conversations with messages and scanner hits, and API tokens with the ``compliance`` grant."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.chat.models import Conversation, Message, MessageType
from apps.oauth.services import access_token_issue
from apps.scanners.models import ScanHit
from tests.factories import AgentFactory, APIUserFactory, GroupFactory, UserFactory


@pytest.fixture
def officer(company):
    return UserFactory(company=company, email="officer@acme.example", name="Olga Officer", roles=["compliance"])


@pytest.fixture
def second_officer(company):
    return UserFactory(company=company, email="officer2@acme.example", roles=["compliance", "user"])


@pytest.fixture
def monitor_user(company):
    return UserFactory(company=company, email="monitor@acme.example", roles=["monitor", "user"])


@pytest.fixture
def other_officer(other_company):
    return UserFactory(company=other_company, email="officer@globex.example", roles=["compliance"])


@pytest.fixture
def agent(company):
    return AgentFactory(company=company, name="HR assistant")


@pytest.fixture
def other_agent(other_company):
    return AgentFactory(company=other_company, name="Globex bot")


def conversation_with(company, user, agent, turns, *, title="", when=None, has_flag=False) -> Conversation:
    """A conversation with ``turns`` (message type, text) a minute apart, starting at ``when``."""
    start = when or timezone.now() - dt.timedelta(hours=1)
    conversation = Conversation.objects.create(
        company=company, user=user, agent=agent, title=title, has_flag=has_flag, created=start, last_updated=start
    )
    for index, (kind, text) in enumerate(turns):
        Message.objects.create(
            company=company,
            conversation=conversation,
            message_type=kind,
            text=text,
            created=start + dt.timedelta(minutes=index),
            cost=Decimal("0.0012") if kind == MessageType.AI else Decimal(0),
        )
    return conversation


def hit(message: Message, scanner: str, action: str = "flag", direction: str = "prompt") -> ScanHit:
    return ScanHit.objects.create(
        company=message.company,
        scanner=scanner,
        direction=direction,
        source="chat",
        action=action,
        score=0.9,
        threshold=0.5,
        agent=message.conversation.agent,
        message_public_id=message.public_id,
        conversation_public_id=message.conversation.public_id,
    )


@pytest.fixture
def data(company, plain_user, admin_user, agent, other_company, other_user, other_agent):
    """A small corpus: two people of A (one in the Engineering group), two agents, hits, feedback; and B's
    conversation that says the same words and must never show up in A's results."""
    engineering = GroupFactory(company=company, name="Engineering")
    engineering.members.add(plain_user)
    second_agent = AgentFactory(company=company, name="Legal helper")
    refund = conversation_with(
        company,
        plain_user,
        agent,
        [
            (MessageType.USER, "Can I get a refund for the conference ticket? My card is 4111 1111 1111 1111."),
            (MessageType.AI, "Refunds for conference tickets are approved by your manager."),
        ],
        title="Conference refund",
        when=timezone.now() - dt.timedelta(days=3),
        has_flag=True,
    )
    contract = conversation_with(
        company,
        admin_user,
        second_agent,
        [
            (MessageType.USER, "Summarize the contractor agreement and the terms of service."),
            (MessageType.AI, "The terms of service limit liability; the contractor keeps the copyright."),
        ],
        title="Contractor agreement",
        when=timezone.now() - dt.timedelta(days=1),
    )
    hostile = conversation_with(
        company,
        plain_user,
        agent,
        [(MessageType.USER, '<script>alert("x")</script> =HYPERLINK("http://evil") payroll export')],
        title="<b>Payroll</b>",
    )
    other = conversation_with(
        other_company, other_user, other_agent, [(MessageType.USER, "Can I get a refund for the contractor payroll?")]
    )
    refund_prompt, refund_answer = refund.messages.order_by("created")
    hit(refund_prompt, "pii", "redact")
    contract_answer = contract.messages.order_by("created").last()
    contract_answer.feedback = "Dislike"
    contract_answer.save(update_fields=["feedback"])
    refund_answer.feedback = "Like"
    refund_answer.save(update_fields=["feedback"])
    hit(other.messages.get(), "pii", "redact")
    return {
        "group": engineering,
        "second_agent": second_agent,
        "refund": refund,
        "contract": contract,
        "hostile": hostile,
        "other": other,
        "refund_prompt": refund_prompt,
        "refund_answer": refund_answer,
        "contract_answer": contract_answer,
    }


@pytest.fixture
def compliance_client(company):
    """Company A's API client holding the compliance grant."""
    return APIUserFactory(company=company, name="Compliance tool", grants=["compliance", "users:read"])


@pytest.fixture
def officer_token(compliance_client, officer):
    return access_token_issue(client=compliance_client, user=officer)[1]


@pytest.fixture
def compliance_generic_token(compliance_client):
    return access_token_issue(client=compliance_client, user=None)[1]


@pytest.fixture
def other_officer_token(other_company, other_officer):
    client = APIUserFactory(company=other_company, name="Globex compliance", grants=["compliance"])
    return access_token_issue(client=client, user=other_officer)[1]
