"""Synthetic activity for demos and benchmarks (``manage.py seed_activity``).

Fills a company with conversations over the last D days as the chat pipeline would have stored them: user and AI
messages, one UsageRecord per exchange (tokens, cost at the agent's prices, outcome, flagged, caller country,
channel), ScanHits for flagged and blocked exchanges, feedback on some answers. The rhythm is a working week: busy
weekdays, quiet weekends, office hours, a slow growth towards today.

Deterministic: the same ``seed`` on the same starting state (users, agents, conversations already there) gives the
same people, texts, tokens, outcomes and day offsets (public ids are random: they must be unique across runs).
It only adds: a second run adds another N conversations (its random stream is salted with the number of
conversations the company already has, so it does not repeat the first run's texts).

Fast: objects are built in memory and written with bulk_create, one transaction per batch of conversations;
the rollups (apps.dashboards) are brought up to date once, at the end, in bulk. Written directly, bypassing the
pipeline's services on purpose: no audit events (nobody did anything) and no signals (the rollups are added in
bulk instead).
"""

from __future__ import annotations

import json
import math
import random
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection, models, transaction
from django.utils import timezone

from apps.accounts.models import ApplicationUser, Group
from apps.accounts.services import group_add_member, group_create, user_create
from apps.agents.models import Agent
from apps.audit.services import Actor
from apps.chat.models import (
    Conversation,
    ExchangeOutcome,
    Feedback,
    Message,
    MessageStatus,
    MessageType,
    UsageRecord,
)
from apps.chat.pipeline import prices_for
from apps.companies.models import Company
from apps.dashboards.rollups import RollupAccumulator, rollups_analyze
from apps.demo import corpus
from apps.scanners.models import ScanHit

MILLION = Decimal(1_000_000)
COST_QUANTUM = Decimal("0.00000001")
# Shares of exchanges (not blocked by a prompt scanner) that end otherwise than completed.
FAILED_SHARE = 0.02
INCOMPLETE_SHARE = 0.03


@dataclass
class Person:
    user: ApplicationUser
    topics: list[str]
    country: str
    weight: float
    web_share: float


@dataclass
class SeedResult:
    conversations: int = 0
    messages: int = 0
    exchanges: int = 0
    hits: int = 0
    users_created: int = 0
    groups_created: int = 0
    seconds: float = 0.0
    batches: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "conversations": self.conversations,
            "messages": self.messages,
            "exchanges": self.exchanges,
            "scan_hits": self.hits,
            "users_created": self.users_created,
            "groups_created": self.groups_created,
            "outcomes": dict(sorted(self.outcomes.items())),
            "seconds": round(self.seconds, 2),
        }


def _fill(template: str, rng: random.Random) -> str:
    values = {name: rng.choice(options) for name, options in corpus.SLOTS.items()}
    return template.format(**values)


