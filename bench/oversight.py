"""Benchmark of the oversight screens' data (not a test): dashboard elements and compliance searches on 1,000,000
messages, and the compliance export's memory.

What it does:
 1. creates (once) its own PostgreSQL database (--database-url, default .../bench_oversight) and migrates it;
 2. creates the company "oversight-bench" with three agents at list prices and seeds it with seed_activity until
    it holds --messages messages (about 6 per conversation, 60 users in 6 groups, 90 days); a company that
    already holds them is reused (--reseed deletes it first); prints the seeding time;
 3. makes a dashboard of a company admin with several configurations of each element kind (Top N, line and bar
    charts, doughnut, totals, map), with and without filters;
 4. requests each element's data endpoint (GET /dashboards/elements/<id>/data, the page's JSON) in process through
    Django's test client with a logged-in session: --warmup requests, then --requests timed ones each;
 5. prints p50 and p99 per element and per kind, against the target (150 ms at p99);
 6. compliance (bench/_compliance_measure.py, shared with bench/compliance.py): text searches over words of
    seed_activity's texts (rare, common, two words, phrase, prefix, no match, with user / agent + last 30 days /
    scanner-hit filters, flagged only, best match first), each through the search page's results endpoint
    (GET /compliance/results/?..., what the page loads: form, selectors.search_page, audit record, rendered rows)
    in process with a compliance officer's session, --warmup then --search-runs timed requests: p50 / p99 against
    the target (300 ms at p99), with the exact number of matching messages;
 7. exports --export-rows rows (text "team", newest first) as CSV and as JSON Lines through the export's
    generators: peak Python allocations (tracemalloc), peak RSS growth, rows/s.

    python bench/oversight.py                       # seed if needed, then measure
    python bench/oversight.py --seed-only           # only the seeding
    python bench/oversight.py --requests 50         # a quicker measurement
    python bench/oversight.py --no-elements         # only the compliance part

In process, one request at a time: the figure is the server's work for one request (routing, session, query,
JSON or HTML), without the network or a web server's queueing.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

import _compliance_measure as measure
from common import ensure_database

ROOT = Path(__file__).resolve().parent.parent
COMPANY_SLUG = "oversight-bench"
ADMIN_EMAIL = "admin@oversight-bench.example"
COMPLIANCE_EMAIL = "compliance@oversight-bench.example"
TARGET_P99_MS = 150.0
MESSAGES_PER_CONVERSATION = 5.9  # what seed_activity writes on average (measured)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_oversight")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200, help="Timed requests per element.")
    parser.add_argument("--warmup", type=int, default=10, help="Untimed requests per element first.")
    parser.add_argument("--search-runs", type=int, default=100, help="Timed requests per compliance search.")
    parser.add_argument("--export-rows", type=int, default=100_000, help="Rows of the export measured.")
    parser.add_argument("--no-elements", action="store_true", help="Only the compliance part.")
    parser.add_argument("--no-compliance", action="store_true", help="Only the dashboard elements.")
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


def measure_compliance(company, admin, *, runs: int, warmup: int, export_rows: int) -> tuple[list, list]:
    """Compliance searches on the same company, through the search page's results endpoint (GET
    /compliance/results/?..., the htmx partial the page loads: form, selectors.search_page, the audit record, the
    rendered rows) in process with a compliance officer's session, like the elements; then the export of
    ``export_rows`` rows as CSV and JSON Lines (bench/_compliance_measure.py, shared with bench/compliance.py).
    The words are seed_activity's (apps/demo/corpus.py)."""
    from urllib.parse import urlencode

    from django.core.management import call_command
    from django.db.models import Count
    from django.test import Client
    from django.utils import timezone

    from apps.accounts.models import ApplicationUser
    from apps.agents.models import Agent
    from apps.compliance.selectors import Criteria

    officer = ApplicationUser.objects.filter(email=COMPLIANCE_EMAIL).first()
    if officer is None:
        call_command("create_user", "--company", COMPANY_SLUG, "--email", COMPLIANCE_EMAIL, "--role", "compliance")
        officer = ApplicationUser.objects.get(email=COMPLIANCE_EMAIL)
    # The synthetic user with the most conversations, and the busiest agent: the filters' realistic worst cases.
    user = (
        ApplicationUser.objects.filter(company=company, conversations__isnull=False)
        .annotate(n=Count("conversations"))
        .order_by("-n", "pk")
        .first()
    )
    agent = Agent.objects.for_company(company).order_by("pk").first()
    named = measure.scenarios(
        rare="idiot",  # a toxic prompt (~0.05% of messages)
        common="team",  # ~13% of messages
        common2="customer",  # ~13%
        prefix="secur*",  # security, secure: ~6%
        phrase="customer account",  # two common words, ~1.5% as a phrase
        user=user,
        agent=agent,
        hit_text="invoice",
        hit_kind="pii",
        today=timezone.localdate(),
    )
    client = Client()
    client.force_login(officer)

    def run(criteria: Criteria) -> None:
        query = urlencode(criteria.as_dict(), doseq=True)
        response = client.get(f"/compliance/results/?{query}", HTTP_HX_REQUEST="true")
        assert response.status_code == 200, response.content[:200]
        assert b'id="results-start"' not in response.content, "the search did not run"

    searches = measure.time_searches(
        company, named, runs=runs, warmup=warmup, run=run, label=" (GET /compliance/results/, first page of 25)"
    )
    exports = measure.measure_export(company, Criteria(text="team"), rows=export_rows)
    return searches, exports


