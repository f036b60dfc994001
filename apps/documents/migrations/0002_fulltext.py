"""The full-text index of document chunks, one per database (docs/documents.md explains the choices).

PostgreSQL: a stored generated tsvector column ``search`` (to_tsvector('english', text)) with a GIN index. Stored,
so that ranking reads the vector instead of re-parsing every matching chunk's text; generated, so that no code
path can write a chunk and forget its vector.

SQLite: an external-content FTS5 table over the chunk table (the text is not stored twice), with the porter
stemmer to match PostgreSQL's English stemming, kept in step by triggers, so that deletes cascading from a
document or a company also leave the index. Its ``document_id`` column lets a search be limited to some documents
inside FTS5 itself.

Caution for later migrations: Django rebuilds a SQLite table to alter it, which drops its triggers. A migration that
alters documents_documentchunk must run ``drop_sqlite`` and ``create_sqlite`` again (the test
``test_sqlite_index_triggers_exist`` notices when it does not).
"""

from django.db import migrations

POSTGRESQL_FORWARD = [
    "ALTER TABLE documents_documentchunk ADD COLUMN search tsvector "
    "GENERATED ALWAYS AS (to_tsvector('english'::regconfig, text)) STORED",
    "CREATE INDEX documents_chunk_search ON documents_documentchunk USING gin (search)",
]
POSTGRESQL_BACKWARD = [
    "DROP INDEX IF EXISTS documents_chunk_search",
    "ALTER TABLE documents_documentchunk DROP COLUMN IF EXISTS search",
]
SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE documents_chunk_fts USING fts5("
    "text, document_id, content='documents_documentchunk', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER documents_chunk_fts_insert AFTER INSERT ON documents_documentchunk BEGIN "
    "INSERT INTO documents_chunk_fts(rowid, text, document_id) VALUES (new.id, new.text, new.document_id); END",
    "CREATE TRIGGER documents_chunk_fts_delete AFTER DELETE ON documents_documentchunk BEGIN "
    "INSERT INTO documents_chunk_fts(documents_chunk_fts, rowid, text, document_id) "
    "VALUES ('delete', old.id, old.text, old.document_id); END",
    "CREATE TRIGGER documents_chunk_fts_update AFTER UPDATE ON documents_documentchunk BEGIN "
    "INSERT INTO documents_chunk_fts(documents_chunk_fts, rowid, text, document_id) "
    "VALUES ('delete', old.id, old.text, old.document_id); "
    "INSERT INTO documents_chunk_fts(rowid, text, document_id) VALUES (new.id, new.text, new.document_id); END",
    # Index what is already there (nothing on a fresh install; the rows when re-created after a table rebuild).
    "INSERT INTO documents_chunk_fts(documents_chunk_fts) VALUES ('rebuild')",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS documents_chunk_fts_insert",
    "DROP TRIGGER IF EXISTS documents_chunk_fts_delete",
    "DROP TRIGGER IF EXISTS documents_chunk_fts_update",
    "DROP TABLE IF EXISTS documents_chunk_fts",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


create_postgresql_and_sqlite = _run({"postgresql": POSTGRESQL_FORWARD, "sqlite": SQLITE_FORWARD})
drop_postgresql_and_sqlite = _run({"postgresql": POSTGRESQL_BACKWARD, "sqlite": SQLITE_BACKWARD})
create_sqlite = _run({"sqlite": SQLITE_FORWARD})
drop_sqlite = _run({"sqlite": SQLITE_BACKWARD})


class Migration(migrations.Migration):
    dependencies = [("documents", "0001_initial")]

    operations = [migrations.RunPython(create_postgresql_and_sqlite, drop_postgresql_and_sqlite)]
