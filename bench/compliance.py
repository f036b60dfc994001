"""Benchmark of apps/compliance on PostgreSQL (not a test): text search p50/p99 over 1,000,000 messages, and the
export's time and peak memory for 100,000 rows.

What it does:
 1. uses its own database (--database-url, default postgres://postgres@127.0.0.1:5432/bench_compliance, created
    when missing) and migrates it;
 2. seeds one company with --users people, 4 agents, --messages messages (half prompts, half answers, 10 per
    conversation) of varied English text: sentences from templates over a business vocabulary with Zipf-like
    word frequencies (some words in most messages, most words rare), a few card numbers and e-mail addresses,
    about 1% of prompts with a PII scanner hit, 2% of answers with feedback. Rows go in with COPY (psycopg), with
    the full-text and recency indexes dropped during the load and rebuilt after it, then ANALYZE. An existing
    seed of that size is reused (--reseed to start again);
 3. runs each search scenario (rare and common words, two words, a phrase, a prefix, no match, filters alone and
    with text, best match first) --runs times through ``selectors.search_page`` (first page of 25: the page, its
    snippets and hits, the capped count), after one warm-up run, and prints p50 / p99 / max in milliseconds;
 4. exports --export-rows rows (a user filter picked to match at least that many, cut by a date range) as CSV
    through ``export_rows`` + ``csv_stream``: once under tracemalloc (peak of Python allocations), once without
    (time, and the process's peak RSS growth, VmHWM after resetting it).

    python bench/compliance.py
    python bench/compliance.py --messages 200000 --runs 20
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import random
import statistics
import sys
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import ensure_database  # noqa: E402

COMPANY_SLUG = "bench-compliance"
PER_CONVERSATION = 10

COMMON = [
    "policy",
    "team",
    "project",
    "report",
    "budget",
    "customer",
    "data",
    "meeting",
    "review",
    "request",
    "approval",
    "contract",
    "invoice",
    "payment",
    "access",
    "account",
    "password",
    "training",
    "travel",
    "expense",
    "manager",
    "employee",
    "process",
    "system",
    "update",
    "document",
    "deadline",
    "client",
    "proposal",
    "quarter",
    "sales",
    "marketing",
    "product",
    "service",
    "support",
    "issue",
    "ticket",
    "release",
    "plan",
    "strategy",
    "risk",
    "security",
    "compliance",
    "audit",
    "legal",
    "office",
    "schedule",
    "summary",
    "analysis",
    "forecast",
    "revenue",
    "cost",
    "vendor",
    "supplier",
]
RARE = [
    "arbitration",
    "escrow",
    "subpoena",
    "whistleblower",
    "embargo",
    "indemnity",
    "sanctions",
    "bribery",
    "antitrust",
    "insider",
    "leak",
    "phishing",
    "ransomware",
    "malware",
    "exfiltration",
    "darknet",
    "kickback",
    "laundering",
    "counterfeit",
    "espionage",
    "sabotage",
    "tariff",
    "quarantine",
    "recall",
    "lawsuit",
    "grievance",
    "harassment",
    "discrimination",
    "overtime",
    "severance",
    "layoff",
    "merger",
    "acquisition",
    "divestiture",
    "patent",
    "trademark",
    "copyright",
    "licence",
    "royalty",
    "warranty",
    "liability",
    "negligence",
]
VERBS = [
    "summarize",
    "explain",
    "draft",
    "check",
    "review",
    "compare",
    "prepare",
    "translate",
    "list",
    "update",
    "approve",
    "send",
]
TEMPLATES = [
    "Can you {verb} the {a} {b} for the {c} team?",
    "Please {verb} our {a} and {b} before the {c} {d}.",
    "What does the {a} say about {b} and {c}?",
    "I need to {verb} a {a} {b} for {name} by Friday, including the {c}.",
    "Is the {a} {b} approved for the {c} {d} this quarter?",
    "Here is the {a} {b}: the {c} {d} must be reviewed by the {e} lead.",
    "The {a} for {b} was rejected because the {c} {d} was missing.",
    "According to the {a} {b}, {c} requests need a {d} from the {e} manager.",
]
NAMES = [
    "Alice",
    "Bruno",
    "Chen",
    "Dana",
    "Emeka",
    "Fatima",
    "Goran",
    "Hana",
    "Ivan",
    "Jia",
    "Kofi",
    "Lena",
    "Mateo",
    "Nora",
    "Omar",
    "Priya",
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_compliance")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=400)
    parser.add_argument("--runs", type=int, default=40, help="Runs per search scenario.")
    parser.add_argument("--no-export", action="store_true")
    parser.add_argument("--export-rows", type=int, default=100_000)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--rebuild-indexes", action="store_true", help="Drop and rebuild the search indexes first.")
    return parser.parse_args()


def setup_django(database_url: str) -> None:
    if not database_url.startswith("postgres"):
        sys.exit("bench/compliance.py measures PostgreSQL: give a postgres:// --database-url")
    ensure_database(database_url)
    os.environ.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="airisk.settings",
        DEBUG="false",
        SECRET_KEY="bench-compliance-secret-key-not-for-production-0123456789",
        FIELD_ENCRYPTION_KEYS="YmVuY2gtY29tcGxpYW5jZS1rZXktMDEyMzQ1Njc4OWE=",
        LOG_LEVEL="WARNING",
        DB_POOL="false",
    )
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


class Writer:
    """Varied message text: templates over a vocabulary whose word frequencies fall off like natural text."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.words = COMMON + RARE
        self.weights = [1 / (rank + 1) ** 0.9 for rank in range(len(COMMON))] + [0.004] * len(RARE)

    def word(self) -> str:
        return self.rng.choices(self.words, weights=self.weights)[0]

    def sentence(self) -> str:
        fields = {key: self.word() for key in "abcde"}
        return self.rng.choice(TEMPLATES).format(verb=self.rng.choice(VERBS), name=self.rng.choice(NAMES), **fields)

    def prompt(self) -> str:
        text = " ".join(self.sentence() for _ in range(self.rng.randint(1, 3)))
        roll = self.rng.random()
        if roll < 0.01:
            text += f" My card is 4111 1111 1111 {self.rng.randint(1000, 9999)}."
        elif roll < 0.02:
            text += f" Write to {self.rng.choice(NAMES).lower()}@example.com."
        return text

    def answer(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(2, 6)))


