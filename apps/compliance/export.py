"""The results' export as CSV or JSON Lines, generated one chunk of messages at a time (selectors.export_rows):
a 100,000-row export holds about one chunk in memory, never the whole result.

CSV cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` first) get the Logs export's guard
(``apps.audit.export.safe_cell``): message text is what users and the AI wrote, anyone could start it with ``=``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import UTC

from django.utils import timezone

from apps.audit.export import safe_cell
from apps.companies.models import Company

FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}
COLUMNS = [
    "time (UTC)",
    "message id",
    "conversation id",
    "conversation title",
    "user",
    "user name",
    "agent",
    "type",
    "status",
    "feedback",
    "scanner hits",
    "conversation flagged",
    "cost (USD)",
    "input tokens",
    "output tokens",
    "text",
]
ROWS_PER_WRITE = 200  # rows per chunk of the HTTP response


class _Echo:
    """A file-like sink for csv.writer that hands each formatted line back instead of storing it."""

    def write(self, value: str) -> str:
        return value


def row_record(row: dict) -> dict:
    """One message (a row of ``selectors.export_rows``) as the JSON Lines export gives it; the CSV columns are
    these values in this order."""
    return {
        "time": row["created"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "messageId": row["messageId"],
        "conversationId": row["conversationId"],
        "conversationTitle": row["conversationTitle"],
        "user": row["user"] or "",
        "userName": row["userName"] or "",
        "agent": row["agent"],
        "type": row["type"],
        "status": row["status"],
        "feedback": row["feedback"] or "",
        "hits": [{"scanner": hit["scanner"], "action": hit["action"], "score": hit["score"]} for hit in row["hits"]],
        "conversationFlagged": row["conversationFlagged"],
        "cost": str(row["cost"]),
        "inputTokens": row["inputTokens"],
        "outputTokens": row["outputTokens"],
        "text": row["text"],
    }


def _hits_text(hits: list[dict]) -> str:
    return "; ".join(f"{hit['scanner']}:{hit['action']}" for hit in hits)


def csv_stream(rows: Iterable[dict]) -> Iterator[str]:
    """A byte order mark and the header (spreadsheets then read UTF-8 right), then the rows, 200 lines a chunk."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(COLUMNS)
    lines: list[str] = []
    for row in rows:
        record = row_record(row)
        record["hits"] = _hits_text(row["hits"])
        record["conversationFlagged"] = "yes" if record["conversationFlagged"] else "no"
        lines.append(writer.writerow([safe_cell(value) for value in record.values()]))
        if len(lines) >= ROWS_PER_WRITE:
            yield "".join(lines)
            lines = []
    if lines:
        yield "".join(lines)


def jsonl_stream(rows: Iterable[dict]) -> Iterator[str]:
    """One JSON object per line (UTF-8, ``\\n``-terminated), 200 lines a chunk."""
    lines: list[str] = []
    for row in rows:
        lines.append(json.dumps(row_record(row), ensure_ascii=False) + "\n")
        if len(lines) >= ROWS_PER_WRITE:
            yield "".join(lines)
            lines = []
    if lines:
        yield "".join(lines)


def stream(fmt: str, rows: Iterable[dict]) -> Iterator[str]:
    return csv_stream(rows) if fmt == "csv" else jsonl_stream(rows)


def filename(company: Company, fmt: str) -> str:
    return f"airisk-compliance-{company.slug}-{timezone.now():%Y%m%d-%H%M%S}.{fmt}"
