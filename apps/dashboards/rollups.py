"""The daily rollups: what one exchange or one scanner hit adds, applied one at a time (the signal receivers) or
in bulk (seed_activity, rebuild_rollups). One function says what an exchange counts for, so all three agree.

Each fact is counted at several levels of detail (LEVELS): the full key (day, agent, user, channel, country), from
which any element can be computed, and coarser keys with far fewer rows for the common elements
(apps/dashboards/data.py picks the smallest level that has the columns an element needs).

Days are in the company's time zone, so that "today" on a dashboard is the company's today.
"""

from __future__ import annotations

import hashlib
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import DateField, DecimalField, UniqueConstraint

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


class _Upsert:
    """Adding counts to one rollup table's rows, as SQL built once per process and shape (number of rows).

    ``INSERT ... ON CONFLICT (the table's unique key) DO UPDATE SET counter = row.counter + EXCLUDED.counter``
    (PostgreSQL, and SQLite since 3.24): one statement whether the row exists or not, and a concurrent creator of
    the same row makes it an update instead of an error. The ORM cannot say this (``bulk_create``'s
    ``update_conflicts`` replaces the counters instead of adding to them), and building the equivalent
    ``filter().update(F() + n)`` cost far more CPU than the database spent running it (apps/core/statements.py
    keeps ORM-built SQL for the same reason).

    A key with a NULL (a ScanHit without agent, the hits of the Scanner API without user, a deleted user's rows)
    never conflicts in a unique constraint, so those rows keep the former update-else-insert on ``IS NULL``: one
    row per key, as before. On PostgreSQL that step first takes an advisory lock on the key, held until the
    transaction ends (``_key_lock``): two writers of a new row no longer both find none and both insert one (after
    which every later count went to both). A constraint with NULLs not distinct would make deleting a user fail
    whenever two deleted users' rows of a day become the same key (``on_delete=SET_NULL``).
    """

    def __init__(self, model, key_fields: tuple, counters: tuple, full_fields: tuple) -> None:
        opts = model._meta
        self.model = model
        self.key_fields = key_fields
        # Where each key field sits in the full level's key (the projection of a full key onto this level).
        self.positions = tuple(full_fields.index(name) for name in key_fields)
        self.table = _quote(opts.db_table)
        key_columns = ("company_id", *(opts.get_field(name).column for name in key_fields))
        [unique] = [c for c in opts.constraints if isinstance(c, UniqueConstraint)]
        if {opts.get_field(name).column for name in unique.fields} != set(key_columns) or unique.condition:
            raise ImproperlyConfigured(f"{model.__name__}'s unique constraint is not its rollup key {key_fields}")
        self.key_columns = key_columns
        self.counter_columns = tuple(opts.get_field(name).column for name in counters)
        self.columns = (*key_columns, *self.counter_columns)
        # The values the driver cannot take as they are (dates on SQLite): (position in a row, model field).
        self.prepared = tuple(
            (index, opts.get_field(name))
            for index, name in enumerate(("company", *key_fields, *counters))
            if isinstance(opts.get_field(name), DateField | DecimalField)
        )
        self._inserts: dict[tuple[int, bool], str] = {}
        self._fallbacks: dict[tuple[bool, ...], tuple[str, str]] = {}

    def row(self, company_pk: int, key: tuple, counts) -> list:
        values = [company_pk, *key, *counts]
        for index, field in self.prepared:
            values[index] = field.get_db_prep_save(values[index], connection)
        return values

    def insert_sql(self, rows: int, fold_first: bool) -> str:
        """The upsert of ``rows`` rows; ``fold_first``: its "conversations" value is the first-exchange test."""
        sql = self._inserts.get((rows, fold_first))
        if sql is None:
            slots = ["%s"] * len(self.columns)
            if fold_first:
                slots[self.columns.index("conversations")] = _FIRST_IN_CONVERSATION
            one = f"({', '.join(slots)})"
            updates = ", ".join(f"{c} = {self.table}.{c} + EXCLUDED.{c}" for c in map(_quote, self.counter_columns))
            columns, keys = ", ".join(map(_quote, self.columns)), ", ".join(map(_quote, self.key_columns))
            values = ", ".join([one] * rows)
            insert = f"INSERT INTO {self.table} ({columns}) VALUES {values}"  # noqa: S608 - names and placeholders
            sql = self._inserts[(rows, fold_first)] = f"{insert} ON CONFLICT ({keys}) DO UPDATE SET {updates}"
        return sql

    def fallback_sql(self, key: tuple) -> tuple[str, str]:
        """For a key with NULLs: (the update of its row, the insert when there is none). Parameters: the counts
        then the key's non-NULL values; the row's values."""
        nulls = tuple(value is None for value in key)
        sql = self._fallbacks.get(nulls)
        if sql is None:
            where = " AND ".join(
                f"{_quote(column)} IS NULL" if null else f"{_quote(column)} = %s"
                for column, null in zip(self.key_columns, (False, *nulls), strict=True)
            )
            adds = ", ".join(f"{c} = {c} + %s" for c in map(_quote, self.counter_columns))
            values = ", ".join(["%s"] * len(self.columns))
            sql = self._fallbacks[nulls] = (
                f"UPDATE {self.table} SET {adds} WHERE {where}",  # noqa: S608 - names and placeholders only
                f"INSERT INTO {self.table} ({', '.join(map(_quote, self.columns))}) VALUES ({values})",  # noqa: S608
            )
        return sql


