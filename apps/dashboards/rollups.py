"""The daily rollups: what one exchange or one scanner hit adds, applied one at a time (the signal receivers) or
in bulk (seed_activity, rebuild_rollups). One function says what an exchange counts for, so all three agree.

Each fact is counted at several levels of detail (LEVELS): the full key (day, agent, user, channel, country), from
which any element can be computed, and coarser keys with far fewer rows for the common elements
(apps/dashboards/data.py picks the smallest level that has the columns an element needs).

Days are in the company's time zone, so that "today" on a dashboard is the company's today.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import F

from apps.chat.models import Conversation, ExchangeOutcome, UsageRecord
from apps.companies.models import Company
from apps.dashboards.models import (
    DailyAgentScanHits,
    DailyAgentUsage,
    DailyScanHits,
    DailyUsage,
    DailyUserUsage,
)
from apps.scanners.models import ScanHit

USAGE_COUNTERS = (
    "exchanges",
    "messages",
    "conversations",
    "input_tokens",
    "output_tokens",
    "cost",
    "flagged",
    "blocked",
    "failed",
    "incomplete",
)
HIT_COUNTERS = ("hits", "blocked")
USAGE_KEY_FIELDS = ("day", "agent_id", "user_id", "channel", "country")
HIT_KEY_FIELDS = ("day", "agent_id", "user_id", "channel", "scanner")
# (model, its key fields), the full level first.
USAGE_LEVELS = (
    (DailyUsage, USAGE_KEY_FIELDS),
    (DailyUserUsage, ("day", "user_id")),
    (DailyAgentUsage, ("day", "agent_id", "channel")),
)
HIT_LEVELS = (
    (DailyScanHits, HIT_KEY_FIELDS),
    (DailyAgentScanHits, ("day", "agent_id", "scanner")),
)


def company_zone(company: Company) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(company.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def local_day(moment: datetime, zone: zoneinfo.ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def usage_key(record: UsageRecord, zone: zoneinfo.ZoneInfo) -> tuple:
    return (local_day(record.created, zone), record.agent_id, record.user_id, record.channel, record.country)


def usage_counts(record: UsageRecord, *, first_in_conversation: bool) -> dict:
    """What one exchange adds. Messages: the prompt and the answer are stored together (2); a prompt a scanner
    blocked is not stored (0)."""
    return {
        "exchanges": 1,
        "messages": 2 if record.message_id else 0,
        "conversations": 1 if first_in_conversation else 0,
        "input_tokens": record.input_tokens,
        "output_tokens": record.output_tokens,
        "cost": record.cost or Decimal(0),
        "flagged": 1 if record.flagged else 0,
        "blocked": 1 if record.outcome == ExchangeOutcome.BLOCKED else 0,
        "failed": 1 if record.outcome == ExchangeOutcome.FAILED else 0,
        "incomplete": 1 if record.outcome == ExchangeOutcome.INCOMPLETE else 0,
    }


def hit_key(hit: ScanHit, *, day: date, user_id: int | None, channel: str) -> tuple:
    return (day, hit.agent_id, user_id, channel, hit.scanner)


def hit_counts(hit: ScanHit) -> dict:
    return {"hits": 1, "blocked": 1 if hit.action == "block" else 0}


def non_chat_channel(source: str) -> str:
    """Hits outside a chat exchange keep no user; the Scanner API's count as channel "api", file uploads as none."""
    return "api" if source == ScanHit.Source.API else ""


def _project(full_fields: tuple, key: tuple, fields: tuple) -> tuple:
    values = dict(zip(full_fields, key, strict=True))
    return tuple(values[name] for name in fields)


