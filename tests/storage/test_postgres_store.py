"""PostgreSQL store specifics: table names, several prefixes, schema, failures."""

from __future__ import annotations

import socket

import pytest

from llmcore import ConfigError, Message, Role, SessionStorageError
from llmcore.storage.sessions.postgres import SCHEMA_VERSION, PostgresSessionStorage


@pytest.mark.parametrize("bad", ["", "1abc", "x; DROP TABLE users", 'a"b', "a b", "a" * 41, "café"])
def test_invalid_table_names_are_refused_before_any_sql(bad: str) -> None:
    with pytest.raises(ConfigError, match="table_prefix") as info:
        PostgresSessionStorage("postgresql://nowhere/db", table_name=bad)
    assert info.value.key == "storage.session.table_prefix"


async def test_two_prefixes_keep_separate_sessions_in_one_database(pg_db_url: str) -> None:
    a = PostgresSessionStorage(pg_db_url, table_name="app_a")
    b = PostgresSessionStorage(pg_db_url, table_name="App_B")
    await a.append_messages("s", [Message(role=Role.USER, content="from a")])
    assert await b.get_session("s") is None
    await b.append_messages("s", [Message(role=Role.USER, content="from b")])
    sa, sb = await a.get_session("s"), await b.get_session("s")
    assert sa is not None and sb is not None
    assert [m.content for m in sa.messages] == ["from a"]
    assert [m.content for m in sb.messages] == ["from b"]
    await a.close()
    await b.close()


async def test_the_schema_is_created_once_and_versioned(pg_db_url: str) -> None:
    import psycopg

    stores = [PostgresSessionStorage(pg_db_url, table_name="many") for _ in range(3)]
    for s in stores:
        await s.initialize()
        await s.close()
    with psycopg.connect(pg_db_url) as conn:
        rows = conn.execute("SELECT version FROM many_schema ORDER BY version").fetchall()
        assert rows == [(v,) for v in range(1, SCHEMA_VERSION + 1)]  # each migration once
        conn.execute("INSERT INTO many_schema VALUES (%s)", (SCHEMA_VERSION + 1,))
    newer = PostgresSessionStorage(pg_db_url, table_name="many")
    with pytest.raises(SessionStorageError, match="newer than this llmcore"):
        await newer.initialize()


async def test_an_unreachable_server_is_a_clear_error_without_the_password() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql://me:hunter2@127.0.0.1:{port}/db?connect_timeout=2"
    store = PostgresSessionStorage(url, timeout=2)
    with pytest.raises(SessionStorageError) as info:
        await store.append_messages("s", [Message(role=Role.USER, content="x")])
    assert (info.value.backend, info.value.operation) == ("postgres", "connect")
    assert "hunter2" not in str(info.value) and "hunter2" not in repr(store)
    assert "storage.session.db_url" in str(info.value)


async def test_a_failed_append_stores_nothing(pg_db_url: str) -> None:
    store = PostgresSessionStorage(pg_db_url)
    await store.append_messages("s", [Message(role=Role.USER, content="kept")])
    bad = [Message(role=Role.USER, content="fine"), Message(role=Role.USER, content="nul\x00")]
    with pytest.raises(SessionStorageError) as info:
        await store.append_messages("s", bad)
    assert info.value.operation == "append_messages"
    session = await store.get_session("s")
    assert session is not None and [m.content for m in session.messages] == ["kept"]
    assert session.info().message_count == 1
    listed = await store.get_session_info("s")
    assert listed is not None and listed.message_count == 1
    await store.close()