def _people(company: Company, *, wanted: int, rng: random.Random, actor: Actor, result: SeedResult) -> list[Person]:
    """The company's users (plus synthetic ones up to ``wanted``), each with a department, a home country and a
    weight (a few people use the agents far more than others, as in real life)."""
    users = list(ApplicationUser.objects.for_company(company).filter(is_active=True).order_by("created", "pk"))
    groups = {g.name: g for g in Group.objects.for_company(company)}
    departments = list(corpus.DEPARTMENTS)
    if len(users) < wanted:
        for name in departments[: max(3, min(len(departments), wanted // 4))]:
            if name not in groups:
                groups[name] = group_create(company=company, name=name, actor=actor)
                result.groups_created += 1
        taken = {u.email.lower() for u in ApplicationUser.objects.filter(email__iendswith=f"@{company.slug}.example")}
        index = 0
        while len(users) < wanted:
            first = corpus.FIRST_NAMES[index % len(corpus.FIRST_NAMES)]
            last = corpus.LAST_NAMES[(index * 7) % len(corpus.LAST_NAMES)]
            suffix = "" if index < len(corpus.FIRST_NAMES) else str(index)
            email = f"{first.lower().replace('é', 'e')}.{last.lower()}{suffix}@{company.slug}.example"
            index += 1
            if email in taken:
                continue
            user = user_create(company=company, email=email, name=f"{first} {last}", roles=["user"], actor=actor)
            result.users_created += 1
            department = departments[len(users) % len(departments)]
            if department in groups:
                group_add_member(group=groups[department], user=user, actor=actor)
            users.append(user)
    membership = {}
    for group in groups.values():
        for member_id in group.members.values_list("pk", flat=True):
            membership.setdefault(member_id, group.name)
    codes, weights = zip(*corpus.COUNTRIES, strict=True)
    people = []
    for rank, user in enumerate(users):
        department = membership.get(user.pk)
        topics = corpus.DEPARTMENTS.get(department) or list(corpus.TOPICS)
        people.append(
            Person(
                user=user,
                topics=topics,
                country=rng.choices(codes, weights)[0],
                # Zipf-like: the first people are the heavy users.
                weight=1.0 / (1 + rank) ** 0.8 + rng.random() * 0.05,
                web_share=rng.choice([0.9, 0.8, 0.7, 0.3]),
            )
        )
    return people


def _day_weights(days: int, rng: random.Random, today: datetime) -> list[float]:
    """A weight per day (0 = today - days + 1 ... days - 1 = today): weekdays busy, weekends quiet, slow growth."""
    weights = []
    for offset in range(days):
        day = today - timedelta(days=days - 1 - offset)
        weekday = day.weekday()
        base = 1.0 if weekday < 5 else 0.18
        if weekday == 0:
            base = 1.1
        growth = 0.7 + 0.3 * offset / max(1, days - 1)
        weights.append(base * growth * (0.85 + rng.random() * 0.3))
    return weights


HOUR_WEIGHTS = [0.2, 0.1, 0.1, 0.1, 0.2, 0.4, 0.8, 1.5, 3, 4.5, 5, 4.6, 3, 3.8, 4.6, 4.4, 3.8, 2.8, 1.6, 1, 0.8, 0.6,
                0.5, 0.3]  # fmt: skip


@contextmanager
def _explicit_hit_times():
    """ScanHit.created is auto_now_add: let the seeder write the times of the past exchanges it invents."""
    created = ScanHit._meta.get_field("created")
    saved = created.auto_now_add
    created.auto_now_add = False
    try:
        yield
    finally:
        created.auto_now_add = saved


class ActivityWriter:
    """Builds one batch of conversations in memory, then writes it with bulk_create."""

    def __init__(self, company: Company, people: list[Person], agents: list[Agent], rng: random.Random, days: int):
        self.company = company
        self.people = people
        self.person_weights = [p.weight for p in people]
        self.agents = agents
        self.agent_weights = [1.0 / (1 + i) ** 0.6 for i in range(len(agents))]
        self.prices = {agent.pk: prices_for(agent) for agent in agents}
        self.rng = rng
        self.now = timezone.now()
        midnight = self.now.replace(hour=0, minute=0, second=0, microsecond=0)
        self.first_day = midnight - timedelta(days=days - 1)
        self.day_weights = _day_weights(days, rng, midnight)
        self.cum_days = list(_cumulative(self.day_weights))
        self.cum_hours = list(_cumulative(HOUR_WEIGHTS))

    # -- one conversation ------------------------------------------------------------------------------------

    def _start_time(self) -> datetime:
        rng = self.rng
        offset = _pick_cumulative(self.cum_days, rng)
        hour = _pick_cumulative(self.cum_hours, rng)
        start = self.first_day + timedelta(days=offset, hours=hour, seconds=rng.randrange(3600))
        return min(start, self.now - timedelta(minutes=rng.randrange(5, 120)))

    def _prompt(self, person: Person) -> tuple[str, str, list[dict]]:
        """(topic, text, planned prompt hits) for one prompt."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.012:
            return "injection", rng.choice(corpus.INJECTIONS), [_hit("prompt_injection", "block", rng, 0.8)]
        if roll < 0.016:
            return "toxic", rng.choice(corpus.TOXIC_PROMPTS), [_hit("toxicity", rng.choice(["flag", "block"]), rng)]
        topic = rng.choice(person.topics)
        text = _fill(rng.choice(corpus.TOPICS[topic]["prompts"]), rng)
        hits = []
        if roll < 0.055:
            kind, suffix = rng.choice(corpus.PII_SUFFIXES)
            first, last = person.user.name.split(" ", 1) if " " in person.user.name else ("jane", "doe")
            addition = suffix.format(first=first.lower(), last=last.lower(), digits=rng.randrange(100, 999))
            start = len(text) + addition.index(" ", 2) + 1
            text += addition
            hit = _hit("pii", rng.choice(["redact", "redact", "flag"]), rng, 0.5)
            hit["findings"] = [{"type": kind, "start": start, "end": len(text) - 1, "score": round(hit["score"], 4)}]
            hit["details"] = {"direction": "prompt", "counts": {kind: 1}}
            hits.append(hit)
        elif topic == "legal" and roll < 0.09:
            hits.append(_hit("topic", "flag", rng, 0.6, details={"topics": ["legal advice"]}))
        elif roll < 0.062:
            hits.append(_hit("regex", "flag", rng, 0.5, details={"patterns": ["internal project name"]}))
        return topic, text, hits

    def conversation(self, out: Batch) -> None:
        rng = self.rng
        person = rng.choices(self.people, self.person_weights)[0]
        agent = rng.choices(self.agents, self.agent_weights)[0]
        input_price, output_price = self.prices[agent.pk]
        channel = "web" if rng.random() < person.web_share else "api"
        country = person.country
        if rng.random() < 0.05:
            country = rng.choice(corpus.TRAVEL_COUNTRIES)
        turns = min(12, 1 + int(rng.expovariate(1 / 2.6)))
        when = self._start_time()
        conversation = Conversation(
            company=self.company,
            user=person.user,
            agent=agent,
            created=when,
            last_updated=when,
            ip_address=None,
        )
        out.conversations.append(conversation)
        history_tokens = 0
        for turn in range(turns):
            if turn and when >= self.now - timedelta(minutes=1):
                break  # the conversation would run into the future
            topic, text, prompt_hits = self._prompt(person)
            if turn == 0:
                conversation.title = text[:80]
            if country in corpus.GEO_BLOCKED and rng.random() < 0.7:
                prompt_hits.append(_hit("geo", "block", rng, 0.5, details={"status": "country", "country": country}))
            blocked = any(h["action"] == "block" for h in prompt_hits)
            record = UsageRecord(
                company=self.company,
                user=person.user,
                agent=agent,
                channel=channel,
                country=country,
                flagged=bool(prompt_hits),
                created=when,
            )
            exchange = Exchange(conversation=conversation, record=record, hits=prompt_hits, first=turn == 0)
            out.exchanges.append(exchange)
            if blocked:
                record.outcome = ExchangeOutcome.BLOCKED
                conversation.has_flag = True
                when += timedelta(seconds=rng.randrange(20, 300))
                continue
            user_message = Message(
                company=self.company,
                conversation=conversation,
                message_type=MessageType.USER,
                text=text,
                created=when,
            )
            input_tokens = 60 + len(text) // 4 + int(history_tokens * 0.8)
            roll = rng.random()
            ai = Message(
                company=self.company,
                conversation=conversation,
                message_type=MessageType.AI,
                created=when,
                input_price_per_million=input_price,
                output_price_per_million=output_price,
                run_id=f"run_{rng.getrandbits(96):024x}",
                first_token_ms=round(rng.uniform(250, 1400), 1),
            )
            if roll < FAILED_SHARE:
                ai.status, ai.error_kind = MessageStatus.FAILED, rng.choice(corpus.FAILURE_KINDS)
                ai.error_message = {
                    "rate_limit": "Rate limit reached for requests",
                    "timeout": "The engine did not answer in time.",
                    "server_error": "The server had an error while processing your request.",
                    "auth": "Incorrect API key provided",
                }[ai.error_kind]
                ai.first_token_ms, ai.total_ms = None, round(rng.uniform(300, 30000), 1)
                record.outcome, record.error_kind = ExchangeOutcome.FAILED, ai.error_kind
                input_tokens, output_tokens = 0, 0
            else:
                answer = _fill(rng.choice(corpus.TOPICS[topic]["answers"]), rng) if topic in corpus.TOPICS else ""
                answer = answer or "I can't help with that request, but I can help with your work questions."
                output_tokens = max(40, int(rng.gauss(1.0, 0.35) * (len(answer) // 3 + 180)))
                ai.text, ai.finish_reason = answer, "stop"
                if roll < FAILED_SHARE + INCOMPLETE_SHARE:
                    ai.status = MessageStatus.INCOMPLETE
                    ai.incomplete_reason = rng.choice(["max_tokens", "stopped"])
                    ai.finish_reason = "length" if ai.incomplete_reason == "max_tokens" else "stopped"
                    ai.text = answer[: max(20, len(answer) // 2)]
                    record.outcome = ExchangeOutcome.INCOMPLETE
                else:
                    record.outcome = ExchangeOutcome.COMPLETED
                ai.total_ms = round(ai.first_token_ms + output_tokens * rng.uniform(8, 25), 1)
                if rng.random() < 0.09:
                    ai.feedback = Feedback.LIKE if rng.random() < 0.75 else Feedback.DISLIKE
            input_cost = (Decimal(input_tokens) * input_price / MILLION).quantize(COST_QUANTUM)
            output_cost = (Decimal(output_tokens) * output_price / MILLION).quantize(COST_QUANTUM)
            ai.input_tokens, ai.output_tokens = input_tokens, output_tokens
            ai.input_cost, ai.output_cost, ai.cost = input_cost, output_cost, input_cost + output_cost
            record.input_tokens, record.output_tokens, record.cost = input_tokens, output_tokens, ai.cost
            if record.outcome != ExchangeOutcome.FAILED:
                history_tokens += len(text) // 4 + output_tokens
            conversation.prompt_tokens += input_tokens
            conversation.completion_tokens += output_tokens
            conversation.total_tokens += input_tokens + output_tokens
            conversation.prompt_cost += input_cost
            conversation.completion_cost += output_cost
            conversation.total_cost += ai.cost
            if record.outcome == ExchangeOutcome.COMPLETED and rng.random() < 0.012:
                answer_hit = _hit("pii", "flag", rng, 0.5, direction="answer")
                answer_hit["details"] = {"direction": "answer", "counts": {"PERSON": 1}}
                exchange.hits.append(answer_hit)
            record.flagged = bool(exchange.hits)
            conversation.has_flag = conversation.has_flag or record.flagged
            exchange.user_message, exchange.ai_message = user_message, ai
            ai.created = min(self.now, when + timedelta(milliseconds=ai.total_ms or 0))
            when = ai.created + timedelta(seconds=rng.randrange(30, 600))
        conversation.last_updated = min(when, self.now)


def _hit(
    scanner: str, action: str, rng: random.Random, threshold: float = 0.7, *, direction: str = "prompt", details=None
) -> dict:
    score = round(rng.uniform(threshold + 0.05, 1.0), 4) if threshold < 0.95 else 1.0
    return {
        "scanner": scanner,
        "action": action,
        "score": score,
        "threshold": threshold,
        "direction": direction,
        "findings": [],
        "details": details or {},
    }


def _cumulative(weights: list[float]):
    total = 0.0
    for weight in weights:
        total += weight
        yield total


def _pick_cumulative(cumulative: list[float], rng: random.Random) -> int:
    import bisect

    return min(len(cumulative) - 1, bisect.bisect_right(cumulative, rng.random() * cumulative[-1]))


def _insert(model, objs: list, *, need_ids: bool = False) -> None:
    """Insert ``objs``: PostgreSQL's COPY (ids taken from the table's sequence first when the caller needs them,
    several times faster than INSERT for a million rows), bulk_create elsewhere."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=2000)
        return
    table = model._meta.db_table
    fields = [f for f in model._meta.concrete_fields if need_ids or not f.primary_key]
    with connection.cursor() as cursor:
        if need_ids:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, len(objs)]
            )
            for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
                obj.pk = pk
                obj._state.adding = False
        json_fields = {f.attname for f in fields if isinstance(f, models.JSONField)}
        attnames = [f.attname for f in fields]
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        with cursor.copy(f"COPY {connection.ops.quote_name(table)} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row(
                    [json.dumps(getattr(obj, name)) if name in json_fields else getattr(obj, name) for name in attnames]
                )


