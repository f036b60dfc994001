"""Consuming the Results: the CSV and JSON Lines exports, streamed, with the formula guard and the audit trail; and
the memory an export of many rows needs (one chunk, not the whole result)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import tracemalloc

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.chat.models import Conversation, Message, MessageType
from apps.compliance.export import csv_stream
from apps.compliance.selectors import Criteria, export_rows


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def body_of(response) -> str:
    assert response.streaming
    return b"".join(response.streaming_content).decode("utf-8")


def test_csv_export_streams_every_match_with_the_formula_guard_and_is_audited(officer, data, company):
    response = logged_in(officer).get("/compliance/export/", {"format": "csv", "q": "payroll OR refund*"})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="airisk-compliance-acme-')
    assert AuditEvent.objects.get(action="compliance.exported").detail == {
        "criteria": {"q": "payroll OR refund*"},
        "format": "csv",
        "channel": "web",
    }
    rows = list(csv.reader(io.StringIO(body_of(response).lstrip("\ufeff"))))
    assert rows[0][0] == "time (UTC)" and rows[0][-1] == "text"
    assert rows[1:] == []  # "payroll" and "refund*" never occur in one message
    response = logged_in(officer).get("/compliance/export/", {"format": "csv", "user": data["hostile"].user.userid})
    rows = list(csv.reader(io.StringIO(body_of(response).lstrip("\ufeff"))))
    assert len(rows) == 1 + 3
    hostile = rows[1]
    assert hostile[3] == "<b>Payroll</b>"
    assert hostile[-1].startswith("<script>")
    assert rows[3][10] == "pii:redact"  # the refund prompt's hit


def test_csv_cells_that_start_a_formula_get_an_apostrophe(officer, data, agent, company):
    conversation = Conversation.objects.create(company=company, user=officer, agent=agent, title="=cmd|' /C calc'!A0")
    for text in ("=1+2", "+SUM(A1)", "-2+3", "@import", "plain"):
        Message.objects.create(company=company, conversation=conversation, message_type=MessageType.USER, text=text)
    response = logged_in(officer).get("/compliance/export/", {"format": "csv", "user": officer.userid})
    rows = list(csv.reader(io.StringIO(body_of(response).lstrip("\ufeff"))))[1:]
    assert sorted(row[-1] for row in rows) == sorted(["'=1+2", "'+SUM(A1)", "'-2+3", "'@import", "plain"])
    assert {row[3] for row in rows} == {"'=cmd|' /C calc'!A0"}


def test_jsonl_export_is_one_object_per_line_with_the_raw_text(officer, data):
    response = logged_in(officer).get("/compliance/export/", {"format": "jsonl", "q": "refund"})
    assert response["Content-Type"] == "application/x-ndjson; charset=utf-8"
    lines = body_of(response).splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["messageId"] for r in records] == [data["refund_answer"].public_id, data["refund_prompt"].public_id]
    assert records[1]["hits"] == [{"scanner": "pii", "action": "redact", "score": 0.9}]
    assert records[0]["feedback"] == "Like" and records[0]["conversationFlagged"] is True
    assert records[1]["text"].startswith("Can I get a refund")


def test_export_of_another_company_is_never_mixed_in(other_officer, data):
    records = [
        json.loads(line)
        for line in body_of(logged_in(other_officer).get("/compliance/export/", {"format": "jsonl"})).splitlines()
    ]
    assert [r["conversationId"] for r in records] == [data["other"].public_id]


def test_export_with_invalid_criteria_or_format_goes_back_to_the_form(officer, data):
    assert logged_in(officer).get("/compliance/export/", {"format": "xlsx", "q": "a"}).status_code == 302
    assert logged_in(officer).get("/compliance/export/", {"format": "csv", "date_from": "bad"}).status_code == 302
    assert not AuditEvent.objects.filter(action="compliance.exported").exists()


def test_export_walks_past_equal_timestamps_without_losing_or_repeating_rows(company, officer, agent):
    conversation = Conversation.objects.create(company=company, user=officer, agent=agent)
    moment = timezone.now()
    Message.objects.bulk_create(
        Message(company=company, conversation=conversation, message_type="User", text=f"clock tick {n}", created=moment)
        for n in range(25)
    )
    rows = list(export_rows(company=company, criteria=Criteria(text="tick"), chunk_size=4))
    assert len(rows) == 25 and len({row["messageId"] for row in rows}) == 25


def test_export_chunks_start_from_a_bound_the_recency_index_can_seek(company, officer, agent):
    """Each chunk after the first bounds ``created`` plainly (``<=``), besides the (created, id) keyset: with the OR
    alone PostgreSQL re-read every newer message for each chunk (quadratic; bench/oversight.py). The rows still come
    newest first, ties by id, each once."""
    conversation = Conversation.objects.create(company=company, user=officer, agent=agent)
    moment = timezone.now()
    Message.objects.bulk_create(
        Message(
            company=company,
            conversation=conversation,
            message_type="User",
            text=f"clock tick {n}",
            created=moment - dt.timedelta(seconds=n // 5),
        )
        for n in range(23)
    )
    with CaptureQueriesContext(connection) as queries:
        rows = list(export_rows(company=company, criteria=Criteria(text="tick"), chunk_size=4))
    keys = [(row["created"], row["pk"]) for row in rows]
    assert len(rows) == 23 and keys == sorted(keys, reverse=True)
    chunks = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT") and "LIMIT 4" in q["sql"]]
    assert len(chunks) == 6
    assert '"chat_message"."created" <=' not in chunks[0]
    assert all('"chat_message"."created" <=' in sql for sql in chunks[1:])


def test_export_of_20000_rows_holds_one_chunk_in_memory(company, officer, agent):
    conversation = Conversation.objects.create(company=company, user=officer, agent=agent, title="Long one")
    start = timezone.now() - dt.timedelta(days=1)
    text = "The quarterly budget review covers travel, hardware and training expenses for every team. " * 5
    for batch in range(10):
        Message.objects.bulk_create(
            Message(
                company=company,
                conversation=conversation,
                message_type="User",
                text=f"{text} row {batch * 2000 + n}",
                created=start + dt.timedelta(seconds=batch * 2000 + n),
            )
            for n in range(2000)
        )
    tracemalloc.start()
    try:
        size, lines = 0, 0
        for piece in csv_stream(export_rows(company=company, criteria=Criteria(text="budget"))):
            size += len(piece)
            lines += piece.count("\n")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert lines == 20_001
    assert size > 9_000_000
    # the whole export is ~9.6 MB of text (and several times that as Python objects); one chunk is 1,000 rows
    assert peak < 6_000_000, f"peak {peak / 1e6:.1f} MB for {size / 1e6:.1f} MB of CSV"