def _quote(name: str) -> str:
    return f'"{name}"'  # PostgreSQL's and SQLite's quoting alike


# Whether the exchange is its conversation's first: no earlier usage record of the conversation (the parameters:
# the conversation's and the record's primary keys). Run in the upsert, it costs no round trip of its own.
_RECORDS, _CONVERSATION, _PK = map(
    _quote,
    (UsageRecord._meta.db_table, UsageRecord._meta.get_field("conversation").column, UsageRecord._meta.pk.column),
)
_FIRST_IN_CONVERSATION = (
    f"(SELECT CASE WHEN EXISTS (SELECT 1 FROM {_RECORDS} WHERE {_CONVERSATION} = %s AND {_PK} < %s)"  # noqa: S608
    " THEN 0 ELSE 1 END)"
)
_USAGE_UPSERTS = tuple(_Upsert(model, fields, USAGE_COUNTERS, USAGE_KEY_FIELDS) for model, fields in USAGE_LEVELS)
_HIT_UPSERTS = tuple(_Upsert(model, fields, HIT_COUNTERS, HIT_KEY_FIELDS) for model, fields in HIT_LEVELS)
# PostgreSQL: the upserts of one call joined in one statement (data-modifying WITH), by their shapes.
_JOINED: dict[tuple[str, ...], str] = {}


def _level_rows(upserts: tuple[_Upsert, ...], groups: dict[tuple, tuple]) -> list[tuple[_Upsert, dict]]:
    """Each level's rows: the full keys projected onto its key, their counts summed (one row per key, as an
    upsert may not touch a row twice)."""
    levels = []
    for upsert in upserts:
        rows: dict[tuple, list] = {}
        for key, counts in groups.items():
            projected = tuple(key[i] for i in upsert.positions)
            row = rows.get(projected)
            if row is None:
                rows[projected] = list(counts)
            else:
                for index, value in enumerate(counts):
                    row[index] += value
        levels.append((upsert, rows))
    return levels


def _write(company_pk: int, levels: list[tuple[_Upsert, dict]], first: tuple[int, int] | None = None) -> None:
    """Add the rows to their tables: on PostgreSQL one statement for all levels, on SQLite one per level (no round
    trip there); a key with a NULL takes the update-else-insert, and then every level is its own statement.
    ``first``: (conversation, record) primary keys when "conversations" is the first-exchange test (usage levels).

    Rows are locked in one order by every writer, so that concurrent exchanges never deadlock: the levels in
    their order (as the former code did, in one transaction), and within a level the keys sorted."""
    steps: list[tuple] = []  # ("upsert", sql, params) or ("fallback", upsert, key, values, fold), in level order
    for upsert, rows in levels:
        fold = first is not None and "conversations" in upsert.counter_columns
        upserted: list = []
        count = 0
        for key in sorted(k for k in rows if None not in k):
            values = upsert.row(company_pk, key, rows[key])
            if fold:
                slot = upsert.columns.index("conversations")
                values[slot : slot + 1] = first
            upserted += values
            count += 1
        if count:
            steps.append(("upsert", upsert.insert_sql(count, fold), upserted))
        nulls = sorted((k for k in rows if None in k), key=_null_key_order)
        steps += [("fallback", upsert, k, upsert.row(company_pk, k, rows[k]), fold) for k in nulls]
    if len(steps) > 1 and connection.vendor == "postgresql" and all(step[0] == "upsert" for step in steps):
        steps = [("upsert", _joined(tuple(sql for _, sql, _ in steps)), [v for *_, values in steps for v in values])]
    if len(steps) == 1 and steps[0][0] == "upsert":
        with connection.cursor() as cursor:  # one statement: atomic by itself, no transaction round trips
            cursor.execute(steps[0][1], steps[0][2])
        return
    with transaction.atomic(), connection.cursor() as cursor:
        first_value = None
        for step in steps:
            if step[0] == "upsert":
                cursor.execute(step[1], step[2])
                continue
            _, upsert, key, values, fold = step
            if connection.vendor == "postgresql":
                # No unique constraint matches a NULL: two writers could both find no row and both insert one.
                # The key's lock, held until the transaction ends, makes the second wait and then find the row.
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_key_lock(upsert, company_pk, key)])
            if fold:
                if first_value is None:
                    cursor.execute(f"SELECT {_FIRST_IN_CONVERSATION}", list(first))
                    first_value = cursor.fetchone()[0]
                values[upsert.columns.index("conversations")] = first_value
            update, insert = upsert.fallback_sql(key)
            width = len(upsert.key_columns)
            cursor.execute(update, [*values[width:], *(value for value in values[:width] if value is not None)])
            if cursor.rowcount == 0:
                cursor.execute(insert, values)