def _increment(model, company: Company, key_fields: tuple, key: tuple, counts: dict) -> None:
    """Upsert one rollup row: add ``counts`` to it, creating it when missing (a concurrent creator wins once,
    then the increment is applied to its row)."""
    lookup = {"company": company, **dict(zip(key_fields, key, strict=True))}
    changes = {name: F(name) + value for name, value in counts.items() if value}
    if not changes:
        first = next(iter(counts))
        changes = {first: F(first)}
    if model.objects.filter(**lookup).update(**changes):
        return
    try:
        with transaction.atomic():
            model.objects.create(**lookup, **counts)
    except IntegrityError:
        model.objects.filter(**lookup).update(**changes)


def _increment_levels(levels, company: Company, key: tuple, counts: dict) -> None:
    full_fields = levels[0][1]
    for model, fields in levels:
        _increment(model, company, fields, _project(full_fields, key, fields), counts)


def exchange_add(record: UsageRecord, hits: Iterable[ScanHit]) -> None:
    """Count one exchange (and its scanner hits) in the rollups: a few indexed statements."""
    company = record.company
    zone = company_zone(company)
    first = record.conversation_id is not None and not (
        UsageRecord.objects.filter(conversation_id=record.conversation_id, pk__lt=record.pk).exists()
    )
    with transaction.atomic():
        _increment_levels(
            USAGE_LEVELS, company, usage_key(record, zone), usage_counts(record, first_in_conversation=first)
        )
        day = local_day(record.created, zone)
        for key, counts in _hit_groups(hits, day=day, user_id=record.user_id, channel=record.channel).items():
            _increment_levels(HIT_LEVELS, company, key, counts)


def hits_add(company: Company, hits: Iterable[ScanHit], *, source: str) -> None:
    """Count scanner hits that are not part of a chat exchange (the Scanner API, file uploads): by agent and
    scanner kind, without a user (a ScanHit keeps none, and a rebuild must find the same numbers)."""
    user_id, channel = None, non_chat_channel(source)
    zone = company_zone(company)
    with transaction.atomic():
        by_day: dict[date, list[ScanHit]] = defaultdict(list)
        for hit in hits:
            by_day[local_day(hit.created, zone)].append(hit)
        for day, day_hits in by_day.items():
            for key, counts in _hit_groups(day_hits, day=day, user_id=user_id, channel=channel).items():
                _increment_levels(HIT_LEVELS, company, key, counts)


def _hit_groups(hits: Iterable[ScanHit], *, day: date, user_id: int | None, channel: str) -> dict[tuple, dict]:
    groups: dict[tuple, dict] = {}
    for hit in hits:
        key = hit_key(hit, day=day, user_id=user_id, channel=channel)
        counts = groups.setdefault(key, dict.fromkeys(HIT_COUNTERS, 0))
        for name, value in hit_counts(hit).items():
            counts[name] += value
    return groups