def copy_text(value) -> str:
    if value is None:
        return "\\N"
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def seed(args, company, users, agents) -> None:
    from django.db import connection

    rng = random.Random(12)
    writer = Writer(rng)
    conversations = args.messages // PER_CONVERSATION
    start = datetime.now(UTC) - timedelta(days=365)
    step = timedelta(days=365) / conversations
    raw = connection.connection
    print(f"seeding {conversations:,} conversations, {args.messages:,} messages ...", flush=True)
    started = time.perf_counter()
    with raw.cursor() as cursor:
        # The index, the recency index and the generated vector column go while the rows are copied in, and
        # come back (computed once, in bulk) afterwards.
        fulltext = importlib.import_module("apps.compliance.migrations.0002_message_fulltext")
        for statement in fulltext.POSTGRESQL_BACKWARD:
            cursor.execute(statement)
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM chat_conversation")
        next_conversation = cursor.fetchone()[0] + 1
        conversation_columns = (
            "id, public_id, title, metadata, removed_from_history, has_flag, prompt_tokens, completion_tokens, "
            "total_tokens, prompt_cost, completion_cost, total_cost, created, last_updated, agent_id, company_id, "
            "user_id, redaction_map"
        )
        message_columns = (
            "public_id, message_type, text, status, incomplete_reason, feedback, finish_reason, "
            "provider_finish_reason, "
            "input_tokens, output_tokens, cached_tokens, usage_estimated, input_price_per_million, "
            "output_price_per_million, input_cost, output_cost, cost, error_kind, error_message, citations, "
            "attachments, run_id, created, company_id, conversation_id"
        )
        hits = []
        batch = 5000
        for first in range(0, conversations, batch):
            conv_buf, msg_buf = io.StringIO(), io.StringIO()
            for index in range(first, min(first + batch, conversations)):
                pk = next_conversation + index
                when = start + step * index
                user = users[rng.randrange(len(users))]
                agent = agents[rng.randrange(len(agents))]
                flagged = False
                rows = []
                for turn in range(PER_CONVERSATION):
                    kind = "User" if turn % 2 == 0 else "AI"
                    text = writer.prompt() if kind == "User" else writer.answer()
                    public_id = str(uuid.uuid4())
                    feedback = rng.choice(["Like", "Dislike"]) if kind == "AI" and rng.random() < 0.02 else None
                    if kind == "User" and "4111" in text:
                        hits.append((public_id, str(pk), agent.pk, when))
                        flagged = True
                    created = when + timedelta(seconds=30 * turn)
                    cost = "0.00120000" if kind == "AI" else "0"
                    rows.append(
                        (public_id, kind, text, "completed", "", feedback, "", "", 120, 300 if kind == "AI" else 0,
                         0, False, 0, 0, 0, 0, cost, "", "", "[]", "[]", "", created.isoformat(), company.pk, pk)
                    )  # fmt: skip
                title = rows[0][2][:60]
                conv_buf.write(
                    "\t".join(
                        copy_text(v)
                        for v in (pk, str(uuid.uuid4()), title, "[]", False, flagged, 600, 1500, 2100, 0, 0, "0.006",
                                  when.isoformat(), (when + timedelta(minutes=5)).isoformat(), agent.pk, company.pk,
                                  user.pk, "")
                    ) + "\n"
                )  # fmt: skip
                for row in rows:
                    msg_buf.write("\t".join(copy_text(v) for v in row) + "\n")
            with cursor.copy(f"COPY chat_conversation ({conversation_columns}) FROM STDIN") as copy:
                copy.write(conv_buf.getvalue())
            with cursor.copy(f"COPY chat_message ({message_columns}) FROM STDIN") as copy:
                copy.write(msg_buf.getvalue())
            print(f"  {min(first + batch, conversations) * PER_CONVERSATION:,} messages", end="\r", flush=True)
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('chat_conversation', 'id'), (SELECT MAX(id) FROM chat_conversation))"
        )
        with cursor.copy(
            "COPY scanners_scanhit (scanner, direction, source, action, score, threshold, findings, details, "
            "agent_id, message_public_id, conversation_public_id, created, company_id) FROM STDIN"
        ) as copy:
            for message_id, _conversation_pk, agent_pk, when in hits:
                copy.write_row(
                    (
                        "pii",
                        "prompt",
                        "chat",
                        "redact",
                        0.95,
                        0.5,
                        "[]",
                        "{}",
                        agent_pk,
                        message_id,
                        "",
                        when,
                        company.pk,
                    )
                )
    print(f"\ncopied in {time.perf_counter() - started:.0f} s; building indexes ...", flush=True)


