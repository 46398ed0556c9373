"""The PostgreSQL test server is real and has pgvector."""

from __future__ import annotations

import psycopg


def test_server_has_pgvector(pg_db_url: str) -> None:
    with psycopg.connect(pg_db_url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        row = conn.execute("SELECT '[1,2,3]'::vector <=> '[1,2,4]'::vector").fetchone()
    assert row is not None and 0 < row[0] < 0.05
