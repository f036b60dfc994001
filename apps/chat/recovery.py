"""Answers a server process left behind: closed as incomplete, with their usage record, never left in progress.

A graceful shutdown stores every answer (``pipeline.answers_drain``). A crash (SIGKILL, out of memory, a machine
lost) cannot: the AI message stays ``in_progress`` with no usage record. ``interrupted_answers_close`` closes such
answers once they are older than any live answer can be (``CHAT_ANSWER_MAX_SECONDS`` plus a margin, the default),
so that it never touches an answer another process is still generating. It runs at each server process's start
(airisk/asgi.py) and as ``manage.py close_interrupted_answers``.

The text streamed before the crash was never stored (an answer is written once, after its last delta), so the
usage is estimated from what is stored: the agent's instructions, the earlier turns the engine saw and the prompt
as input, the stored text (usually empty) as output. Marked estimated, at the prices stored on the message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.audit.models import Outcome
from apps.audit.services import Actor, audit_event_record
from apps.chat.models import Conversation, ExchangeOutcome, Message, MessageStatus, MessageType, UsageRecord
from apps.chat.pipeline import conversation_totals_added, cost_of, in_worker
from apps.chat.signals import exchange_recorded
from apps.engines.base import Usage, estimate_tokens

logger = logging.getLogger(__name__)

INTERRUPTED_REASON = "interrupted"
# Beyond CHAT_ANSWER_MAX_SECONDS: time for a live answer's preparation and store.
MARGIN_SECONDS = 60


def interrupted_after_seconds() -> int:
    """The age past which an in-progress answer cannot belong to a live process."""
    return settings.CHAT_ANSWER_MAX_SECONDS + MARGIN_SECONDS


def interrupted_answers_close(
    *,
    actor: Actor,
    older_than_seconds: float | None = None,
    batch_size: int = 100,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Close the AI messages still in progress that are older than ``older_than_seconds`` (default
    ``interrupted_after_seconds()``), each in its own transaction: incomplete with reason "interrupted", a usage
    record (outcome incomplete, estimated), the conversation's totals, an audit event. Idempotent: a message
    closed here, or stored by its own process meanwhile, is not touched again. Returns ``{"closed", "cost"}``
    (cost as a string, USD)."""
    if older_than_seconds is None:
        older_than_seconds = interrupted_after_seconds()
    cutoff = timezone.now() - timedelta(seconds=max(older_than_seconds, 0))
    stale = Message.objects.filter(
        message_type=MessageType.AI, status=MessageStatus.IN_PROGRESS, created__lte=cutoff
    ).order_by("pk")
    closed, total_cost, after = 0, 0, 0
    while True:
        ids = list(stale.filter(pk__gt=after).values_list("pk", flat=True)[:batch_size])
        if not ids:
            break
        for pk in ids:
            cost = _close(pk, actor)
            if cost is not None:
                closed += 1
                total_cost += cost
        after = ids[-1]
        if progress is not None:
            progress(closed)
    return {"closed": closed, "cost": str(total_cost)}


@transaction.atomic
def _close(pk: int, actor: Actor):
    """Close one message; its cost, or None when it is no longer in progress (closed by someone else)."""
    message = (
        Message.objects.select_for_update(of=("self",))
        .select_related("conversation__agent", "conversation__user", "company")
        .filter(pk=pk, status=MessageStatus.IN_PROGRESS)
        .first()
    )
    if message is None:
        return None
    conversation = message.conversation
    agent = conversation.agent
    earlier = list(
        Message.objects.filter(conversation=conversation, pk__lt=message.pk)
        .exclude(status__in=[MessageStatus.FAILED, MessageStatus.IN_PROGRESS])
        .exclude(message_type=MessageType.SYSTEM)
        .order_by("-pk")
        .values_list("text", flat=True)[: agent.max_messages + 1]  # the prompt and the history the engine saw
    )
    usage = Usage(
        input_tokens=estimate_tokens(agent.instructions + "".join(earlier)),
        output_tokens=estimate_tokens(message.text),
        estimated=True,
    )
    input_cost, output_cost = cost_of(usage, message.input_price_per_million, message.output_price_per_million)
    cost = input_cost + output_cost
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.INCOMPLETE,
        finish_reason=INTERRUPTED_REASON,
        incomplete_reason=INTERRUPTED_REASON,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        usage_estimated=True,
        input_cost=input_cost,
        output_cost=output_cost,
        cost=cost,
    )
    Conversation.objects.filter(pk=conversation.pk).update(**conversation_totals_added(usage, input_cost, output_cost))
    record = UsageRecord.objects.create(
        company=message.company,
        user=conversation.user,
        agent=agent,
        conversation=conversation,
        message=message,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cost=cost,
        estimated=True,
        channel=_channel_of(conversation),
        outcome=ExchangeOutcome.INCOMPLETE,
        created=message.created,
    )
    transaction.on_commit(lambda: exchange_recorded.send_robust(sender=UsageRecord, record=record, hits=[]))
    audit_event_record(
        action="chat.answer_interrupted",
        company=message.company,
        actor=actor,
        outcome=Outcome.FAILURE,
        user=conversation.user,
        target=conversation,
        detail={
            "agent": agent.name,
            "message": message.public_id,
            "started": message.created.isoformat(),
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cost": str(cost),
        },
    )
    return cost


def _channel_of(conversation: Conversation) -> str:
    """The conversation's channel as its earlier answers recorded it (a conversation lives in the page or in the
    API); "api", the field's default, when this was its first answer."""
    earlier = UsageRecord.objects.filter(conversation=conversation).order_by("-pk").values_list("channel", flat=True)
    return earlier.first() or "api"


async def interrupted_answers_close_in_worker() -> dict[str, int] | None:
    """``interrupted_answers_close`` with the defaults, from a server process's start (airisk/asgi.py): in a worker
    thread, its failure logged (a database not reachable yet must not keep the server from starting)."""
    try:
        result = await in_worker(partial(interrupted_answers_close, actor=Actor.system()))
    except Exception:
        logger.exception("closing the chat answers interrupted by a stopped server failed")
        return None
    if result["closed"]:
        logger.warning("closed %d chat answers left in progress by a stopped server process", result["closed"])
    return result