def rebuild_indexes() -> None:
    from django.db import connection

    fulltext = importlib.import_module("apps.compliance.migrations.0002_message_fulltext")
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for statement in [*fulltext.POSTGRESQL_BACKWARD, *fulltext.POSTGRESQL_FORWARD]:
            cursor.execute(statement)
        cursor.execute("ANALYZE chat_message")
        cursor.execute("ANALYZE chat_conversation")
        cursor.execute("ANALYZE scanners_scanhit")
    print(f"indexes built and analyzed in {time.perf_counter() - started:.0f} s", flush=True)


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered):7.1f} ms   p99 {p99:7.1f} ms   max {ordered[-1]:7.1f} ms"


def vm_hwm_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    args = parse_args()
    setup_django(args.database_url)

    from apps.accounts.models import ApplicationUser
    from apps.agents.models import Agent
    from apps.chat.models import Message
    from apps.companies.models import Company
    from apps.compliance.export import csv_stream
    from apps.compliance.selectors import Criteria, export_rows, search_page

    company, _ = Company.objects.get_or_create(slug=COMPANY_SLUG, defaults={"name": "Bench Compliance"})
    if args.reseed:
        Message.objects.filter(company=company).delete()
    users = list(ApplicationUser.objects.filter(company=company).order_by("pk"))
    for n in range(len(users), args.users):
        users.append(ApplicationUser.objects.create(company=company, email=f"user{n}@bench.example", role_user=True))
    agents = list(Agent.objects.filter(company=company).order_by("pk"))
    for n in range(len(agents), 4):
        agents.append(Agent.objects.create(company=company, name=f"Agent {n}", engine="openai", model="gpt-4o-mini"))
    have = Message.objects.filter(company=company).count()
    if have < args.messages:
        if have:
            sys.exit(f"{have:,} messages already seeded (fewer than {args.messages:,}): run with --reseed")
        seed(args, company, users, agents)
        rebuild_indexes()
    elif args.rebuild_indexes:
        rebuild_indexes()
    print(f"{Message.objects.filter(company=company).count():,} messages in {company.slug}")

    user = users[7]
    agent = agents[1]
    today = datetime.now(UTC).date()
    scenarios = {
        "rare word (arbitration)": Criteria(text="arbitration"),
        "two rare words (escrow lawsuit)": Criteria(text="escrow lawsuit"),
        "common word (policy)": Criteria(text="policy"),
        "two common words (budget approval)": Criteria(text="budget approval"),
        'phrase ("travel expense")': Criteria(text='"travel expense"'),
        "prefix (secur*)": Criteria(text="secur*"),
        "no match (zyxwv)": Criteria(text="zyxwv"),
        "e-mail address (dana@example.com)": Criteria(text="dana@example.com"),
        "common word + user": Criteria(text="policy", user=user),
        "common word + agent + last 30 days": Criteria(
            text="report", agent=agent, date_from=today - timedelta(days=30)
        ),
        "rare word + last 90 days": Criteria(text="ransomware", date_from=today - timedelta(days=90)),
        "hits: pii": Criteria(hits=("pii",)),
        "text + hits: pii (card)": Criteria(text="card", hits=("pii",)),
        "flagged only": Criteria(flagged=True),
        "feedback: Dislike + user": Criteria(feedback="Dislike", user=user),
        "no text, user only": Criteria(user=user),
        "common word, best match first": Criteria(text="contract", order="rank"),
        "rare word, best match first": Criteria(text="whistleblower", order="rank"),
    }
    print(f"\nsearch, first page of 25 (page + snippets + hits + capped count), {args.runs} runs each:")
    worst = 0.0
    for name, criteria in scenarios.items():
        search_page(company=company, criteria=criteria, page=1, page_size=25)  # warm-up
        samples = []
        total = 0
        for _ in range(args.runs):
            started = time.perf_counter()
            page = search_page(company=company, criteria=criteria, page=1, page_size=25)
            samples.append((time.perf_counter() - started) * 1000)
            total = page.total
        ordered = sorted(samples)
        worst = max(worst, ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))])
        shown = f">{total - 1:,}" if page.total_is_lower_bound else f"{total:,}"
        print(f"  {name:40s} {shown:>8s} matches   {percentiles(samples)}")
    print(f"  worst p99: {worst:.1f} ms (target 300 ms)")

    # The export: a text that matches at least --export-rows messages, newest first, cut at that many by the
    # generator's consumer (the export itself has no limit: the client stops reading).
    if args.no_export:
        return
    criteria = Criteria(text="team")
    print(f"\nexport of {args.export_rows:,} rows as CSV (criteria: text 'team'):")
    tracemalloc.start()
    started = time.perf_counter()
    rows = size = 0
    for piece in csv_stream(export_rows(company=company, criteria=criteria)):
        size += len(piece)
        rows += piece.count("\n")
        if rows > args.export_rows:
            break
    traced_seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"  under tracemalloc: {rows - 1:,} rows, {size / 1e6:.1f} MB of CSV in {traced_seconds:.1f} s; "
          f"peak Python allocations {peak / 1e6:.1f} MB")  # fmt: skip
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    before = vm_hwm_kb()
    started = time.perf_counter()
    rows = size = 0
    for piece in csv_stream(export_rows(company=company, criteria=criteria)):
        size += len(piece)
        rows += piece.count("\n")
        if rows > args.export_rows:
            break
    seconds = time.perf_counter() - started
    after = vm_hwm_kb()
    print(f"  plain: {rows - 1:,} rows in {seconds:.1f} s ({(rows - 1) / seconds:,.0f} rows/s); "
          f"peak RSS {after / 1024:.0f} MB, growth during the export {(after - before) / 1024:.1f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
