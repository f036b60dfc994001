"""The full-text index of chat messages for compliance searches, one per database (docs/compliance.md).

PostgreSQL: a stored generated tsvector column ``compliance_search`` = ``to_tsvector('english', left(text, 100000))``
with a GIN index, like the documents' chunks. Stored rather than a GIN index on the expression alone: measured on
1,000,000 messages (bench/compliance.py), the expression index made PostgreSQL re-parse each candidate's text
wherever the index cannot answer alone (phrases: 7 s at p50; a newest-first page of a mid-frequency word, which
walks the recent messages and tests each: 380 ms), where reading a stored vector costs microseconds. Generated, so
that no code path can write a message and forget its vector (Django does not know the column; its inserts and
updates never name it). The cut at 100,000 characters keeps every vector under PostgreSQL's 1 MB limit, so the
column can never fail a chat insert. Adding it rewrites chat_message once (minutes on millions of messages).

SQLite: an external-content FTS5 table over chat_message (the text is not stored twice) with the porter stemmer,
like the documents' passages (apps/documents/migrations/0002_fulltext.py), kept in step by triggers; the update
trigger fires only when the text changes (feedback and status updates do not touch the index).

Both: an index on (company, created, id) so that "newest first" pages and the export's keyset walk read the
messages in order instead of sorting every match.

Caution for later migrations: on PostgreSQL, changing the type of chat_message.text needs this column dropped
first (``drop_postgresql``, then ``create_postgresql``). On SQLite, Django rebuilds a SQLite table to alter it, which drops its triggers and indexes. A
migration that alters chat_message must run ``drop_sqlite`` and ``create_sqlite`` of this module again (the test
``test_sqlite_message_index_triggers_exist`` notices when it does not).
"""

from django.db import migrations

POSTGRESQL_FORWARD = [
    "ALTER TABLE chat_message ADD COLUMN IF NOT EXISTS compliance_search tsvector "
    "GENERATED ALWAYS AS (to_tsvector('english'::regconfig, left(text, 100000))) STORED",
    "CREATE INDEX IF NOT EXISTS compliance_message_text_search ON chat_message USING gin (compliance_search)",
    "CREATE INDEX IF NOT EXISTS compliance_message_company_recent ON chat_message (company_id, created DESC, id DESC)",
]
POSTGRESQL_BACKWARD = [
    "DROP INDEX IF EXISTS compliance_message_text_search",
    "ALTER TABLE chat_message DROP COLUMN IF EXISTS compliance_search",
    "DROP INDEX IF EXISTS compliance_message_company_recent",
]
SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE compliance_message_fts USING fts5("
    "text, content='chat_message', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER compliance_message_fts_insert AFTER INSERT ON chat_message BEGIN "
    "INSERT INTO compliance_message_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER compliance_message_fts_delete AFTER DELETE ON chat_message BEGIN "
    "INSERT INTO compliance_message_fts(compliance_message_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER compliance_message_fts_update AFTER UPDATE OF text ON chat_message BEGIN "
    "INSERT INTO compliance_message_fts(compliance_message_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO compliance_message_fts(rowid, text) VALUES (new.id, new.text); END",
    # Index what is already there (the messages of an existing installation; after a table rebuild).
    "INSERT INTO compliance_message_fts(compliance_message_fts) VALUES ('rebuild')",
    "CREATE INDEX IF NOT EXISTS compliance_message_company_recent ON chat_message (company_id, created DESC, id DESC)",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS compliance_message_fts_insert",
    "DROP TRIGGER IF EXISTS compliance_message_fts_delete",
    "DROP TRIGGER IF EXISTS compliance_message_fts_update",
    "DROP TABLE IF EXISTS compliance_message_fts",
    "DROP INDEX IF EXISTS compliance_message_company_recent",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


create_postgresql_and_sqlite = _run({"postgresql": POSTGRESQL_FORWARD, "sqlite": SQLITE_FORWARD})
drop_postgresql_and_sqlite = _run({"postgresql": POSTGRESQL_BACKWARD, "sqlite": SQLITE_BACKWARD})
create_sqlite = _run({"sqlite": SQLITE_FORWARD})
create_postgresql = _run({"postgresql": POSTGRESQL_FORWARD})
drop_postgresql = _run({"postgresql": POSTGRESQL_BACKWARD})
drop_sqlite = _run({"sqlite": SQLITE_BACKWARD})


class Migration(migrations.Migration):
    dependencies = [("compliance", "0001_initial"), ("chat", "0003_usage_outcome_country")]

    operations = [migrations.RunPython(create_postgresql_and_sqlite, drop_postgresql_and_sqlite)]
