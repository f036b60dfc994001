"""Benchmark of the oversight screens' data (not a test): dashboard elements on 1,000,000 messages.

What it does:
 1. creates (once) its own PostgreSQL database (--database-url, default .../bench_oversight) and migrates it;
 2. creates the company "oversight-bench" with three agents at list prices and seeds it with seed_activity until
    it holds --messages messages (about 6 per conversation, 60 users in 6 groups, 90 days); a company that
    already holds them is reused (--reseed deletes it first); prints the seeding time;
 3. makes a dashboard of a company admin with several configurations of each element kind (Top N, line and bar
    charts, doughnut, totals, map), with and without filters;
 4. requests each element's data endpoint (GET /dashboards/elements/<id>/data, the page's JSON) in process through
    Django's test client with a logged-in session: --warmup requests, then --requests timed ones each;
 5. prints p50 and p99 per element and per kind, against the target (150 ms at p99).

    python bench/oversight.py                       # seed if needed, then measure
    python bench/oversight.py --seed-only           # only the seeding
    python bench/oversight.py --requests 50         # a quicker measurement

In process, one request at a time: the figure is the server's work for one request (routing, session, query,
JSON), without the network or a web server's queueing.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

from common import ensure_database

ROOT = Path(__file__).resolve().parent.parent
COMPANY_SLUG = "oversight-bench"
ADMIN_EMAIL = "admin@oversight-bench.example"
TARGET_P99_MS = 150.0
MESSAGES_PER_CONVERSATION = 5.9  # what seed_activity writes on average (measured)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_oversight")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200, help="Timed requests per element.")
    parser.add_argument("--warmup", type=int, default=10, help="Untimed requests per element first.")
    parser.add_argument("--seed-only", action="store_true")
    parser.add_argument("--reseed", action="store_true", help="Delete the company and seed it again.")
    return parser.parse_args()


def development_key() -> str:
    """The encryption key DEBUG derives from the development SECRET_KEY (airisk/settings.py)."""
    sys.path.insert(0, str(ROOT))
    from apps.core.encryption import derived_key

    return derived_key("django-insecure-airisk-development-key-do-not-use-in-production")


def setup(database_url: str) -> None:
    ensure_database(database_url)
    os.environ.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="airisk.settings",
        DEBUG="false",
        SECRET_KEY="bench-oversight-secret-key-not-for-production-0123456789",
        # The development key too: `make run`-style commands (DEBUG) may have created the agents.
        FIELD_ENCRYPTION_KEYS="YmVuY2gtb3ZlcnNpZ2h0LWtleS0zMi1ieXRlcy1vayE=," + development_key(),
        SECURE_SSL_REDIRECT="false",
        LOG_LEVEL="WARNING",
        CONN_MAX_AGE="600",
        ALLOWED_HOSTS="testserver,127.0.0.1,localhost",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed(messages: int, reseed: bool):
    """The benchmark company, seeded once: returns (company, admin, seconds spent seeding now or None)."""
    from django.core.management import call_command

    from apps.accounts.models import ApplicationUser
    from apps.agents.models import Agent
    from apps.chat.models import Message
    from apps.companies.models import Company

    company = Company.objects.filter(slug=COMPANY_SLUG).first()
    if company is not None and reseed:
        from apps.dashboards.models import Dashboard

        Dashboard.objects.filter(company=company).delete()
        company.delete()
        company = None
    if company is None:
        call_command("create_company", "--name", "Oversight bench", "--slug", COMPANY_SLUG)
        company = Company.objects.get(slug=COMPANY_SLUG)
        for name, engine, model in (
            ("Assistant (GPT-4o mini)", "openai", "gpt-4o-mini"),
            ("Coder (GPT-4o)", "openai", "gpt-4o"),
            ("Analyst (Mistral)", "mistral", "mistral-large-latest"),
        ):
            call_command(
                "create_agent", "--company", COMPANY_SLUG, "--name", name, "--engine", engine, "--model", model,
                "--api-key", "sk-bench-not-a-real-key",
            )  # fmt: skip
    admin = ApplicationUser.objects.filter(email=ADMIN_EMAIL).first()
    if admin is None:
        call_command("create_user", "--company", COMPANY_SLUG, "--email", ADMIN_EMAIL, "--role", "admin")
        admin = ApplicationUser.objects.get(email=ADMIN_EMAIL)
    have = Message.objects.for_company(company).count()
    print(f"company {COMPANY_SLUG}: {have} messages, {Agent.objects.for_company(company).count()} agents")
    if have >= messages:
        return company, admin, None
    conversations = math.ceil((messages - have) / MESSAGES_PER_CONVERSATION)
    started = time.perf_counter()
    call_command(
        "seed_activity", "--company", COMPANY_SLUG, "--conversations", str(conversations), "--users", "60",
        "--batch-size", "5000",
    )  # fmt: skip
    seconds = time.perf_counter() - started
    have = Message.objects.for_company(company).count()
    print(f"seeded {have} messages in {seconds:.0f} s ({have / seconds:,.0f} messages/s)")
    return company, admin, seconds


def element_configurations(company) -> list[dict]:
    """Several configurations of each element kind (the fields of apps.dashboards.models.Element)."""
    from apps.accounts.models import Group
    from apps.agents.models import Agent

    agent = Agent.objects.for_company(company).order_by("pk").first()
    group = Group.objects.for_company(company).order_by("pk").first()
    return [
        {"kind": "top_n", "title": "Top users by tokens, 90 days", "subject": "users", "measure": "tokens",
         "limit": 10, "period": "last_90"},
        {"kind": "top_n", "title": "Top agents by cost, 30 days", "subject": "agents", "measure": "cost",
         "limit": 5, "period": "last_30"},
        {"kind": "top_n", "title": "Top groups by messages, 90 days", "subject": "groups", "measure": "messages",
         "limit": 5, "period": "last_90"},
        {"kind": "top_n", "title": "Top scanner kinds by hits, 90 days, web", "subject": "scanners",
         "measure": "hits", "limit": 8, "period": "last_90", "channel": "web"},
        {"kind": "chart", "title": "Exchanges by day by agent, 90 days", "chart_type": "line",
         "measure": "exchanges", "interval": "day", "split": "agent", "period": "last_90"},
        {"kind": "chart", "title": "Tokens by week by user, 90 days", "chart_type": "bar", "measure": "tokens",
         "interval": "week", "split": "user", "period": "last_90"},
        {"kind": "chart", "title": "Cost by month, 90 days, one group", "chart_type": "line", "measure": "cost",
         "interval": "month", "period": "last_90", "group": group},
        {"kind": "chart", "title": "Outcomes, 90 days", "chart_type": "doughnut", "category": "outcome",
         "period": "last_90"},
        {"kind": "chart", "title": "Exchanges by user, 30 days", "chart_type": "doughnut", "category": "user",
         "period": "last_30"},
        {"kind": "chart", "title": "Scanner kinds, 90 days, one agent", "chart_type": "doughnut",
         "category": "scanner", "period": "last_90", "agent": agent},
        {"kind": "totals", "title": "Totals, 90 days", "period": "last_90"},
        {"kind": "totals", "title": "Totals, last month, one group", "period": "last_month", "group": group},
        {"kind": "map", "title": "Prompts by country, 90 days", "map_measure": "prompts", "period": "last_90"},
        {"kind": "map", "title": "Blocked prompts by country, 30 days, API", "map_measure": "blocked",
         "period": "last_30", "channel": "api"},
    ]  # fmt: skip


def measure_elements(company, admin, *, requests: int, warmup: int) -> list[tuple[str, str, float, float]]:
    from django.test import Client

    from apps.audit.services import Actor
    from apps.dashboards.models import Dashboard
    from apps.dashboards.services import dashboard_create, element_create

    Dashboard.objects.filter(company=company, owner=admin, name="Benchmark").delete()
    actor = Actor(user=admin)
    dashboard = dashboard_create(company=company, actor=actor, owner=admin, name="Benchmark")
    client = Client()
    client.force_login(admin)
    results = []
    for config in element_configurations(company):
        element = element_create(company=company, actor=actor, dashboard=dashboard, **config)
        url = f"/dashboards/elements/{element.public_id}/data"
        for _ in range(warmup):
            assert client.get(url).status_code == 200
        timings = []
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.content[:200]
        timings.sort()
        p50 = statistics.median(timings)
        p99 = timings[min(len(timings) - 1, math.ceil(len(timings) * 0.99) - 1)]
        results.append((config["kind"], config["title"], p50, p99))
        print(f"  {config['kind']:7} {config['title']:48} p50 {p50:6.1f} ms  p99 {p99:6.1f} ms")
    return results


def measure_compliance(company, admin) -> None:
    """HOOK for the compliance helper (bench/compliance.py measures the same company): the p50/p99 of a compliance
    text search over these 1,000,000 messages (target 300 ms at p99) and the peak memory of a 100,000-row export
    go here, so that one run reports every oversight figure. Nothing is measured here yet."""


def main() -> None:
    args = parse_args()
    setup(args.database_url)
    company, admin, seconds = seed(args.messages, args.reseed)
    if args.seed_only:
        return
    from apps.chat.models import Message

    print(f"measuring on {Message.objects.for_company(company).count()} messages ({args.requests} requests each)")
    results = measure_elements(company, admin, requests=args.requests, warmup=args.warmup)
    measure_compliance(company, admin)
    print("\nper kind (worst configuration):")
    for kind in ("top_n", "chart", "totals", "map"):
        rows = [r for r in results if r[0] == kind]
        worst = max(rows, key=lambda r: r[3])
        verdict = "OK" if worst[3] < TARGET_P99_MS else "OVER TARGET"
        print(f"  {kind:7} p50 {max(r[2] for r in rows):6.1f} ms  p99 {worst[3]:6.1f} ms  ({verdict})")
    if seconds is not None:
        print(f"seeding took {seconds:.0f} s")


if __name__ == "__main__":
    main()
