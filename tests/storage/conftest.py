"""Fixtures of the session-store contract suite: one store per backend."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from llmcore.storage.sessions import BaseSessionStorage
from llmcore.storage.sessions.json import JsonSessionStorage
from llmcore.storage.sessions.postgres import PostgresSessionStorage
from llmcore.storage.sessions.sqlite import SqliteSessionStorage

BACKENDS = ["json", "sqlite", "postgres"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The session store backend under test."""
    return str(request.param)


@pytest.fixture
def location(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """Where the backend keeps its sessions: a folder, a file or a database URL."""
    if backend == "postgres":
        return str(request.getfixturevalue("pg_db_url"))
    if backend == "sqlite":
        return str(tmp_path / "sessions.db")
    return str(tmp_path / "sessions")


def open_store(backend: str, location: str) -> BaseSessionStorage:
    """A new, unopened store of ``backend`` at ``location``."""
    if backend == "json":
        return JsonSessionStorage(location)
    if backend == "sqlite":
        return SqliteSessionStorage(location)
    return PostgresSessionStorage(location, pool_size=4)


@pytest.fixture
async def store(backend: str, location: str) -> AsyncIterator[BaseSessionStorage]:
    """An initialised store of the backend under test, closed afterwards."""
    s = open_store(backend, location)
    await s.initialize()
    yield s
    await s.close()


@pytest.fixture
def make_store(backend: str, location: str) -> Callable[[], BaseSessionStorage]:
    """Open another store on the same location (another 'application instance')."""
    return lambda: open_store(backend, location)
