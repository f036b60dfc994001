"""What happens on each prompt: one path for the chat page and the Chat API.

    handle = answer_start(PromptInput(...))        # in a running event loop
    async for event in handle.events():            # Started, Delta*, then exactly one Finished / Failed
        ...

The generation is a detached asyncio task, not the consumer's coroutine: a client that disconnects mid-answer
abandons ``events()`` but the task runs on, stores the answer, its usage and its cost, and the next
GetConversation shows it. The task keeps a strong reference to itself (``_RUNNING``) until it is done, so the
garbage collector cannot drop it when nobody listens any more. When the server shuts down, ``answers_drain`` (called
by the ASGI lifespan handler in airisk/asgi.py) lets the running answers finish for a grace period, then stops the
rest as incomplete with reason "server_shutdown": what was generated is stored and billed, never lost.

Database work happens in three worker-thread calls (``in_worker``: a thread pool of its own): ``_prepare`` reads
what the engine request needs (limits, access, history, passages; no writes, no transaction); ``_write_prompt``
stores the user message and the in-progress AI message in one transaction, started once the engine request is on
its way, so that the first token waits for no write; ``_store`` writes the answer after the last delta, in one
transaction, once the prompt's rows are there. Nothing blocking runs on the event loop: the loop only relays the
engine's deltas. A refusal found by ``_prepare`` (rate limit, prompt too long, agent no longer usable) is a ``Failed``
event with an HTTP ``status``, sent before anything was stored, so that the API can answer it as a 4xx.

Scanning (issue 11): ``_scan_input`` runs the input scanners inside ``_prepare`` (a worker thread) before anything
reaches the engine: a block refuses the prompt (its hits are still recorded), PII is replaced by the
conversation's placeholders in the prompt and in the history, and the placeholders map is kept, encrypted, on the
conversation. The answer streams through an ``AnswerGuard`` (sentence buffer, run off the loop) that restores the
originals for the user and cuts the answer as soon as an output scanner blocks. Hits are recorded by ``_prepare``
(the prompt's) and ``_store`` (the answer's), each in its transaction.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import connections, transaction
from django.db.models import F
from django.utils import timezone

from apps.accounts.models import ApplicationUser
from apps.agents.config import engine_config
from apps.agents.models import Agent
from apps.agents.selectors import provider_credential_for
from apps.audit.models import Outcome
from apps.audit.services import Actor, audit_event_record
from apps.chat.models import (
    Conversation,
    ExchangeOutcome,
    Message,
    MessageStatus,
    MessageType,
    UsageRecord,
    new_public_id,
)
from apps.chat.selectors import context_documents, history_turns_later, prompt_agent_later
from apps.chat.services import agent_documents_index
from apps.chat.signals import exchange_recorded
from apps.companies.models import Company
from apps.core.cache import over_rate
from apps.core.statements import together
from apps.documents.selectors import Passage, passages_for
from apps.engines.base import ChatTurn, EngineConfig, EngineError, Finish, TextDelta, Usage, estimate_tokens
from apps.engines.prices import list_price
from apps.engines.service import stream_answer
from apps.scanners.detectors.base import ScanContext, ScanResult
from apps.scanners.detectors.geo import locate
from apps.scanners.pipeline import AnswerGuard, PipelineResult, redact_for_engine, scan_prompt, without_inert
from apps.scanners.selectors import scanner_settings_later
from apps.scanners.services import scan_hits_record

logger = logging.getLogger(__name__)
T = TypeVar("T")

MILLION = Decimal(1_000_000)
CENT_FRACTION = Decimal("0.00000001")
# Engine error kinds as the event stream's ``last_error.code`` (chat-stream.md).
ERROR_CODES = {"rate_limited": "rate_limit_exceeded", "content_filtered": "invalid_prompt"}


# --- what goes in and what comes out ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PromptInput:
    company: Company
    user: ApplicationUser
    agent: Agent
    conversation: Conversation | None  # None: a one-off exchange (ChatWithAgent), no stored history
    text: str
    history: list[ChatTurn] | None = None  # ChatWithAgent may pass earlier messages
    client_ip: str | None = None
    channel: str = "api"  # "api" | "web"
    client: Any = None  # the API client (APIUser) of the token, for the audit trail


@dataclass(frozen=True)
class Started:
    user_message_id: str | None
    message_id: str
    run_id: str
    conversation_id: str | None
    agent_id: str
    model: str
    created_at: int  # Unix seconds, as the event stream's objects carry them
    instructions: str = ""
    temperature: float | None = None
    prepare_ms: float = 0.0
    auth_ms: float = 0.0  # the caller's own checks, when answer_start was given a builder (see there)


@dataclass(frozen=True)
class Delta:
    text: str


@dataclass(frozen=True)
class Finished:
    message_id: str
    text: str
    status: Literal["completed", "incomplete"]
    incomplete_reason: str
    usage: Usage
    cost: Decimal
    citations: list[dict]
    finish_reason: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    completed_at: int = 0


@dataclass(frozen=True)
class Failed:
    message_id: str
    code: Literal["server_error", "rate_limit_exceeded", "invalid_prompt", "blocked", "not_found", "forbidden"]
    message: str
    # Set when the prompt was refused before anything was stored: the HTTP status the API answers with.
    status: int | None = None
    retry_after: int | None = None
    failed_at: int = 0
    # The exception the caller's builder raised (answer_start with a builder): the caller answers it its own way.
    cause: BaseException | None = None


Event = Started | Delta | Finished | Failed


# --- scanning (issue 11) -----------------------------------------------------------------------------------------


class InputBlocked(Exception):
    """An input scanner blocked the prompt: nothing is stored but the hits, nothing reaches the engine."""

    def __init__(self, outcome: PipelineResult) -> None:
        super().__init__(outcome.block_reason())
        self.outcome = outcome


@dataclass(frozen=True)
class InputScan:
    settings_map: dict
    prompt: str  # what the engine receives: placeholders instead of PII
    context: ScanContext  # its redaction_map: the conversation's placeholders, extended by this prompt
    outcome: PipelineResult
    map_changed: bool


def _stored_redaction_map(conversation: Conversation | None) -> dict[str, str]:
    if conversation is None or not conversation.redaction_map:
        return {}
    return json.loads(conversation.redaction_map)


def _scan_input(inp: PromptInput, settings_map: dict) -> InputScan:
    """The input scanners on the prompt (sync: called in ``_prepare``'s worker thread, never on the loop), with the
    enabled scanners' settings (``scanner_settings_for``)."""
    # Only hits are recorded, so scanners whose every verdict is "allow" are not run (nor their models loaded).
    settings_map = without_inert(settings_map)
    known = _stored_redaction_map(inp.conversation)
    context = ScanContext(direction="prompt", client_ip=inp.client_ip, redaction_map=dict(known))
    outcome = scan_prompt(settings_map, inp.text, context)
    if not outcome.is_valid:
        raise InputBlocked(outcome)
    return InputScan(settings_map, outcome.sanitized_text, context, outcome, context.redaction_map != known)


def _record_hits(inp: PromptInput, results: list[ScanResult], *, direction: str, message_id: str | None) -> list:
    """Store and audit the hits; mark the conversation as flagged. Returns the stored ScanHits."""
    hits = scan_hits_record(
        company=inp.company,
        actor=Actor(user=inp.user, client=inp.client, ip=inp.client_ip),
        results=results,
        direction=direction,
        source="chat",
        agent=inp.agent,
        message_public_id=message_id or "",
        conversation_public_id=inp.conversation.public_id if inp.conversation is not None else "",
    )
    if hits and inp.conversation is not None:
        Conversation.objects.filter(pk=inp.conversation.pk).update(has_flag=True)
    return hits


def country_of(client_ip: str | None) -> str:
    """The caller's country as the geographic scanner resolves it (ISO alpha-2), or "" (internal, unknown)."""
    status, country = locate(client_ip)
    return country or "" if status == "country" else ""


def _record_exchange(inp: PromptInput, record: UsageRecord, hits: list) -> None:
    """Tell monitoring and dashboards about the exchange once its transaction commits (apps/chat/signals.py)."""
    transaction.on_commit(lambda: exchange_recorded.send_robust(sender=UsageRecord, record=record, hits=hits))


# --- the handle ---------------------------------------------------------------------------------------------------

_RUNNING: dict[asyncio.Task, AnswerHandle] = {}
# Cancellation requested in this process: set at once. Other processes learn it from the cache flag.
_LOCAL_CANCEL: dict[str, asyncio.Event] = {}


def cancel_key(message_id: str) -> str:
    return f"chat:cancel:{message_id}"


class _Ping:
    """Queued by the ping timer when the consumer has waited CHAT_PING_SECONDS; next_event turns it into None."""


_PING = _Ping()


class AnswerHandle:
    """The consumer's side of a running answer. ``events()`` may be abandoned: the answer still completes."""

    def __init__(self, message_id: str, user_message_id: str | None) -> None:
        self.message_id = message_id
        self.user_message_id = user_message_id
        self._queue: asyncio.Queue[Event | _Ping] = asyncio.Queue()
        self.task: asyncio.Task | None = None
        # Set by answers_drain: the answer stops and is stored as incomplete with this reason.
        self.stop_reason: str | None = None
        # True only while the generation awaits the engine's next event: the one place answers_drain may
        # interrupt it (a slow first token), never while a worker thread scans the answer.
        self.waiting_engine = False
        # (company pk, user pk) of the prompt, once known: a Stop from this process is checked against it.
        self.owner: tuple[int, int] | None = None
        # next_event's keep-alive: one timer per answer, re-armed when it fires, and the loop time since which the
        # consumer has been waiting (None while it is not).
        self._ping_timer: asyncio.TimerHandle | None = None
        self._ping_seconds = 0.0
        self._waiting_since: float | None = None
        self._over = False

    def put(self, event: Event) -> None:
        """The generation's side: queue ``event`` for the consumer."""
        self._queue.put_nowait(event)
        if isinstance(event, Finished | Failed):
            self._over = True
            if self._ping_timer is not None:
                self._ping_timer.cancel()
                self._ping_timer = None

    async def events(self) -> AsyncIterator[Event]:
        while True:
            event = await self._queue.get()
            if event is _PING:
                continue
            yield event
            if isinstance(event, Finished | Failed):
                return

    async def next_event(self, ping_after: float | None = None) -> Event | None:
        """The next event, or None once ``ping_after`` seconds pass without one (the stream sends a ping then).

        The wait is timed by one timer per answer, not one per call: a timer set and cancelled around the wait for
        every delta cost a few per cent of the event loop's CPU while answers streamed (py-spy, 50 users)."""
        if not self._queue.empty():
            event = self._queue.get_nowait()  # the common case while an answer streams: nothing to time
        elif ping_after is None:
            event = await self._queue.get()
        else:
            loop = asyncio.get_running_loop()
            if self._ping_timer is None and not self._over:
                self._ping_seconds = ping_after
                self._ping_timer = loop.call_later(ping_after, self._ping_due)
            self._waiting_since = loop.time()
            try:
                event = await self._queue.get()
            finally:
                self._waiting_since = None
        return None if event is _PING else event

    def _ping_due(self) -> None:
        if self.task is not None and self.task.done():
            self._ping_timer = None  # the answer ended without a last event (a bug elsewhere): stop re-arming
            return
        loop = asyncio.get_running_loop()
        delay = self._ping_seconds
        if self._waiting_since is not None:
            waited = loop.time() - self._waiting_since
            if waited >= self._ping_seconds * 0.99:  # the timer may fire a hair early
                self._queue.put_nowait(_PING)
            else:
                delay = self._ping_seconds - waited
        self._ping_timer = loop.call_later(delay, self._ping_due)

    def ready_event(self) -> Event | None:
        """The next event if one is already waiting, else None (without waiting)."""
        while not self._queue.empty():
            event = self._queue.get_nowait()
            if event is not _PING:
                return event
        return None

    async def wait(self) -> None:
        """Until the answer is stored (tests, benchmarks, the JSON response mode)."""
        if self.task is not None:
            await asyncio.shield(self.task)


def answer_start(inp: PromptInput | Callable[[], PromptInput]) -> AnswerHandle:
    """Start answering ``inp`` as a detached task of the running loop and return its handle.

    ``inp`` may be a builder instead: a sync callable returning the PromptInput (the API's authentication and
    conversation lookup), called in the same worker-thread call as the preparation, so that a prompt costs one
    thread hop and one pooled connection before its first token rather than two. An exception it raises ends the
    answer with a ``Failed`` event carrying it as ``cause``; nothing was stored."""
    conversation = inp.conversation if isinstance(inp, PromptInput) else True  # a builder's: known once built
    handle = AnswerHandle(new_public_id(), new_public_id() if conversation is not None else None)
    # A fresh context: the task must not inherit the request's ThreadSensitiveContext, which ends with the
    # request while the answer may go on (a client that left).
    task = asyncio.get_running_loop().create_task(
        _run(inp, handle), name=f"chat-answer-{handle.message_id}", context=contextvars.Context()
    )
    handle.task = task
    _RUNNING[task] = handle
    task.add_done_callback(_forget)
    return handle


def _forget(task: asyncio.Task) -> None:
    _RUNNING.pop(task, None)


# How long a Stop waits, once, for the rows of an answer not found in progress (see answer_cancel).
CANCEL_ROW_WAIT_SECONDS = 0.2


async def answer_cancel(*, company: Company, user: ApplicationUser, message_id: str) -> bool:
    """Stop the answer ``message_id`` of ``user``: True when it was in progress (it will be stored as incomplete
    with reason "cancelled"), False when there is no such answer of this user or it already ended.

    An answer generating in this process is stopped at once, without a query (its rows may still be being
    written); any other is looked up in the database and told through the cache flag."""
    if message_id in _LOCAL_CANCEL and any(
        h.message_id == message_id and h.owner == (company.pk, user.pk) for h in _RUNNING.values()
    ):
        _stop_local(message_id)
        return True
    if not await in_worker(_in_progress_of, company, user, message_id):
        # The rows of an answer that has just started (in another process) are written while its engine is
        # asked: a Stop sent at once may come a moment before them. Look once more before saying no.
        await asyncio.sleep(CANCEL_ROW_WAIT_SECONDS)
        if not await in_worker(_in_progress_of, company, user, message_id):
            return False
    _stop_local(message_id)
    await cache.aset(cancel_key(message_id), 1, timeout=settings.CHAT_ANSWER_MAX_SECONDS)
    return True


SHUTDOWN_REASON = "server_shutdown"
# How long answers_drain waits for the answers it stopped to be stored (one database write each). Part of the
# shutdown budget in airisk/workers.py.
DRAIN_STORE_SECONDS = 5.0


async def answers_drain(timeout: float, *, store_timeout: float = DRAIN_STORE_SECONDS) -> dict[str, int]:
    """The server is shutting down (the ASGI lifespan handler, airisk/asgi.py): let the answers running in this
    process finish for at most ``timeout`` seconds, then stop the rest as incomplete with reason "server_shutdown"
    (what was generated is stored, its usage estimated and billed) and wait at most ``store_timeout`` seconds for
    them to be stored. Answers whose clients left and answers still streamed to a client are treated alike.

    Returns the counts: ``finished`` (ended by themselves within the grace), ``stopped`` (stopped and stored) and
    ``left`` (not stored in time: ``close_interrupted_answers`` closes them later, as after a crash)."""
    running = list(_RUNNING)
    if not running:
        return {"finished": 0, "stopped": 0, "left": 0}
    logger.info("waiting up to %s s for %d chat answer(s) before shutting down", timeout, len(running))
    _, pending = await asyncio.wait(running, timeout=max(timeout, 0))
    left: set[asyncio.Task] = set()
    if pending:
        for task in pending:
            handle = _RUNNING.get(task)
            if handle is None:
                continue
            handle.stop_reason = SHUTDOWN_REASON
            if handle.waiting_engine:
                task.cancel()  # _generate turns this into a stop; elsewhere it stops before its next engine read
        _, left = await asyncio.wait(pending, timeout=store_timeout)
        logger.warning(
            "stopped %d chat answer(s) at shutdown (stored as incomplete, %s); %d not stored in time",
            len(pending) - len(left),
            SHUTDOWN_REASON,
            len(left),
        )
    return {"finished": len(running) - len(pending), "stopped": len(pending) - len(left), "left": len(left)}


def _in_progress_of(company: Company, user: ApplicationUser, message_id: str) -> bool:
    return Message.objects.filter(
        company=company,
        conversation__user=user,
        public_id=message_id,
        message_type=MessageType.AI,
        status=MessageStatus.IN_PROGRESS,
    ).exists()


# --- preparing (one sync call before the first byte) -------------------------------------------------------------


class Refused(Exception):
    def __init__(self, code: str, message: str, status: int, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.retry_after = code, message, status, retry_after


@dataclass(frozen=True)
class Prepared:
    config: EngineConfig
    instructions: str
    history: tuple[ChatTurn, ...]
    citations: list[dict]
    input_price: Decimal
    output_price: Decimal
    run_id: str
    created_at: int
    model: str
    prompt: str = ""  # the prompt as the engine receives it (PII replaced by placeholders)
    settings_map: dict = field(default_factory=dict)  # the agent's scanners, for the answer's guard
    redaction_map: dict = field(default_factory=dict)
    created: datetime | None = None  # the prompt's time, the stored messages' ``created``
    prompt_results: list = field(default_factory=list)  # the input scanners' hits on the prompt (ScanResults)
    map_changed: bool = False  # the conversation's placeholders grew: _write_prompt stores them
    # Filled in once _write_prompt has run:
    prompt_hits: list = field(default_factory=list)  # the prompt's stored ScanHits
    message_pk: int | None = None  # the AI message's row (in a conversation), as its insert returned it


def rate_limit_hit(user_pk: int) -> int | None:
    """Count one prompt of the user; the seconds until the window ends when over ``CHAT_RATE_PER_USER``."""
    return over_rate(f"chat:rate:{user_pk}", settings.CHAT_RATE_PER_USER)  # one round trip on Redis


def prices_for(agent: Agent) -> tuple[Decimal, Decimal]:
    """The agent's prices now (USD per million tokens): its own, else the provider's list price, else 0."""
    listed = (
        list_price(agent.engine, agent.model)
        if None in (agent.input_price_per_million, agent.output_price_per_million)
        else None
    )
    input_price = agent.input_price_per_million
    output_price = agent.output_price_per_million
    if input_price is None:
        input_price = listed[0] if listed else Decimal(0)
    if output_price is None:
        output_price = listed[1] if listed else Decimal(0)
    return Decimal(input_price), Decimal(output_price)


def instructions_with(agent_instructions: str, passages: list[Passage]) -> str:
    if not passages:
        return agent_instructions
    parts = [agent_instructions.strip(), "", "Passages from the files of this conversation and agent:"]
    for number, passage in enumerate(passages, start=1):
        where = f", page {passage.page}" if passage.page else ""
        parts.append(f"[{number}] {passage.filename}{where}:\n{passage.text}")
    parts.append("Use these passages when they answer the question, and name the file you used.")
    return "\n".join(parts).strip()


def _prepare(inp: PromptInput, handle: AnswerHandle) -> tuple[PromptInput, Prepared]:
    _prompt_checks(inp)
    # The agent with the user's access, the scanner settings and the history depend on none of each other's rows:
    # they travel together, one round trip on PostgreSQL.
    with together():
        agent_read = prompt_agent_later(user=inp.user, agent=inp.agent, conversation=inp.conversation)
        settings_read = scanner_settings_later(inp.company, inp.agent)
        history_read = (
            history_turns_later(conversation=inp.conversation, limit=_history_limit(inp))
            if inp.conversation is not None
            else None
        )
    agent, settings_map = agent_read(), settings_read()
    history = history_read() if history_read is not None else None
    inp = _with_agent(inp, agent)
    try:
        return inp, _prepare_reads(inp, handle, settings_map, history)
    except InputBlocked as blocked:
        # Nothing of the refused prompt was written; its hits and a usage record (outcome "blocked", no tokens) are
        # the record of the refusal.
        with transaction.atomic():
            hits = _record_hits(inp, blocked.outcome.hits, direction="prompt", message_id=None)
            record = UsageRecord.objects.create(
                company=inp.company,
                user=inp.user,
                agent=inp.agent,
                conversation=inp.conversation,
                channel=inp.channel,
                outcome=ExchangeOutcome.BLOCKED,
                flagged=True,
                country=country_of(inp.client_ip),
            )
            _record_exchange(inp, record, hits)
        raise Refused("blocked", str(blocked), 400) from None


def _prompt_checks(inp: PromptInput) -> None:
    """The prompt's checks before anything is read for it."""
    text = inp.text.strip() if isinstance(inp.text, str) else ""
    if not text:
        raise Refused("invalid_prompt", "The prompt is empty.", 400)
    if len(inp.text) > settings.CHAT_MAX_PROMPT_CHARS:
        raise Refused("invalid_prompt", f"The prompt is longer than {settings.CHAT_MAX_PROMPT_CHARS} characters.", 400)
    if inp.agent.company_id != inp.company.pk or (
        inp.conversation is not None
        and (inp.conversation.company_id != inp.company.pk or inp.conversation.user_id != inp.user.pk)
    ):
        raise Refused("not_found", "No such conversation or agent.", 404)


def _history_limit(inp: PromptInput) -> int:
    """The agent's Max Messages: as the conversation's read gave it (``prompt_conversation``: its agent is only a
    reference until ``prompt_agent_later`` reads it, in the same round trip as the history), else the agent's row."""
    limit = getattr(inp.conversation, "agent_max_messages", None)
    return inp.agent.max_messages if limit is None else limit


def _with_agent(inp: PromptInput, agent: Agent | None) -> PromptInput:
    """The input with its agent as read now, access checked (``prompt_agent_later``): the answer, its usage and its
    audit use that row, not the caller's."""
    if agent is None:
        raise Refused("forbidden", "This agent is no longer available to you (inactive, deleted or not granted).", 403)
    agent.company = inp.company  # the same company (checked before): no query for it later
    if inp.conversation is not None:
        inp.conversation.agent = agent
    return replace(inp, agent=agent)


def _prepare_reads(
    inp: PromptInput, handle: AnswerHandle, settings_map: dict, history: list[ChatTurn] | None
) -> Prepared:
    """Everything else the engine request needs, read (not written: see ``_write_prompt``) in autocommit mode;
    ``history`` is the conversation's, None for a one-off exchange (the caller's turns)."""
    agent = inp.agent
    if (retry_after := rate_limit_hit(inp.user.pk)) is not None:
        raise Refused(
            "rate_limit_exceeded",
            f"Too many prompts: at most {settings.CHAT_RATE_PER_USER} per user.",
            429,
            retry_after,
        )
    scan = _scan_input(inp, settings_map)
    if history is None:
        history = list(inp.history or [])[-agent.max_messages :]
    # Earlier turns are stored as the user saw them (originals): the engine gets them with the placeholders too.
    history = [replace(turn, text=redact_for_engine(scan.settings_map, turn.text, scan.context)) for turn in history]
    # What prompt_agent_later's row says is absent is not read: no files, no passage queries; no credential, no query.
    if agent.pending_files:
        agent_documents_index(agent=agent, actor=Actor(user=inp.user, client=inp.client, ip=inp.client_ip))
    passages: list[Passage] = []
    if agent.pending_files or agent.agent_documents or agent.conversation_files:
        passages = passages_for(
            company=inp.company,
            documents=context_documents(agent=agent, conversation=inp.conversation),
            query=inp.text,
            budget_chars=settings.CHAT_CONTEXT_BUDGET_CHARS,
            limit=settings.CHAT_CONTEXT_PASSAGES,
        )
    credential = (
        provider_credential_for(company=inp.company, engine=agent.engine) if agent.credential_pk is not None else None
    )
    # The passages reach the engine in the instructions, so they get the placeholders too (the citations shown to
    # the user keep the originals).
    engine_passages = [replace(p, text=redact_for_engine(scan.settings_map, p.text, scan.context)) for p in passages]
    config = engine_config(agent, credential)
    input_price, output_price = prices_for(agent)
    now = timezone.now()
    map_changed = scan.map_changed or scan.context.redaction_map != _stored_redaction_map(inp.conversation)
    return Prepared(
        config=config,
        instructions=instructions_with(agent.instructions, engine_passages),
        history=tuple(history),
        citations=[passage.as_citation() for passage in passages],
        input_price=input_price,
        output_price=output_price,
        run_id=f"run_{uuid.uuid4().hex[:24]}",
        created_at=int(now.timestamp()),
        model=config.model or config.deployment,
        prompt=scan.prompt,
        settings_map=scan.settings_map,
        redaction_map=dict(scan.context.redaction_map or {}),
        created=now,
        prompt_results=scan.outcome.hits,
        map_changed=map_changed,
    )


def _needs_writes(inp: PromptInput, prepared: Prepared) -> bool:
    return inp.conversation is not None or bool(prepared.prompt_results)


@transaction.atomic
def _write_prompt(inp: PromptInput, handle: AnswerHandle, prepared: Prepared) -> tuple[int | None, list]:
    """The prompt's rows, in one transaction: the user message and the in-progress AI message (in a
    conversation), the conversation's activity time and placeholders, the prompt's scanner hits. Runs in a worker
    thread while the engine is already being asked (``_run``): the rows never delay the first token. Returns the
    AI message's primary key (None without a conversation) and the stored hits."""
    message_pk = None
    if inp.conversation is not None:
        common = {"company": inp.company, "conversation": inp.conversation, "created": prepared.created}
        _, answer_row = Message.objects.bulk_create(
            [
                Message(public_id=handle.user_message_id, message_type=MessageType.USER, text=inp.text, **common),
                Message(
                    public_id=handle.message_id,
                    message_type=MessageType.AI,
                    status=MessageStatus.IN_PROGRESS,
                    input_price_per_million=prepared.input_price,
                    output_price_per_million=prepared.output_price,
                    run_id=prepared.run_id,
                    **common,
                ),
            ],
            # Two single-row INSERTs: for several rows Django's PostgreSQL backend sends one INSERT ... UNNEST with a
            # Python-made array per column, which costs more CPU than two statements cost round trips (bench/chat.py).
            batch_size=1,
        )
        message_pk = answer_row.pk
        updates = {"last_updated": prepared.created}
        if prepared.map_changed:
            updates["redaction_map"] = json.dumps(prepared.redaction_map)
        Conversation.objects.filter(pk=inp.conversation.pk).update(**updates)
    hits = _record_hits(inp, prepared.prompt_results, direction="prompt", message_id=handle.user_message_id)
    return message_pk, hits


# --- storing (one sync call after the last delta) ----------------------------------------------------------------


@dataclass
class AnswerOutcome:
    text: str
    status: str  # a MessageStatus value
    finish_reason: str = ""
    provider_reason: str = ""
    incomplete_reason: str = ""
    usage: Usage | None = None
    error: EngineError | None = None
    blocked_reason: str = ""
    first_token_ms: float | None = None
    total_ms: float = 0.0
    scan_results: list[ScanResult] = field(default_factory=list)  # the output scanners' verdicts on the answer


def cost_of(usage: Usage, input_price: Decimal, output_price: Decimal) -> tuple[Decimal, Decimal]:
    input_cost = (Decimal(usage.input_tokens) * input_price / MILLION).quantize(CENT_FRACTION)
    output_cost = (Decimal(usage.output_tokens) * output_price / MILLION).quantize(CENT_FRACTION)
    return input_cost, output_cost


def conversation_totals_added(usage: Usage, input_cost: Decimal, output_cost: Decimal) -> dict[str, F]:
    """The conversation's running totals with one answer added, for ``update()``: increments in the database, so
    that answers stored at the same time add up instead of overwriting each other."""
    return {
        "prompt_tokens": F("prompt_tokens") + usage.input_tokens,
        "completion_tokens": F("completion_tokens") + usage.output_tokens,
        "total_tokens": F("total_tokens") + usage.input_tokens + usage.output_tokens,
        "prompt_cost": F("prompt_cost") + input_cost,
        "completion_cost": F("completion_cost") + output_cost,
        "total_cost": F("total_cost") + input_cost + output_cost,
    }


def estimated_usage(prepared: Prepared, prompt: str, answer: str) -> Usage:
    sent = prepared.instructions + "".join(turn.text for turn in prepared.history) + prompt
    return Usage(input_tokens=estimate_tokens(sent), output_tokens=estimate_tokens(answer), estimated=True)


@transaction.atomic
def _store(inp: PromptInput, handle: AnswerHandle, prepared: Prepared, outcome: AnswerOutcome) -> tuple[Decimal, str]:
    """Write the answer, its usage and cost, the conversation's totals, the usage row and (on failure) the audit
    event. Returns (cost, final status)."""
    answer_hits = _record_hits(
        inp, [r for r in outcome.scan_results if r.action != "allow"], direction="answer", message_id=handle.message_id
    )
    usage = outcome.usage or Usage(0, 0)
    input_cost, output_cost = cost_of(usage, prepared.input_price, prepared.output_price)
    cost = input_cost + output_cost
    error = outcome.error
    message_pk = None
    if inp.conversation is not None:
        answer = {
            "text": outcome.text,
            "status": outcome.status,
            "finish_reason": outcome.finish_reason,
            "provider_finish_reason": outcome.provider_reason[:80],
            "incomplete_reason": outcome.incomplete_reason,
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cached_tokens": usage.cached_tokens,
            "usage_estimated": usage.estimated,
            "input_cost": input_cost,
            "output_cost": output_cost,
            "cost": cost,
            "first_token_ms": outcome.first_token_ms,
            "total_ms": outcome.total_ms,
            "citations": prepared.citations,
        }
        if error is not None:
            answer.update(error_kind=error.kind, error_message=error.message)
        elif outcome.blocked_reason:
            answer.update(error_kind="blocked", error_message=outcome.blocked_reason)
        # One UPDATE of the row _prepare inserted (no read first).
        message_pk = prepared.message_pk or Message.objects.get(company=inp.company, public_id=handle.message_id).pk
        Message.objects.filter(company=inp.company, pk=message_pk).update(**answer)
        Conversation.objects.filter(pk=inp.conversation.pk).update(
            **conversation_totals_added(usage, input_cost, output_cost), last_updated=timezone.now()
        )
    if error is not None:
        exchange_outcome = ExchangeOutcome.FAILED
    elif outcome.blocked_reason:
        exchange_outcome = ExchangeOutcome.BLOCKED
    else:
        exchange_outcome = ExchangeOutcome(outcome.status)
    hits = [*prepared.prompt_hits, *answer_hits]
    record = UsageRecord.objects.create(
        company=inp.company,
        user=inp.user,
        agent=inp.agent,
        conversation=inp.conversation,
        message_id=message_pk,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cached_tokens=usage.cached_tokens,
        cost=cost,
        estimated=usage.estimated,
        channel=inp.channel,
        outcome=exchange_outcome,
        error_kind=error.kind if error is not None else "",
        flagged=bool(hits),
        country=country_of(inp.client_ip),
    )
    _record_exchange(inp, record, hits)
    if error is not None:
        audit_event_record(
            action="chat.answer_failed", **_failure_audit(inp, handle, error.kind, error.status, error.message)
        )
    elif outcome.blocked_reason:
        audit_event_record(
            action="chat.answer_blocked", **_failure_audit(inp, handle, "blocked", None, outcome.blocked_reason)
        )
    return cost, outcome.status


def _failure_audit(inp: PromptInput, handle: AnswerHandle, kind: str, status: int | None, reason: str) -> dict:
    return {
        "company": inp.company,
        "actor": Actor(user=inp.user, client=inp.client, ip=inp.client_ip),
        "outcome": Outcome.FAILURE,
        "user": inp.user,
        "target": inp.conversation or inp.agent,
        "detail": {
            "agent": inp.agent.name,
            "message": handle.message_id,
            "kind": kind,
            "status": status,
            "reason": reason[:500],
        },
    }


# --- the generation task ----------------------------------------------------------------------------------------


_executor: ThreadPoolExecutor | None = None


def _db_executor() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        # Sized for waiting on the database, not for CPU: the loop's default pool has only cores + 4 threads, and
        # answers starting together would queue behind each other's queries (stay below DB_POOL_MAX_SIZE).
        _executor = ThreadPoolExecutor(max_workers=settings.CHAT_DB_THREADS, thread_name_prefix="chat-db")
    return _executor


async def in_worker(function: Callable[..., T], *args: Any) -> T:
    """Run one unit of database work in a worker thread (answers do not queue behind the request threads or each
    other) and give its connection back at once, as a request's end would (CONN_MAX_AGE=0 with the pool)."""

    def call() -> T:
        try:
            return function(*args)
        finally:
            connections.close_all()

    return await asyncio.get_running_loop().run_in_executor(_db_executor(), call)


class _BuildFailed(Exception):
    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _built_and_prepared(
    inp: PromptInput | Callable[[], PromptInput], handle: AnswerHandle, started: float
) -> tuple[PromptInput, Prepared, float]:
    auth_ms = 0.0
    if not isinstance(inp, PromptInput):
        try:
            inp = inp()
        except Exception as error:
            raise _BuildFailed(error) from error
        auth_ms = _ms(started)
        if inp.conversation is None:
            handle.user_message_id = None  # a one-off exchange stores no user message
    handle.owner = (inp.company.pk, inp.user.pk)
    inp, prepared = _prepare(inp, handle)
    return inp, prepared, auth_ms


def _timed(function: Callable[..., T], *args: Any) -> tuple[T, float]:
    started = time.perf_counter()
    return function(*args), _ms(started)


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000.0, 2)


async def _run(inp: PromptInput, handle: AnswerHandle) -> None:
    put = handle.put
    started = time.perf_counter()
    try:
        inp, prepared, auth_ms = await in_worker(_built_and_prepared, inp, handle, started)
    except _BuildFailed as failed:
        put(Failed(handle.message_id, "invalid_prompt", str(failed.cause), None, None, int(time.time()), failed.cause))
        return
    except Refused as refusal:
        put(
            Failed(
                handle.message_id, refusal.code, refusal.message, refusal.status, refusal.retry_after, int(time.time())
            )
        )
        return
    except Exception:
        logger.exception("preparing a chat answer failed")
        put(Failed(handle.message_id, "server_error", "The answer could not be started.", 500, None, int(time.time())))
        return
    prepare_ms = round(_ms(started) - auth_ms, 2)
    # The prompt's rows are written while the engine is asked (begin_writes, called by _generate once the request
    # is on its way): the first token waits for neither.
    written: asyncio.Future | None = None

    def begin_writes() -> None:
        nonlocal written
        if written is not None or not _needs_writes(inp, prepared):
            return
        written = asyncio.ensure_future(in_worker(_timed, _write_prompt, inp, handle, prepared))
        # Rows that cannot be written mean an answer that cannot be stored: the engine is stopped at once.
        written.add_done_callback(
            lambda done: done.cancelled() or done.exception() is None or _stop_local(handle.message_id)
        )

    put(
        Started(
            user_message_id=handle.user_message_id,
            message_id=handle.message_id,
            run_id=prepared.run_id,
            conversation_id=inp.conversation.public_id if inp.conversation is not None else None,
            agent_id=inp.agent.public_id,
            model=prepared.model,
            created_at=prepared.created_at,
            instructions=inp.agent.instructions,
            temperature=prepared.config.temperature,
            prepare_ms=prepare_ms,
            auth_ms=auth_ms,
        )
    )
    outcome = await _generate(inp, handle, prepared, begin_writes)
    begin_writes()  # the engine was never asked (stopped first): the prompt is stored all the same
    write_ms = 0.0
    if written is not None:
        try:
            (message_pk, prompt_hits), write_ms = await written
        except Exception:
            logger.exception("storing a chat prompt failed")
            put(
                Failed(
                    handle.message_id, "server_error", "The answer could not be stored.", None, None, int(time.time())
                )
            )
            return
        prepared = replace(prepared, message_pk=message_pk, prompt_hits=prompt_hits)
    store_started = time.perf_counter()
    try:
        cost, status = await in_worker(_store, inp, handle, prepared, outcome)
    except Exception:
        logger.exception("storing a chat answer failed")
        put(Failed(handle.message_id, "server_error", "The answer could not be stored.", None, None, int(time.time())))
        return
    timings = {
        "prepare": prepare_ms,
        "write": write_ms,
        "first_token": outcome.first_token_ms or 0.0,
        "engine": outcome.total_ms,
        "store": _ms(store_started),
        "total": _ms(started),
    }
    usage = outcome.usage or Usage(0, 0)
    if status == MessageStatus.FAILED:
        error = outcome.error
        code = ERROR_CODES.get(error.kind, "server_error") if error is not None else "blocked"
        text = _failure_text(error) if error is not None else outcome.blocked_reason
        put(Failed(handle.message_id, code, text, None, None, int(time.time())))
        return
    put(
        Finished(
            message_id=handle.message_id,
            text=outcome.text,
            status=status,
            incomplete_reason=outcome.incomplete_reason,
            usage=usage,
            cost=cost,
            citations=prepared.citations,
            finish_reason=outcome.finish_reason,
            timings=timings,
            completed_at=int(time.time()),
        )
    )


def _failure_text(error: EngineError) -> str:
    status = f" (HTTP {error.status})" if error.status else ""
    return f"The agent's engine answered with an error{status}: {error.message}"


_cancel_poller: tuple[asyncio.AbstractEventLoop, asyncio.Task] | None = None


def _watch_cancel(message_id: str) -> asyncio.Event:
    """The event that stops answer ``message_id``: set at once by a Stop in this process, and within
    ``CHAT_CANCEL_POLL_SECONDS`` by a Stop in another (the cache flag, read by one poller per process)."""
    global _cancel_poller
    event = _LOCAL_CANCEL.setdefault(message_id, asyncio.Event())
    loop = asyncio.get_running_loop()
    if _cancel_poller is None or _cancel_poller[0] is not loop or _cancel_poller[1].done():
        # A fresh context, as for the answers: the poller outlives the request that started it.
        task = loop.create_task(_poll_cancel_flags(), name="chat-cancel-poller", context=contextvars.Context())
        _cancel_poller = (loop, task)
    return event


def _stop_local(message_id: str) -> None:
    """Stop the answer if it is still generating in this process (as a Stop does)."""
    if (event := _LOCAL_CANCEL.get(message_id)) is not None:
        event.set()


def _stop_cancel_poller_when_idle() -> None:
    global _cancel_poller
    if not _LOCAL_CANCEL and _cancel_poller is not None:
        _cancel_poller[1].cancel()  # the last answer of this process ended: nothing left to watch
        _cancel_poller = None  # the next answer starts a new one (this one may not be done yet)


async def _poll_cancel_flags() -> None:
    """Every answer in progress in this process, one cache round trip per interval (not one per answer): a
    thousand streams cost what one does. Runs while answers are in progress."""
    while _LOCAL_CANCEL:
        await asyncio.sleep(settings.CHAT_CANCEL_POLL_SECONDS)
        waiting = {cancel_key(message_id): event for message_id, event in _LOCAL_CANCEL.items() if not event.is_set()}
        if not waiting:
            continue
        try:
            flags = await _off_loop(cache.get_many, list(waiting))
        except Exception:  # the cache is down: a Stop from another process waits; this process's Stop still works
            logger.warning("reading the chat's cancel flags failed", exc_info=True)
            continue
        for key in flags:
            waiting[key].set()


async def _off_loop(function: Callable[..., T], *args: Any) -> T:
    """CPU-bound scanning in a worker thread: a long sentence must not stall the other streams on the loop. The
    loop's default pool (cores + 4 threads) suits CPU work; the database pool stays free for the stores."""
    return await asyncio.get_running_loop().run_in_executor(None, function, *args)


async def _generate(
    inp: PromptInput, handle: AnswerHandle, prepared: Prepared, begin_writes: Callable[[], None]
) -> AnswerOutcome:
    put = handle.put
    started = time.perf_counter()
    local = _watch_cancel(handle.message_id)
    # Runs at the loop's next turn, once the engine request below has gone out and awaits the response.
    asyncio.get_running_loop().call_soon(begin_writes)
    # What the user was shown (originals restored); the engine's own text stays inside the guard.
    shown: list[str] = []
    guard = AnswerGuard(prepared.settings_map, redaction_map=prepared.redaction_map)
    blocked: list[ScanResult] | None = None
    first_token_ms: float | None = None
    finish: Finish | None = None
    asked = False  # whether the engine was asked at all (answers_drain may stop an answer before that)
    outcome: AnswerOutcome

    def show(text: str) -> None:
        if text:
            shown.append(text)
            put(Delta(text))

    try:
        async with asyncio.timeout(settings.CHAT_ANSWER_MAX_SECONDS):
            events = stream_answer(
                prepared.config,
                instructions=prepared.instructions,
                history=prepared.history,
                prompt=prepared.prompt or inp.text,
            )
            async with aclosing(events) as stream:
                try:
                    while handle.stop_reason is None:
                        asked = handle.waiting_engine = True
                        try:
                            event = await anext(stream)
                        except StopAsyncIteration:
                            break
                        finally:
                            handle.waiting_engine = False
                        if isinstance(event, TextDelta):
                            if first_token_ms is None:
                                first_token_ms = _ms(started)
                            if guard.scans_on(event.text):
                                step = await _off_loop(guard.feed, event.text)
                            else:
                                step = guard.feed(event.text)  # a buffer append: no scanning on the loop
                            show(step.release)
                            if step.blocked:
                                blocked = step.blocked
                                break  # the answer is cut here: aclosing stops the provider generating
                            if local.is_set():
                                break  # aclosing closes the upstream response: the provider stops generating
                        else:
                            finish = event
                except asyncio.CancelledError:
                    # answers_drain interrupted the wait for the engine (the server is shutting down): the answer
                    # is stored as stopped below, not lost. Any other cancellation goes on as one.
                    if handle.stop_reason is None:
                        raise
                    asyncio.current_task().uncancel()
        last, verdict = guard.finish() if guard.passthrough else await _off_loop(guard.finish)
        blocked = blocked or last.blocked
        if not blocked:
            show(last.release)
        text = "".join(shown)
        if blocked:
            reason = PipelineResult(False, "", 1.0, blocked).block_reason()
            usage = finish.usage if finish is not None else estimated_usage(prepared, prepared.prompt, guard.text)
            outcome = AnswerOutcome(text, MessageStatus.FAILED, "blocked", "", "", usage, blocked_reason=reason)
        elif finish is None:  # stopped: by the user ("cancelled") or by the server's shutdown (answers_drain)
            reason = handle.stop_reason or "cancelled"
            # An answer stopped before the engine was asked cost nothing.
            usage = estimated_usage(prepared, inp.text, text) if asked else Usage(0, 0)
            outcome = AnswerOutcome(text, MessageStatus.INCOMPLETE, reason, "", reason, usage)
        else:
            incomplete = finish.reason in ("length", "content_filter")
            reason = {"length": "max_tokens", "content_filter": "content_filter"}.get(finish.reason, "")
            outcome = AnswerOutcome(
                text,
                MessageStatus.INCOMPLETE if incomplete else MessageStatus.COMPLETED,
                finish.reason,
                finish.provider_reason,
                reason,
                finish.usage,
            )
        outcome.scan_results = verdict.results
    except EngineError as error:
        text = "".join(shown)
        # What the provider generated before the error is billed (estimated); a refused request costs nothing.
        usage = estimated_usage(prepared, inp.text, text) if text else Usage(0, 0)
        outcome = AnswerOutcome(text, MessageStatus.FAILED, "", "", "", usage, error)
    except TimeoutError:
        text = "".join(shown)
        error = EngineError("timeout", f"The answer took longer than {settings.CHAT_ANSWER_MAX_SECONDS} s.")
        outcome = AnswerOutcome(
            text, MessageStatus.FAILED, "", "", "", estimated_usage(prepared, inp.text, text), error
        )
    finally:
        _LOCAL_CANCEL.pop(handle.message_id, None)
        _stop_cancel_poller_when_idle()
    outcome.first_token_ms = first_token_ms
    outcome.total_ms = _ms(started)
    return outcome