def _analyze() -> None:
    """Fresh planner statistics for the tables just filled (PostgreSQL), so that the first queries plan well."""
    if connection.vendor != "postgresql":
        return
    tables = [model._meta.db_table for model in (Conversation, Message, UsageRecord, ScanHit)]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(tables))
    rollups_analyze()


@dataclass
class Exchange:
    conversation: Conversation
    record: UsageRecord
    hits: list[dict]
    first: bool = False
    user_message: Message | None = None
    ai_message: Message | None = None


@dataclass
class Batch:
    conversations: list[Conversation] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)

    @transaction.atomic
    def write(self, company: Company, rollups: RollupAccumulator) -> tuple[int, int]:
        """Insert the batch; returns (messages, hits) written."""
        for conversation in self.conversations:
            conversation.public_id = str(uuid.uuid4())
        _insert(Conversation, self.conversations, need_ids=True)
        messages = []
        for exchange in self.exchanges:
            if exchange.user_message is not None:
                exchange.user_message.conversation = exchange.conversation
                exchange.ai_message.conversation = exchange.conversation
                exchange.user_message.public_id = str(uuid.uuid4())
                exchange.ai_message.public_id = str(uuid.uuid4())
                messages += [exchange.user_message, exchange.ai_message]
        _insert(Message, messages, need_ids=True)
        records = []
        for exchange in self.exchanges:
            exchange.record.conversation = exchange.conversation
            exchange.record.message = exchange.ai_message
            records.append(exchange.record)
        _insert(UsageRecord, records)
        hits = []
        for exchange in self.exchanges:
            exchange_hits = []
            for planned in exchange.hits:
                if planned["direction"] == "answer":
                    message_id = exchange.ai_message.public_id
                else:
                    message_id = exchange.user_message.public_id if exchange.user_message is not None else ""
                exchange_hits.append(
                    ScanHit(
                        company=company,
                        agent_id=exchange.record.agent_id,
                        source=ScanHit.Source.CHAT,
                        message_public_id=message_id,
                        conversation_public_id=exchange.conversation.public_id,
                        created=exchange.record.created,
                        **planned,
                    )
                )
            hits += exchange_hits
            rollups.add(exchange.record, exchange_hits, first_in_conversation=exchange.first)
        with _explicit_hit_times():
            _insert(ScanHit, hits)
        return len(messages), len(hits)