class RollupAccumulator:
    """Sums exchanges and hits in memory, then writes them in bulk at every level (adding to the rows there)."""

    def __init__(self, company: Company) -> None:
        self.company = company
        self.zone = company_zone(company)
        self.usage: dict[tuple, dict] = {}
        self.hits: dict[tuple, dict] = {}

    def add(self, record: UsageRecord, hits: Iterable[ScanHit], *, first_in_conversation: bool) -> None:
        key = usage_key(record, self.zone)
        counts = self.usage.setdefault(key, dict.fromkeys(USAGE_COUNTERS, 0))
        for name, value in usage_counts(record, first_in_conversation=first_in_conversation).items():
            counts[name] += value
        self.add_hits(hits, day=key[0], user_id=record.user_id, channel=record.channel)

    def add_hits(self, hits: Iterable[ScanHit], *, day: date, user_id: int | None, channel: str) -> None:
        for key, group in _hit_groups(hits, day=day, user_id=user_id, channel=channel).items():
            counts = self.hits.setdefault(key, dict.fromkeys(HIT_COUNTERS, 0))
            for name, value in group.items():
                counts[name] += value

    @transaction.atomic
    def save(self) -> tuple[int, int]:
        """Write the sums; returns the number of full-level rows written (usage, hits)."""
        written = []
        for levels, counters, sums in (
            (USAGE_LEVELS, USAGE_COUNTERS, self.usage),
            (HIT_LEVELS, HIT_COUNTERS, self.hits),
        ):
            full_fields = levels[0][1]
            for index, (model, fields) in enumerate(levels):
                projected: dict[tuple, dict] = {}
                for key, counts in sums.items():
                    target = projected.setdefault(_project(full_fields, key, fields), dict.fromkeys(counters, 0))
                    for name, value in counts.items():
                        target[name] += value
                rows = self._save(model, fields, counters, projected)
                if index == 0:
                    written.append(rows)
        self.usage, self.hits = {}, {}
        return written[0], written[1]

    def _save(self, model, key_fields: tuple, counters: tuple, sums: dict[tuple, dict]) -> int:
        if not sums:
            return 0
        days = [key[0] for key in sums]
        existing = {
            tuple(getattr(row, name) for name in key_fields): row
            for row in model.objects.filter(company=self.company, day__gte=min(days), day__lte=max(days))
        }
        changed, created = [], []
        for key, counts in sums.items():
            row = existing.get(key)
            if row is None:
                created.append(model(company=self.company, **dict(zip(key_fields, key, strict=True)), **counts))
            else:
                for name, value in counts.items():
                    setattr(row, name, getattr(row, name) + value)
                changed.append(row)
        # In day order, as the receivers write them day after day: a period's rows stay close together on disk.
        created.sort(key=lambda row: tuple(str(getattr(row, name)) for name in key_fields))
        model.objects.bulk_create(created, batch_size=2000)
        if changed:
            model.objects.bulk_update(changed, list(counters), batch_size=1000)
        return len(created) + len(changed)


@transaction.atomic
def rollups_rebuild(company: Company) -> tuple[int, int]:
    """Recompute the company's rollups from its UsageRecords and ScanHits. Returns the rows written."""
    for model, _ in (*USAGE_LEVELS, *HIT_LEVELS):
        model.objects.filter(company=company).delete()
    accumulator = RollupAccumulator(company)
    seen_conversations: set[int] = set()
    # Who and which channel a chat hit belongs to: its conversation's first exchange says (hits keep only ids).
    conversation_owner: dict[int, tuple[int | None, str]] = {}
    records = (
        UsageRecord.objects.for_company(company)
        .only(
            "pk",
            "created",
            "agent_id",
            "user_id",
            "channel",
            "country",
            "conversation_id",
            "message_id",
            "input_tokens",
            "output_tokens",
            "cost",
            "flagged",
            "outcome",
        )
        .order_by("pk")
    )
    for record in records.iterator(chunk_size=5000):
        first = record.conversation_id is not None and record.conversation_id not in seen_conversations
        if record.conversation_id is not None:
            seen_conversations.add(record.conversation_id)
            conversation_owner.setdefault(record.conversation_id, (record.user_id, record.channel))
        accumulator.add(record, [], first_in_conversation=first)
    public_ids = dict(
        Conversation.objects.for_company(company).values_list("public_id", "pk").iterator(chunk_size=5000)
    )
    for hit in (
        ScanHit.objects.for_company(company)
        .only("pk", "created", "agent_id", "scanner", "action", "source", "conversation_public_id")
        .order_by("pk")
        .iterator(chunk_size=5000)
    ):
        if hit.source == ScanHit.Source.CHAT:
            user_id, channel = conversation_owner.get(public_ids.get(hit.conversation_public_id), (None, ""))
        else:
            user_id, channel = None, non_chat_channel(hit.source)
        accumulator.add_hits([hit], day=local_day(hit.created, accumulator.zone), user_id=user_id, channel=channel)
    written = accumulator.save()
    rollups_analyze()
    return written


def rollups_analyze() -> None:
    """After a bulk write on PostgreSQL: fresh planner statistics, so that a period's query uses the day index."""
    if connection.vendor == "postgresql":
        tables = ", ".join(model._meta.db_table for model, _ in (*USAGE_LEVELS, *HIT_LEVELS))
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {tables}")
