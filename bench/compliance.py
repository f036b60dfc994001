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
    with text, scanner hits, flagged only, best match first) --runs times through ``selectors.search_page`` (first
    page of 25: the page, its snippets and hits, the capped count), after one warm-up run, and prints p50 / p99 /
    max in milliseconds with the exact number of matches;
 4. exports --export-rows rows (text "team", newest first) as CSV and as JSON Lines through ``export_rows`` and
    the export's generators: once plain (time, rows/s, and the process's peak RSS growth, VmHWM after resetting
    it), once under tracemalloc (peak of Python allocations).

Steps 3 and 4 are bench/_compliance_measure.py, which bench/oversight.py runs too on seed_activity's company.

    python bench/compliance.py
    python bench/compliance.py --messages 200000 --runs 20
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import _compliance_measure as measure  # noqa: E402
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


def main() -> None:
    args = parse_args()
    setup_django(args.database_url)

    from apps.accounts.models import ApplicationUser
    from apps.agents.models import Agent
    from apps.chat.models import Message
    from apps.companies.models import Company
    from apps.compliance.selectors import Criteria

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
    named = measure.scenarios(
        rare="arbitration",
        common="policy",
        common2="report",
        prefix="secur*",
        phrase="travel expense",
        user=user,
        agent=agent,
        hit_text="card",
        hit_kind="pii",
        today=today,
        extra={
            "two rare words (escrow lawsuit)": Criteria(text="escrow lawsuit"),
            "two common words (budget approval)": Criteria(text="budget approval"),
            "e-mail address (dana@example.com)": Criteria(text="dana@example.com"),
            "rare word + last 90 days": Criteria(text="ransomware", date_from=today - timedelta(days=90)),
            "feedback: Dislike + user": Criteria(feedback="Dislike", user=user),
            "no text, user only": Criteria(user=user),
        },
    )
    measure.time_searches(
        company, named, runs=args.runs, label=" (selectors.search_page: page + snippets + hits + capped count)"
    )
    if not args.no_export:
        measure.measure_export(company, Criteria(text="team"), rows=args.export_rows)


if __name__ == "__main__":
    main()
