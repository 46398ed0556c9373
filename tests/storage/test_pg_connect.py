"""A wrong PostgreSQL database: one clear error naming the database and psycopg's reason.

Both PostgreSQL stores (sessions, pgvector) share the pool helper; each case
runs against both, on the real embedded server.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from llmcore import Message, Role, SessionStorageError, VectorStorageError
from llmcore.storage.sessions.postgres import PostgresSessionStorage
from llmcore.storage.vectors.pgvector import PgVectorStorage

ROLE, PASSWORD, WRONG = "llmcore_pw_role", "r1ght-pa55word", "wr0ng-pa55word"


def with_params(url: str, **params: str) -> str:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    return make_conninfo(**{**conninfo_to_dict(url), **params})


Open = Callable[[str, float], Awaitable[Exception]]


async def open_session_store(url: str, timeout: float) -> Exception:
    store = PostgresSessionStorage(url, timeout=timeout)
    try:
        await store.append_messages("s", [Message(role=Role.USER, content="x")])
    except SessionStorageError as exc:
        assert (exc.backend, exc.operation) == ("postgres", "connect")
        assert "storage.session.db_url" in str(exc)
        return exc
    finally:
        await store.close()
    raise AssertionError("the session store opened")


async def open_vector_store(url: str, timeout: float) -> Exception:
    store = PgVectorStorage(url, timeout=timeout)
    try:
        await store.initialize()
    except VectorStorageError as exc:
        assert (exc.backend, exc.operation) == ("pgvector", "connect")
        assert "storage.vector.db_url" in str(exc)
        return exc
    finally:
        await store.close()
    raise AssertionError("the vector store opened")


@pytest.fixture(params=["sessions", "pgvector"])
def open_store(request: pytest.FixtureRequest) -> Open:
    """Open the PostgreSQL session store or the pgvector store; return its error."""
    return open_session_store if request.param == "sessions" else open_vector_store


async def fails(open_store: Open, url: str, timeout: float = 10) -> tuple[str, float]:
    """The one-line error of opening ``url``, and how long it took to come."""
    started = time.monotonic()
    exc = await open_store(url, timeout)
    elapsed = time.monotonic() - started
    text = str(exc)
    assert "\n" not in text and "pool initialization incomplete" not in text
    return text, elapsed


async def test_a_database_that_does_not_exist(open_store: Open, pg_url: str) -> None:
    text, elapsed = await fails(open_store, with_params(pg_url, dbname="llmcore_no_such_db"))
    assert "cannot connect to database 'llmcore_no_such_db' on " in text
    assert 'database "llmcore_no_such_db" does not exist' in text  # psycopg's reason
    assert elapsed < 5  # at once, not after the 10 s timeout


@pytest.fixture(scope="session")
def password_role(pg_url: str) -> str:
    """A role that must give its password (pg_hba.conf line for it, when the server is ours)."""
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        hba = Path(conn.execute("SHOW hba_file").fetchone()[0])  # type: ignore[index]
        if hba.is_file():  # the embedded server trusts everyone: not this role
            rule = f"local all {ROLE} scram-sha-256\nhost all {ROLE} all scram-sha-256\n"
            hba.write_text(rule + hba.read_text())
            conn.execute("SELECT pg_reload_conf()")
        conn.execute(f"DROP ROLE IF EXISTS {ROLE}")
        conn.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
    url = with_params(pg_url, user=ROLE, password=PASSWORD)
    psycopg.connect(url).close()  # the right password is let in
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(with_params(url, password=WRONG))  # and only the right one
    return url


async def test_a_wrong_password(open_store: Open, password_role: str) -> None:
    text, elapsed = await fails(open_store, with_params(password_role, password=WRONG))
    assert f"as user '{ROLE}'" in text and "database 'postgres'" in text
    assert f'password authentication failed for user "{ROLE}"' in text
    assert WRONG not in text and PASSWORD not in text
    assert elapsed < 5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_refused_port(open_store: Open) -> None:
    port = free_port()
    url = f"postgresql://me:{WRONG}@127.0.0.1:{port}/app"
    text, elapsed = await fails(open_store, url)
    assert f"cannot connect to database 'app' on 127.0.0.1:{port} as user 'me'" in text
    assert "Connection refused" in text
    assert WRONG not in text
    assert elapsed < 5


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers (a hung server, a black hole)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield int(sock.getsockname()[1])


async def test_a_server_that_never_answers_fails_within_the_timeout(
    open_store: Open, silent_server: int
) -> None:
    url = f"host=127.0.0.1 port={silent_server} dbname=app user=me password={WRONG}"
    text, elapsed = await fails(open_store, url, timeout=2)
    assert f"database 'app' on 127.0.0.1:{silent_server}" in text
    assert "timeout" in text.lower() or "no answer within 2 s" in text
    assert WRONG not in text
    assert 1.5 < elapsed < 4.5


async def test_a_malformed_url_is_named_without_echoing_it(
    open_store: Open,
) -> None:
    text, _ = await fails(open_store, f"postgresql://me:{WRONG}@[::1/app")
    assert "malformed db_url" in text and WRONG not in text
