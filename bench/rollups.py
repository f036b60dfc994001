"""Benchmark of counting one chat exchange in the dashboards' rollups (not a test): what the dashboards' receiver of
``exchange_recorded`` (apps.dashboards.rollups.exchange_add) costs per exchange, in the worker thread that sends the
answer's final stream event, and what the monitoring receiver costs when the company has no alert rule.

What it does, per database (PostgreSQL and SQLite by default, each in its own process):
 1. uses its own database (--database-url, PostgreSQL bench_rollups, created when missing; --sqlite-url, a file
    under var/) and migrates it;
 2. creates (once) the company "rollups-bench" with --users users and 3 agents; removes its earlier usage records,
    scanner hits and rollup rows;
 3. stores --exchanges usage records as the chat pipeline does (4 exchanges per conversation, spread over 7 days,
    two channels, a few countries, a mix of outcomes) and, for the "with hits" run, 2 scanner hits per exchange
    (a prompt-injection block and a PII flag);
 4. calls exchange_add(record, hits) once per record, in record order, outside any transaction (as on_commit
    does), after --warmup untimed calls: prints the median and p99 wall time per exchange (ms), the CPU time per
    exchange (time.process_time, this process only: Python, the driver, SQLite itself) and the queries per
    exchange, without hits and with hits;
 5. times the monitoring receiver (evaluation.evaluate_exchange) for the same records with no alert rule: its
    cache read (--cache-url, local memory by default; e.g. redis://127.0.0.1:6379/11) and queries per exchange.

    python bench/rollups.py                                  # both databases, 2,000 exchanges each
    python bench/rollups.py --backend sqlite --exchanges 500
    python bench/rollups.py --cache-url redis://127.0.0.1:6379/11

In process, one exchange at a time: the figure is the server's work for one exchange, without concurrency.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from common import ensure_database

ROOT = Path(__file__).resolve().parent.parent
COMPANY_SLUG = "rollups-bench"
PER_CONVERSATION = 4


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["both", "postgres", "sqlite"], default="both")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_rollups")
    parser.add_argument("--sqlite-url", default=f"sqlite:///{ROOT / 'var' / 'bench_rollups.sqlite3'}")
    parser.add_argument("--cache-url", default="locmemcache://bench-rollups")
    parser.add_argument("--exchanges", type=int, default=2000, help="Timed exchanges per run.")
    parser.add_argument("--warmup", type=int, default=200, help="Untimed exchanges first (the same kind of records).")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args()


def setup(database_url: str, cache_url: str) -> None:
    if database_url.startswith("postgres"):
        ensure_database(database_url)
    else:
        (ROOT / "var").mkdir(exist_ok=True)
    os.environ.update(
        DATABASE_URL=database_url,
        CACHE_URL=cache_url,
        DJANGO_SETTINGS_MODULE="airisk.settings",
        DEBUG="false",
        SECRET_KEY="bench-rollups-secret-key-not-for-production-0123456789abcdef",
        FIELD_ENCRYPTION_KEYS="YmVuY2gtcm9sbHVwcy1rZXktMzItYnl0ZXMtb2shISE=",
        SECURE_SSL_REDIRECT="false",
        LOG_LEVEL="WARNING",
        DB_POOL="false",
        CONN_MAX_AGE="600",
        ALLOWED_HOSTS="testserver,127.0.0.1,localhost",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def company_with_people(users: int):
    from django.core.management import call_command

    from apps.accounts.models import ApplicationUser
    from apps.agents.models import Agent
    from apps.companies.models import Company

    company = Company.objects.filter(slug=COMPANY_SLUG).first()
    if company is None:
        call_command("create_company", "--name", "Rollups bench", "--slug", COMPANY_SLUG)
        company = Company.objects.get(slug=COMPANY_SLUG)
        for name in ("Assistant", "Coder", "Analyst"):
            call_command(
                "create_agent", "--company", COMPANY_SLUG, "--name", name, "--engine", "openai", "--model",
                "gpt-4o-mini", "--api-key", "sk-bench-not-a-real-key",
            )  # fmt: skip
    for index in range(ApplicationUser.objects.filter(company=company).count(), users):
        call_command("create_user", "--company", COMPANY_SLUG, "--email", f"u{index}@rollups-bench.example")
    people = list(ApplicationUser.objects.filter(company=company).order_by("pk")[:users])
    return company, people, list(Agent.objects.for_company(company).order_by("pk"))


def fresh_exchanges(company, people, agents, count: int, *, with_hits: bool, rng: random.Random):
    """Delete the company's facts and rollups, then store ``count`` exchanges (and their hits): [(record, hits)]."""
    from apps.chat.models import Conversation, ExchangeOutcome, UsageRecord
    from apps.dashboards.rollups import HIT_LEVELS, USAGE_LEVELS
    from apps.scanners.models import ScanHit

    for model, _ in (*USAGE_LEVELS, *HIT_LEVELS):
        model.objects.filter(company=company).delete()
    UsageRecord.objects.filter(company=company).delete()
    ScanHit.objects.filter(company=company).delete()
    Conversation.objects.filter(company=company).delete()
    start = datetime.now(UTC) - timedelta(days=7)
    conversations = Conversation.objects.bulk_create(
        Conversation(company=company, user=rng.choice(people), agent=rng.choice(agents))
        for _ in range(-(-count // PER_CONVERSATION))
    )
    outcomes = [ExchangeOutcome.COMPLETED] * 17 + [ExchangeOutcome.FAILED, ExchangeOutcome.INCOMPLETE]
    records = []
    for index in range(count):
        conversation = conversations[index // PER_CONVERSATION]
        outcome = ExchangeOutcome.BLOCKED if with_hits and index % 10 == 0 else rng.choice(outcomes)
        records.append(
            UsageRecord(
                company=company,
                user_id=conversation.user_id,
                agent_id=conversation.agent_id,
                conversation=conversation,
                input_tokens=rng.randint(50, 4000),
                output_tokens=rng.randint(0, 1500),
                cost=Decimal(rng.randint(1, 500_000)) / Decimal(100_000_000),
                channel=rng.choice(["web", "api"]),
                outcome=outcome,
                flagged=with_hits,
                country=rng.choice(["US", "FR", "DE", ""]),
                created=start + timedelta(seconds=index * 7 * 86400 // count),
            )
        )
    records = UsageRecord.objects.bulk_create(records)
    by_record: list[list] = [[] for _ in records]
    if with_hits:
        hits = []
        for record in records:
            for scanner, action in (("prompt_injection", "block"), ("pii", "flag")):
                hit = ScanHit(company=company, scanner=scanner, direction="prompt", source="chat", action=action)
                hit.score, hit.threshold, hit.agent_id = 0.9, 0.5, record.agent_id
                hit.conversation_public_id = record.conversation.public_id
                hits.append(hit)
        for index, hit in enumerate(ScanHit.objects.bulk_create(hits)):
            hit.created = records[index // 2].created
            by_record[index // 2].append(hit)
    for record in records:
        record.company = company  # as the pipeline's record: its company is the request's, no query for it
    return list(zip(records, by_record, strict=True))


def timed(function, exchanges, warmup: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # The queries are counted on the untimed calls: the debug cursor that counts them costs CPU too.
    with CaptureQueriesContext(connection) as queries:
        for record, hits in exchanges[:warmup]:
            function(record, hits)
    walls = []
    cpu_started = time.process_time()
    for record, hits in exchanges[warmup:]:
        started = time.perf_counter()
        function(record, hits)
        walls.append(time.perf_counter() - started)
    cpu = time.process_time() - cpu_started
    walls.sort()
    return {
        "median_ms": statistics.median(walls) * 1000,
        "p99_ms": walls[min(len(walls) - 1, int(len(walls) * 0.99))] * 1000,
        "cpu_us": cpu / len(walls) * 1_000_000,
        "queries": len(queries) / max(1, warmup),
    }


def run(args: argparse.Namespace, database_url: str) -> None:
    setup(database_url, args.cache_url)
    from django.db import connection

    from apps.dashboards.rollups import exchange_add
    from apps.monitoring import evaluation

    company, people, agents = company_with_people(args.users)
    rng = random.Random(args.seed)
    vendor = connection.vendor
    version = sqlite3.sqlite_version if vendor == "sqlite" else connection.pg_version
    print(f"{vendor} {version}: {args.exchanges} timed exchanges after {args.warmup} untimed ones")
    print(f"  {'':28} {'median ms':>10} {'p99 ms':>8} {'CPU µs/exchange':>16} {'queries':>8}")
    for with_hits in (False, True):
        exchanges = fresh_exchanges(company, people, agents, args.warmup + args.exchanges, with_hits=with_hits, rng=rng)
        label = "exchange_add, 2 hits" if with_hits else "exchange_add, no hits"
        figures = timed(exchange_add, exchanges, args.warmup)
        print(
            f"  {label:28} {figures['median_ms']:>10.3f} {figures['p99_ms']:>8.3f} {figures['cpu_us']:>16.0f}"
            f" {figures['queries']:>8.1f}"
        )
    evaluation.event_rules(company.pk)  # the rules' cache, as in a running server
    figures = timed(evaluation.evaluate_exchange, exchanges, args.warmup)
    print(
        f"  {'monitoring, no rules':28} {figures['median_ms']:>10.3f} {figures['p99_ms']:>8.3f}"
        f" {figures['cpu_us']:>16.0f} {figures['queries']:>8.1f}"
    )


def main() -> None:
    args = parse_args()
    if args.backend == "both":
        for backend in ("postgres", "sqlite"):
            command = [sys.executable, __file__, *sys.argv[1:], "--backend", backend]
            subprocess.run(command, check=True)
        return
    run(args, args.database_url if args.backend == "postgres" else args.sqlite_url)


if __name__ == "__main__":
    main()
