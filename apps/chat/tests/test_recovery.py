"""close_interrupted_answers: answers a crashed server left in progress are closed as incomplete with their usage
record; fresh ones (a live process may still be generating them) are never touched; running it twice changes
nothing."""

import json
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.audit.services import Actor
from apps.chat.models import ExchangeOutcome, Message, MessageStatus, MessageType, UsageRecord
from apps.chat.recovery import interrupted_after_seconds, interrupted_answers_close
from apps.chat.services import conversation_create
from apps.chat.signals import exchange_recorded
from apps.engines.base import estimate_tokens

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_conversation(other_company, other_user, other_agent):
    return conversation_create(
        company=other_company, user=other_user, actor=Actor(user=other_user), agent=other_agent, title="G"
    )


def interrupted(conversation, *, age_seconds, prompt="How many days of leave?"):
    """A prompt and its AI message left in progress ``age_seconds`` ago, as _prepare stores them."""
    created = timezone.now() - timedelta(seconds=age_seconds)
    common = {"company": conversation.company, "conversation": conversation, "created": created}
    Message.objects.create(message_type=MessageType.USER, text=prompt, **common)
    return Message.objects.create(
        message_type=MessageType.AI,
        status=MessageStatus.IN_PROGRESS,
        input_price_per_million=Decimal("2.50"),
        output_price_per_million=Decimal("10.00"),
        **common,
    )


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("close_interrupted_answers", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_stale_answers_are_closed_with_usage_totals_and_audit_and_fresh_ones_untouched(
    conversation, other_conversation, django_capture_on_commit_callbacks
):
    stale = interrupted(conversation, age_seconds=interrupted_after_seconds() + 30)
    other_stale = interrupted(other_conversation, age_seconds=interrupted_after_seconds() + 500)
    fresh = interrupted(conversation, age_seconds=5, prompt="A later question")
    done = Message.objects.create(
        company=conversation.company,
        conversation=conversation,
        message_type=MessageType.AI,
        text="An old answer",
        created=timezone.now() - timedelta(days=3),
    )
    recorded = []

    def receiver(sender, record, hits, **kwargs):
        recorded.append(record)

    exchange_recorded.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            out, err = run()
    finally:
        exchange_recorded.disconnect(receiver)

    assert out.count("\n") <= 1
    assert out.startswith(f"Closed 2 interrupted answers older than {interrupted_after_seconds()} s (estimated cost ")
    assert "2 interrupted answers closed so far" in err
    stale.refresh_from_db()
    assert stale.status == MessageStatus.INCOMPLETE and stale.incomplete_reason == "interrupted"
    # Estimated from what is stored: the agent's instructions and the prompt in, the (empty) text out.
    expected_input = estimate_tokens("You are a careful assistant." + "How many days of leave?")
    assert (stale.input_tokens, stale.output_tokens, stale.usage_estimated) == (expected_input, 0, True)
    assert stale.cost == (Decimal(expected_input) * Decimal("2.50") / 1_000_000).quantize(Decimal("0.00000001"))
    record = UsageRecord.objects.get(message=stale)
    assert record.outcome == ExchangeOutcome.INCOMPLETE and record.estimated and record.cost == stale.cost
    assert record.user == conversation.user and record.company == conversation.company and record.channel == "api"
    conversation.refresh_from_db()
    assert conversation.total_cost == stale.cost and conversation.prompt_tokens == expected_input
    event = AuditEvent.objects.get(action="chat.answer_interrupted", company=conversation.company)
    assert event.target_id == conversation.public_id and event.detail["message"] == stale.public_id
    assert event.user == conversation.user
    # The other company's answer is closed in its own company.
    other_stale.refresh_from_db()
    assert other_stale.status == MessageStatus.INCOMPLETE
    assert AuditEvent.objects.filter(action="chat.answer_interrupted", company=other_conversation.company).count() == 1
    assert UsageRecord.objects.get(message=other_stale).company == other_conversation.company
    # Monitoring and dashboards hear of both exchanges.
    assert sorted(r.message_id for r in recorded) == sorted([stale.pk, other_stale.pk])
    # Fresh: a live process may be generating it.
    fresh.refresh_from_db()
    assert fresh.status == MessageStatus.IN_PROGRESS and not UsageRecord.objects.filter(message=fresh).exists()
    done.refresh_from_db()
    assert done.status == MessageStatus.COMPLETED and done.cost == 0


def test_running_it_again_changes_nothing(conversation):
    stale = interrupted(conversation, age_seconds=interrupted_after_seconds() + 30)
    run()
    conversation.refresh_from_db()
    totals = (conversation.total_cost, conversation.total_tokens)

    out, _ = run("--json")

    assert json.loads(out) == {"closed": 0, "cost": "0", "older_than_seconds": interrupted_after_seconds()}
    assert UsageRecord.objects.filter(message=stale).count() == 1
    assert AuditEvent.objects.filter(action="chat.answer_interrupted").count() == 1
    conversation.refresh_from_db()
    assert (conversation.total_cost, conversation.total_tokens) == totals


def test_older_than_zero_closes_every_answer_in_progress_with_json_output(conversation):
    fresh = interrupted(conversation, age_seconds=1)

    data = json.loads(run("--older-than", "0", "--json")[0])

    fresh.refresh_from_db()
    assert data["closed"] == 1 and Decimal(data["cost"]) == fresh.cost > 0 and data["older_than_seconds"] == 0
    assert fresh.status == MessageStatus.INCOMPLETE


def test_the_channel_follows_the_conversations_earlier_answers(conversation):
    UsageRecord.objects.create(
        company=conversation.company, user=conversation.user, agent=conversation.agent, conversation=conversation,
        channel="web",
    )  # fmt: skip
    stale = interrupted(conversation, age_seconds=interrupted_after_seconds() + 1)

    interrupted_answers_close(actor=Actor.system())

    assert UsageRecord.objects.get(message=stale).channel == "web"


def test_the_history_the_engine_saw_is_part_of_the_estimate(conversation):
    earlier = interrupted(conversation, age_seconds=interrupted_after_seconds() + 100, prompt="First question")
    Message.objects.filter(pk=earlier.pk).update(status=MessageStatus.COMPLETED, text="First answer")
    stale = interrupted(conversation, age_seconds=interrupted_after_seconds() + 50, prompt="Second question")

    interrupted_answers_close(actor=Actor.system(), batch_size=1)

    stale.refresh_from_db()
    sent = "You are a careful assistant." + "Second question" + "First answer" + "First question"
    assert stale.input_tokens == estimate_tokens(sent)


@pytest.mark.parametrize("args", [("--older-than", "-1"), ("--batch-size", "0"), ("--older-than", "soon")])
def test_malformed_values_are_refused_and_nothing_is_closed(conversation, args):
    stale = interrupted(conversation, age_seconds=interrupted_after_seconds() + 30)

    with pytest.raises(CommandError):
        run(*args)

    stale.refresh_from_db()
    assert stale.status == MessageStatus.IN_PROGRESS and not UsageRecord.objects.exists()
