"""Benchmark of apps/documents (not a test): extraction, chunking and indexing of a 200-page PDF, and passage
retrieval (passages_for) p50/p99 over a company of 1,000 documents.

What it does:
 1. uses its own database (--database-url; SQLite file var/bench_documents.sqlite3 by default, or PostgreSQL,
    e.g. postgres://postgres@127.0.0.1:5432/bench_documents, created when missing) and migrates it;
 2. builds a --pages-page PDF with pypdf (about 2,700 characters a page) and times extract_text, chunk_text and
    the whole document_create (extract, chunk, store, index, audit);
 3. seeds --documents text documents of ~9,000 characters each (Zipf-distributed synthetic vocabulary, so that
    some words are in nearly every chunk and most are rare); an existing seed of that size is reused;
 4. runs --queries prompts of 6-16 words (stop words included) through passages_for with a 6,000-character
    budget and a limit of 8, against 1, 5 and 50 documents picked at random, and against the 200-page PDF;
    prints p50 / p99 / max in milliseconds.

    python bench/documents.py
    python bench/documents.py --database-url postgres://postgres@127.0.0.1:5432/bench_documents
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import ensure_database  # noqa: E402

COMPANY_SLUG = "bench-documents"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=f"sqlite:///{ROOT / 'var' / 'bench_documents.sqlite3'}")
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--queries", type=int, default=300, help="Prompts per retrieval scenario.")
    parser.add_argument("--reseed", action="store_true", help="Delete the benchmark company's documents first.")
    return parser.parse_args()


def setup_django(database_url: str, media_root: str) -> None:
    if database_url.startswith("postgres"):
        ensure_database(database_url)
    os.environ.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="airisk.settings",
        DEBUG="false",
        SECRET_KEY="bench-documents-secret-key-not-for-production-0123456789",
        MEDIA_ROOT=media_root,
        LOG_LEVEL="WARNING",
    )
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


class Vocabulary:
    """Synthetic words with Zipf-like frequencies: a few very common, most rare, like real text."""

    def __init__(self, rng: random.Random, size: int = 6000) -> None:
        syllables = ["ka", "lo", "mi", "ter", "van", "dor", "sel", "ri", "po", "nu", "ga", "ble", "tion", "ex", "ar"]
        words: set[str] = set()
        while len(words) < size:
            words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
        self.words = sorted(words)
        rng.shuffle(self.words)
        self.weights = [1 / (rank + 1) for rank in range(size)]
        self.rng = rng

    def sentence(self, low: int = 8, high: int = 24) -> str:
        words = self.rng.choices(self.words, weights=self.weights, k=self.rng.randint(low, high))
        return " ".join(words).capitalize() + "."

    def paragraph(self, sentences: int) -> str:
        return " ".join(self.sentence() for _ in range(sentences))

    def prompt(self) -> str:
        stop = ["what", "does", "the", "say", "about", "how", "is", "of", "in", "and"]
        words = self.rng.choices(self.words, weights=self.weights, k=self.rng.randint(3, 10))
        words += self.rng.sample(stop, k=self.rng.randint(3, 6))
        self.rng.shuffle(words)
        return " ".join(words) + "?"


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, (time.perf_counter() - started) * 1000


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered):7.2f} ms   p99 {p99:7.2f} ms   max {ordered[-1]:7.2f} ms"


def main() -> None:
    args = parse_args()
    media_root = tempfile.mkdtemp(prefix="bench-documents-")
    setup_django(args.database_url, media_root)

    from django.conf import settings
    from django.db import connection

    from apps.audit.services import Actor
    from apps.companies.models import Company
    from apps.documents.chunking import chunk_text
    from apps.documents.extraction import extract_text
    from apps.documents.models import Document
    from apps.documents.selectors import passages_for
    from apps.documents.services import document_create
    from apps.documents.tests.files import make_pdf

    rng = random.Random(20261129)
    vocabulary = Vocabulary(rng)
    actor = Actor.system()
    company, _ = Company.objects.get_or_create(slug=COMPANY_SLUG, defaults={"name": "Bench documents"})
    print(f"database: {connection.vendor} ({settings.DATABASES['default']['NAME']}), {os.cpu_count()} CPUs")

    # 1. One large PDF.
    pages = [vocabulary.paragraph(6) + "\n" + vocabulary.paragraph(6) for _ in range(args.pages)]
    pdf, build_ms = timed(make_pdf, pages)
    extraction, extract_ms = timed(extract_text, filename="big.pdf", content=pdf, max_chars=settings.DOCUMENT_MAX_CHARS)
    chunks, chunk_ms = timed(chunk_text, extraction.text, page_starts=extraction.page_starts)
    Document.objects.for_company(company).filter(filename="big.pdf").delete()
    big, create_ms = timed(document_create, company=company, actor=actor, name="big.pdf", content=pdf)
    print(
        f"{args.pages}-page PDF: {len(pdf) / 1e6:.2f} MB, {len(extraction.text):,} characters, {len(chunks)} chunks "
        f"(built in {build_ms:.0f} ms)\n"
        f"  extract_text {extract_ms:8.0f} ms  ({extract_ms / args.pages:.1f} ms a page)\n"
        f"  chunk_text   {chunk_ms:8.0f} ms\n"
        f"  document_create (extract + chunk + store + index + audit) {create_ms:8.0f} ms"
    )

    # 2. A company of many small documents.
    if args.reseed:
        Document.objects.for_company(company).exclude(pk=big.pk).delete()
    existing = Document.objects.for_company(company).exclude(pk=big.pk).count()
    create_times = []
    for n in range(existing, args.documents):
        text = "\n\n".join(vocabulary.paragraph(rng.randint(3, 8)) for _ in range(12))
        _, ms = timed(document_create, company=company, actor=actor, name=f"doc-{n}.txt", content=text.encode())
        create_times.append(ms)
    small = list(Document.objects.for_company(company).exclude(pk=big.pk).order_by("pk")[: args.documents])
    chunk_total = sum(d.chunk_count for d in small)
    print(f"{len(small)} documents, {chunk_total:,} chunks in all (plus the PDF's {big.chunk_count})")
    if create_times:
        print(f"  document_create of one ~9,000-character text: {percentiles(create_times)}")

    # 3. Retrieval.
    scenarios = [("1 document", 1), ("5 documents", 5), ("50 documents", 50)]
    for label, count in scenarios:
        samples, hits = [], 0
        for _ in range(args.queries):
            documents = rng.sample(small, count)
            passages, ms = timed(
                passages_for,
                company=company,
                documents=documents,
                query=vocabulary.prompt(),
                budget_chars=6000,
                limit=8,
            )
            samples.append(ms)
            hits += any(p.score > 0 for p in passages)
        print(f"passages_for over {label:13} {percentiles(samples)}   ({hits}/{args.queries} prompts matched)")
    samples = [
        timed(passages_for, company=company, documents=[big], query=vocabulary.prompt(), budget_chars=6000, limit=8)[1]
        for _ in range(args.queries)
    ]
    print(f"passages_for over the PDF      {percentiles(samples)}")
    samples = [
        timed(passages_for, company=company, documents=small[:5], query="", budget_chars=6000, limit=8)[1]
        for _ in range(args.queries)
    ]
    print(f"fallback (no words), 5 docs    {percentiles(samples)}")


if __name__ == "__main__":
    main()