def _null_key_order(key: tuple) -> tuple:
    """Keys with NULLs in one order for every writer (their locks are taken in it): None after any value."""
    return tuple((1, "") if value is None else (0, value) for value in key)


def _key_lock(upsert: _Upsert, company_pk: int, key: tuple) -> int:
    """A 64-bit PostgreSQL advisory lock id for one row key of one rollup table, the same in every process."""
    text = repr((upsert.table, company_pk, *(str(value) if value is not None else None for value in key)))
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big", signed=True)


def _joined(statements: tuple[str, ...]) -> str:
    """PostgreSQL: the upserts as one statement, data-modifying WITH queries run one after the other in their
    order. (Unreferenced, PostgreSQL would run them after the main query, in an order it does not promise; each
    scalar subquery of the final SELECT runs its WITH query when it is evaluated, left to right.)"""
    sql = _JOINED.get(statements)
    if sql is None:
        ctes = ", ".join(f"level_{i} AS ({upsert} RETURNING 1)" for i, upsert in enumerate(statements))
        counts = ", ".join(f"(SELECT count(*) FROM level_{i})" for i in range(len(statements)))  # noqa: S608
        sql = _JOINED[statements] = f"WITH {ctes} SELECT {counts}"
    return sql


def exchange_add(record: UsageRecord, hits: Iterable[ScanHit]) -> None:
    """Count one exchange (and its scanner hits) in the rollups: one statement on PostgreSQL, whatever the number
    of levels and hits; the first-exchange-of-its-conversation test runs inside it."""
    company = record.company
    zone = company_zone(company)
    key = usage_key(record, zone)
    counts = usage_counts(record, first_in_conversation=False)
    first = (record.conversation_id, record.pk) if record.conversation_id is not None else None
    levels = _level_rows(_USAGE_UPSERTS, {key: tuple(counts[name] for name in USAGE_COUNTERS)})
    groups = _hit_groups(hits, day=key[0], user_id=record.user_id, channel=record.channel)
    if groups:
        levels += _level_rows(_HIT_UPSERTS, {k: tuple(c[name] for name in HIT_COUNTERS) for k, c in groups.items()})
    _write(company.pk, levels, first)


def hits_add(company: Company, hits: Iterable[ScanHit], *, source: str) -> None:
    """Count scanner hits that are not part of a chat exchange (the Scanner API, file uploads): by agent and
    scanner kind, without a user (a ScanHit keeps none, and a rebuild must find the same numbers)."""
    user_id, channel = None, non_chat_channel(source)
    zone = company_zone(company)
    by_day: dict[date, list[ScanHit]] = defaultdict(list)
    for hit in hits:
        by_day[local_day(hit.created, zone)].append(hit)
    groups: dict[tuple, tuple] = {}
    for day, day_hits in by_day.items():
        for key, counts in _hit_groups(day_hits, day=day, user_id=user_id, channel=channel).items():
            groups[key] = tuple(counts[name] for name in HIT_COUNTERS)
    if groups:
        _write(company.pk, _level_rows(_HIT_UPSERTS, groups))


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
        for upserts, counters, sums in (
            (_USAGE_UPSERTS, USAGE_COUNTERS, self.usage),
            (_HIT_UPSERTS, HIT_COUNTERS, self.hits),
        ):
            groups = {key: tuple(counts[name] for name in counters) for key, counts in sums.items()}
            for index, (upsert, rows) in enumerate(_level_rows(upserts, groups)):
                projected = {key: dict(zip(counters, values, strict=True)) for key, values in rows.items()}
                saved = self._save(upsert.model, upsert.key_fields, counters, projected)
                if index == 0:
                    written.append(saved)
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
