"""Shared by the benchmark scripts (run on demand, not tests)."""

from urllib.parse import urlsplit


def ensure_database(database_url: str) -> None:
    """Create the benchmark's own PostgreSQL database when it does not exist yet."""
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")