def load_average() -> str:
    """The machine's load (other work shares its cores): the 1, 5 and 15 minute averages."""
    return " / ".join(f"{x:.1f}" for x in os.getloadavg()) + " (1, 5, 15 min)"


def main() -> None:
    args = parse_args()
    setup(args.database_url)
    company, admin, seconds = seed(args.messages, args.reseed)
    if args.seed_only:
        return
    from apps.chat.models import Message

    print(f"measuring on {Message.objects.for_company(company).count()} messages ({args.requests} requests each)")
    print(f"load average at the start: {load_average()}")
    results = [] if args.no_elements else measure_elements(company, admin, requests=args.requests, warmup=args.warmup)
    searches, exports = [], []
    if not args.no_compliance:
        print(f"load average: {load_average()}")
        searches, exports = measure_compliance(
            company, admin, runs=args.search_runs, warmup=args.warmup, export_rows=args.export_rows
        )
    if results:
        print("\nper kind (worst configuration):")
        for kind in ("top_n", "chart", "totals", "map"):
            rows = [r for r in results if r[0] == kind]
            worst = max(rows, key=lambda r: r[3])
            verdict = "OK" if worst[3] < TARGET_P99_MS else "OVER TARGET"
            print(f"  {kind:7} p50 {max(r[2] for r in rows):6.1f} ms  p99 {worst[3]:6.1f} ms  ({verdict})")
    if searches:
        worst = max(searches, key=lambda f: f.p99)
        verdict = "OK" if worst.p99 < measure.TARGET_P99_MS else "OVER TARGET"
        p50 = max(f.p50 for f in searches)
        print(f"  search  p50 {p50:6.1f} ms  p99 {worst.p99:6.1f} ms  ({verdict}: {worst.name})")
    for figure in exports:
        print(
            f"  export  {figure.fmt:5s} {figure.rows:,} rows: peak Python allocations {figure.traced_peak_mb:.1f} MB, "
            f"peak RSS growth {figure.rss_growth_mb:.1f} MB, {figure.rows_per_second:,.0f} rows/s"
        )
    print(f"load average at the end: {load_average()}")
    if seconds is not None:
        print(f"seeding took {seconds:.0f} s")


if __name__ == "__main__":
    main()
