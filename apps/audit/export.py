"""The Logs screen's CSV export: rows generated one database chunk at a time, never the whole list in memory.

Spreadsheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula (CSV injection), and an actor
label, a target name or a search term is text someone else chose: such cells get a leading apostrophe, which
spreadsheets show as text and hide.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from apps.audit.catalogue import describe
from apps.audit.models import AuditEvent
from apps.companies.models import Company

COLUMNS = [
    "time (UTC)",
    "action",
    "what happened",
    "outcome",
    "actor type",
    "actor",
    "API client",
    "user",
    "target type",
    "target id",
    "target",
    "IP address",
    "trace id",
    "detail",
]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_SIZE = 500  # rows per database fetch (a server-side cursor on PostgreSQL)
ROWS_PER_WRITE = 100  # rows per chunk of the HTTP response


class _Echo:
    """A file-like sink for csv.writer that hands each formatted line back instead of storing it."""

    def write(self, value: str) -> str:
        return value


def safe_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def event_row(event: AuditEvent) -> list[str]:
    cells = [
        event.created.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        event.action,
        describe(event),
        event.outcome,
        event.actor_type,
        event.actor_label,
        event.client.name if event.client_id else "",
        event.user.email if event.user_id else "",
        event.target_type,
        event.target_id,
        event.target_label,
        event.ip or "",
        event.trace_id,
        json.dumps(event.detail, sort_keys=True, ensure_ascii=False) if event.detail else "",
    ]
    return [safe_cell(cell) for cell in cells]


def csv_stream(events: QuerySet[AuditEvent]) -> Iterator[str]:
    """The header, then ``events`` (select their ``client`` and ``user``) in their order, a hundred lines a chunk.

    Starts with a byte order mark so that spreadsheet programs read the UTF-8 (names, labels) correctly."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(COLUMNS)
    lines: list[str] = []
    for event in events.iterator(chunk_size=CHUNK_SIZE):
        lines.append(writer.writerow(event_row(event)))
        if len(lines) >= ROWS_PER_WRITE:
            yield "".join(lines)
            lines = []
    if lines:
        yield "".join(lines)


def csv_filename(company: Company | None) -> str:
    return f"airisk-logs-{company.slug if company else 'all-companies'}-{timezone.now():%Y%m%d-%H%M%S}.csv"