def activity_seed(
    *,
    company: Company,
    conversations: int,
    days: int = 90,
    seed: int = 1,
    users: int = 24,
    batch_size: int = 1000,
    progress: Callable[[str], None] | None = None,
) -> SeedResult:
    """Add ``conversations`` synthetic conversations to ``company`` (see the module docstring)."""
    started = time.perf_counter()
    result = SeedResult()
    # Only what the prices need: never the provider keys (nor their decryption).
    agents = list(
        Agent.objects.for_company(company)
        .alive()
        .only("pk", "company_id", "name", "engine", "model", "input_price_per_million", "output_price_per_million")
        .order_by("created", "pk")
    )
    if not agents:
        raise ValueError(f"The company {company.slug!r} has no agent: create one first (manage.py create_agent).")
    existing = Conversation.objects.for_company(company).count()
    rng = random.Random(f"{seed}:{existing}")  # noqa: S311  (synthetic data, repeatable on purpose)
    actor = Actor.system()
    with transaction.atomic():
        people = _people(company, wanted=users, rng=rng, actor=actor, result=result)
    writer = ActivityWriter(company, people, agents, rng, days)
    rollups = RollupAccumulator(company)
    batches = math.ceil(conversations / batch_size) if conversations else 0
    for number in range(batches):
        batch = Batch()
        for _ in range(min(batch_size, conversations - number * batch_size)):
            writer.conversation(batch)
        messages, hits = batch.write(company, rollups)
        result.batches += 1
        result.conversations += len(batch.conversations)
        result.messages += messages
        result.hits += hits
        result.exchanges += len(batch.exchanges)
        for exchange in batch.exchanges:
            result.outcomes[exchange.record.outcome] = result.outcomes.get(exchange.record.outcome, 0) + 1
        if progress is not None:
            elapsed = time.perf_counter() - started
            progress(
                f"batch {number + 1}/{batches}: {result.conversations} conversations, {result.messages} messages, "
                f"{result.exchanges} exchanges, {result.hits} scanner hits ({elapsed:.1f} s)"
            )
    rollups.save()
    _analyze()
    result.seconds = time.perf_counter() - started
    return result
