"""What bench/compliance.py and bench/oversight.py measure of apps/compliance, on whichever company they seeded:

- ``scenarios``: the named search criteria (a rare word, a common word, a prefix, a phrase, no match, filters, hits,
  flagged only, best match first), over words each script's data actually holds;
- ``time_searches``: each scenario timed warm, p50 / p99 / max, with the rows it matches;
- ``measure_export``: a ``rows``-row export as CSV and as JSON Lines through ``selectors.export_rows`` and
  ``export.csv_stream`` / ``export.jsonl_stream`` (the generators the page's and the API's streamed responses
  send): peak Python allocations (tracemalloc), peak RSS growth (VmHWM) and rows/s.

Django must be set up before any of these is called (each script does it with its own database).
"""

from __future__ import annotations

import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import islice
from pathlib import Path

PAGE_SIZE = 25  # the search page's (apps/compliance/views.py)
TARGET_P99_MS = 300.0


@dataclass
class SearchFigure:
    name: str
    matches: str  # the exact count, or "≥N" when counting was skipped
    p50: float
    p99: float
    worst: float


@dataclass
class ExportFigure:
    fmt: str
    rows: int
    megabytes: float
    traced_peak_mb: float
    rss_growth_mb: float
    rss_peak_mb: float
    rows_per_second: float


def percentile(ordered: list[float], fraction: float) -> float:
    """The nearest-rank percentile of sorted samples."""
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def scenarios(
    *,
    rare: str,
    common: str,
    common2: str,
    prefix: str,
    phrase: str,
    user,
    agent,
    hit_text: str,
    hit_kind: str,
    today: date,
    extra: dict | None = None,
):
    """The search scenarios both benchmarks time, over words of their own data (``phrase`` is two words)."""
    from apps.compliance.selectors import Criteria

    found = {
        f"rare word ({rare})": Criteria(text=rare),
        f"common word ({common})": Criteria(text=common),
        f"two common words ({common} {common2})": Criteria(text=f"{common} {common2}"),
        f'phrase ("{phrase}")': Criteria(text=f'"{phrase}"'),
        f"prefix ({prefix})": Criteria(text=prefix),
        "no match (zyxwv)": Criteria(text="zyxwv"),
        f"common word ({common}) + user": Criteria(text=common, user=user),
        f"text ({common2}) + agent + last 30 days": Criteria(
            text=common2, agent=agent, date_from=today - timedelta(days=30)
        ),
        f"text ({hit_text}) + hits: {hit_kind}": Criteria(text=hit_text, hits=(hit_kind,)),
        f"hits: {hit_kind}": Criteria(hits=(hit_kind,)),
        "flagged only": Criteria(flagged=True),
        f"best match first, common word ({common})": Criteria(text=common, order="rank"),
        f"best match first, rare word ({rare})": Criteria(text=rare, order="rank"),
    }
    found.update(extra or {})
    return found


def count_matches(company, criteria, *, limit: int = 2_000_000) -> str:
    """Every match of ``criteria`` (once, untimed: the page itself never counts beyond what it shows)."""
    from apps.compliance.selectors import _custom_plans, message_search

    with _custom_plans():
        count = message_search(company=company, criteria=criteria)[:limit].count()
    return f"{count:,}"


def time_searches(
    company,
    named: dict,
    *,
    runs: int,
    warmup: int = 1,
    run: Callable | None = None,
    label: str = "",
) -> list[SearchFigure]:
    """Times ``run(criteria)`` (default: ``selectors.search_page``, first page of 25) ``runs`` times per scenario
    after ``warmup`` untimed runs, and prints a line per scenario with its exact number of matches."""
    from apps.compliance.selectors import search_page

    if run is None:

        def run(criteria):
            search_page(company=company, criteria=criteria, page=1, page_size=PAGE_SIZE)

    print(f"\ncompliance search{label}, {runs} runs each after {warmup} warm-up (target p99 {TARGET_P99_MS:.0f} ms):")
    figures = []
    for name, criteria in named.items():
        matches = count_matches(company, criteria)
        for _ in range(warmup):
            run(criteria)
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            run(criteria)
            samples.append((time.perf_counter() - started) * 1000)
        ordered = sorted(samples)
        figure = SearchFigure(name, matches, statistics.median(ordered), percentile(ordered, 0.99), ordered[-1])
        figures.append(figure)
        verdict = "" if figure.p99 < TARGET_P99_MS else "  OVER TARGET"
        print(
            f"  {name:44s} {matches:>9s} rows   p50 {figure.p50:7.1f} ms   p99 {figure.p99:7.1f} ms   "
            f"max {figure.worst:7.1f} ms{verdict}"
        )
    worst = max(figures, key=lambda f: f.p99)
    print(f"  worst p99: {worst.p99:.1f} ms ({worst.name}; target {TARGET_P99_MS:.0f} ms)")
    return figures


def _vm_hwm_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _export(company, criteria, fmt: str, rows: int) -> tuple[int, int]:
    """Streams exactly ``rows`` matching rows (fewer if fewer match) in ``fmt``; returns (rows, characters)."""
    from apps.compliance.export import stream
    from apps.compliance.selectors import export_rows

    counted = 0

    def counting(source):
        nonlocal counted
        for row in islice(source, rows):
            counted += 1
            yield row

    size = 0
    for piece in stream(fmt, counting(export_rows(company=company, criteria=criteria))):
        size += len(piece.encode())
    return counted, size


def measure_export(company, criteria, *, rows: int = 100_000, formats=("csv", "jsonl")) -> list[ExportFigure]:
    """Each format exported twice: plain first (time, rows/s, and the process's peak RSS growth: VmHWM reset to the
    current RSS just before; tracemalloc's own bookkeeping would inflate it), then under tracemalloc (peak of Python
    allocations)."""
    print(f"\nexport of {rows:,} rows (criteria {criteria.as_dict()}, newest first):")
    figures = []
    for fmt in formats:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        before = _vm_hwm_kb()
        started = time.perf_counter()
        counted, size = _export(company, criteria, fmt, rows)
        seconds = time.perf_counter() - started
        after = _vm_hwm_kb()
        tracemalloc.start()
        _export(company, criteria, fmt, rows)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        figure = ExportFigure(
            fmt=fmt,
            rows=counted,
            megabytes=size / 1e6,
            traced_peak_mb=peak / 1e6,
            rss_growth_mb=(after - before) / 1024,
            rss_peak_mb=after / 1024,
            rows_per_second=counted / seconds,
        )
        figures.append(figure)
        print(
            f"  {fmt:5s} {counted:,} rows, {figure.megabytes:.1f} MB in {seconds:.1f} s ({figure.rows_per_second:,.0f} "
            f"rows/s); peak Python allocations {figure.traced_peak_mb:.1f} MB; peak RSS growth "
            f"{figure.rss_growth_mb:.1f} MB (process peak {figure.rss_peak_mb:.0f} MB)"
        )
    return figures
