"""Message parts in every session store: each kind round-trips, binaries are kept once,
and sessions written by the previous release (tool calls in metadata) open migrated."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import anyio
import pytest

from llmcore import Message, Role
from llmcore.parts import (
    DocumentPart,
    ImagePart,
    NativePart,
    Part,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from llmcore.storage.sessions import BaseSessionStorage
from llmcore.storage.sessions.json import JsonSessionStorage
from llmcore.storage.sessions.postgres import PostgresSessionStorage
from llmcore.storage.sessions.sqlite import SqliteSessionStorage
from llmcore.storage.sessions.sqlite_open import MIGRATIONS as SQLITE_MIGRATIONS

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
PDF = b"%PDF-1.4\n" + b"x" * 3000 + b"\n%%EOF\n"

EVERY_KIND: list[tuple[Role, list[Part]]] = [
    (Role.USER, [TextPart("What is in these?"), ImagePart(media_type="image/png", data=PNG)]),
    (Role.USER, [DocumentPart(media_type="application/pdf", data=PDF, name="spec.pdf")]),
    (Role.USER, [ImagePart(media_type="image/jpeg", url="https://example.com/cat.jpg")]),
    (
        Role.ASSISTANT,
        [
            ReasoningPart(text="Look first.", signature="sig==", provider="anthropic", model="c"),
            ReasoningPart(encrypted="opaque-blob", provider="openai", model="o4-mini"),
            TextPart("Let me check."),
            ToolCallPart(id="call_1", name="lookup", arguments={"q": "cat", "n": [1, 2]}),
        ],
    ),
    (Role.TOOL, [ToolResultPart(call_id="call_1", content="a cat", name="lookup")]),
    (Role.TOOL, [ToolResultPart(call_id="call_2", content="boom", is_error=True)]),
    (Role.ASSISTANT, [NativePart(provider="gemini", data={"executableCode": {"code": "1+1"}})]),
    (Role.ASSISTANT, [TextPart("It is a cat.")]),
]


async def test_every_kind_of_part_round_trips(store: BaseSessionStorage) -> None:
    messages = [Message(role=role, parts=parts) for role, parts in EVERY_KIND]
    await store.append_messages("parts", messages)
    session = await store.get_session("parts")
    assert session is not None
    assert [(m.role, m.parts) for m in session.messages] == EVERY_KIND
    assert [m.content for m in session.messages] == [m.content for m in messages]
    assert session.messages[4].content == "a cat"  # a tool message's text is its result
    # Paged reads and system messages carry parts the same way.
    page = await store.read_recent("parts", limit=3)
    assert [m.parts for m in page.messages] == [p for _, p in EVERY_KIND[-3:]]


async def test_a_binary_sent_twice_is_stored_once(
    store: BaseSessionStorage, backend: str, location: str
) -> None:
    image = ImagePart(media_type="image/png", data=PNG)
    for n in range(3):
        await store.append_messages(
            "pics", [Message(role=Role.USER, parts=[TextPart(f"look {n}"), image])]
        )
    session = await store.get_session("pics")
    assert session is not None
    assert all(m.parts[1] == image for m in session.messages)
    assert await stored_blobs(backend, location) == 1


async def test_deleting_a_session_deletes_its_binaries(
    store: BaseSessionStorage, backend: str, location: str
) -> None:
    await store.append_messages(
        "pics", [Message(role=Role.USER, parts=[ImagePart(media_type="image/png", data=PNG)])]
    )
    assert await stored_blobs(backend, location) == 1
    assert await store.delete_session("pics")
    assert await stored_blobs(backend, location) == 0


async def test_plain_text_stores_no_parts(
    store: BaseSessionStorage, backend: str, location: str
) -> None:
    await store.append_messages("plain", [Message(role=Role.USER, content="hi")])
    if backend == "sqlite":
        with sqlite3.connect(location) as db:
            assert db.execute("SELECT parts FROM messages").fetchall() == [(None,)]
    elif backend == "json":
        line = (Path(location) / "plain.jsonl").read_text().splitlines()[1]
        assert "parts" not in json.loads(line)
    session = await store.get_session("plain")
    assert session is not None and session.messages[0].parts == [TextPart("hi")]


async def stored_blobs(backend: str, location: str) -> int:
    if backend == "sqlite":
        with sqlite3.connect(location) as db:
            return int(db.execute("SELECT count(*) FROM blobs").fetchone()[0])
    if backend == "json":
        return sum(1 for p in (Path(location) / ".blobs").rglob("*") if p.is_file())
    import psycopg

    def count() -> int:
        with psycopg.connect(location) as conn:
            row = conn.execute("SELECT count(*) FROM llmcore_blobs").fetchone()
        assert row is not None
        return int(row[0])

    return await anyio.to_thread.run_sync(count)


# -- the previous release's formats ------------------------------------------

OLD_CALL = {"id": "call_9", "name": "get_weather", "arguments": {"city": "Oslo"}}


def check_migrated(messages: list[Message]) -> None:
    """A session of the previous release, with a tool round, as this one reads it."""
    user, asking, result, answer = messages
    assert (user.role, user.parts) == (Role.USER, [TextPart("Weather?")])
    assert asking.parts == [TextPart("Checking."), ToolCallPart(**OLD_CALL)]
    assert asking.metadata == {"model": "m"}  # the tool keys left metadata
    assert result.parts == [
        ToolResultPart(call_id="call_9", content="Sunny", is_error=True, name="get_weather")
    ]
    assert result.metadata == {}
    assert answer.content == "It is sunny." and answer.parts == [TextPart("It is sunny.")]


OLD_ROWS = [
    ("u1", "user", "Weather?", {}),
    ("a1", "assistant", "Checking.", {"model": "m", "tool_calls": [OLD_CALL]}),
    ("t1", "tool", "Sunny", {"tool_call_id": "call_9", "name": "get_weather", "is_error": True}),
    ("a2", "assistant", "It is sunny.", {}),
]


def write_sqlite_v2(path: Path) -> None:
    conn = sqlite3.connect(path)
    for version in (1, 2):
        for statement in SQLITE_MIGRATIONS[version]:
            assert isinstance(statement, str)
            conn.execute(statement)
    conn.execute(
        "INSERT INTO sessions VALUES ('old', NULL, '2025-01-01T00:00:00.000000+00:00', "
        "'2025-01-01T00:00:00.000000+00:00', 4, '{}')"
    )
    conn.executemany(
        "INSERT INTO messages (id, session_id, role, content, timestamp, metadata) "
        "VALUES (?, 'old', ?, ?, '2025-01-01T00:00:00.000000+00:00', ?)",
        [(i, r, c, json.dumps(m)) for i, r, c, m in OLD_ROWS],
    )
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()


async def test_a_sqlite_v2_database_migrates_once_under_concurrent_openers(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    write_sqlite_v2(path)
    stores = [SqliteSessionStorage(path) for _ in range(4)]
    async with anyio.create_task_group() as tg:
        for s in stores:
            tg.start_soon(s.initialize)
    session = await stores[1].get_session("old")
    assert session is not None
    check_migrated(session.messages)
    for s in stores:
        await s.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
        # Rewritten in place, not on each read: the tool data is in the parts column.
        stored = dict(conn.execute("SELECT id, parts FROM messages").fetchall())
        assert stored["u1"] is None and b'"tool_call"' in stored["a1"]
        (meta,) = conn.execute("SELECT metadata FROM messages WHERE id = 'a1'").fetchone()
        assert json.loads(meta) == {"model": "m"}


async def test_a_read_only_sqlite_v2_database_is_read_with_its_tool_calls(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    write_sqlite_v2(path)
    store = SqliteSessionStorage(f"{path}")
    path.chmod(0o444)
    try:
        import os

        if os.geteuid() == 0:  # root writes anyway: read it through a read-only URI instead
            from llmcore.storage.sessions import sqlite_open

            db = sqlite_open._open_read_only(path, 5, sqlite3.OperationalError("test"))
            assert db.version == 2
            rows = db.conn.execute(
                f"SELECT {sqlite_open.message_columns(db.version)} FROM messages ORDER BY seq"
            ).fetchall()
            db.conn.close()
            assert [r[9] for r in rows] == [None] * 4  # no parts column in v2: read as NULL
            return
        session = await store.get_session("old")
        assert session is not None
        check_migrated(session.messages)
    finally:
        path.chmod(0o644)
        await store.close()


def write_json_v1(folder: Path) -> Path:
    folder.mkdir(parents=True)
    path = folder / "old.jsonl"
    header = {
        "llmcore_session": 1,
        "id": "old",
        "name": None,
        "created_at": "2025-01-01T00:00:00Z",
        "updated_at": "2025-01-01T00:00:00Z",
        "metadata": {},
    }
    lines = [json.dumps(header)]
    for n, (i, role, content, meta) in enumerate(OLD_ROWS):
        record = {"id": i, "role": role, "content": content, "timestamp": "2025-01-01T00:00:00Z"}
        if meta:
            record["metadata"] = meta
        if n in (1, 3):
            record["end"] = True
        lines.append(json.dumps(record))
    path.write_text("\n".join(lines) + "\n")
    return path


async def test_a_json_v1_file_is_read_and_upgraded_at_its_next_append(tmp_path: Path) -> None:
    path = write_json_v1(tmp_path / "sessions")
    store = JsonSessionStorage(tmp_path / "sessions")
    session = await store.get_session("old")
    assert session is not None
    check_migrated(session.messages)
    assert (
        json.loads(path.read_text().splitlines()[0])["llmcore_session"] == 1
    )  # reads change nothing
    await store.append_messages("old", [Message(role=Role.USER, content="More?")])
    assert json.loads(path.read_text().splitlines()[0])["llmcore_session"] == 2
    session = await store.get_session("old")
    assert session is not None
    check_migrated(session.messages[:4])
    assert session.messages[4].content == "More?"


async def test_a_json_file_from_a_newer_release_is_refused_clearly(tmp_path: Path) -> None:
    from llmcore import SessionStorageError

    path = write_json_v1(tmp_path / "sessions")
    text = path.read_text().replace('"llmcore_session": 1', '"llmcore_session": 9', 1)
    path.write_text(text)
    store = JsonSessionStorage(tmp_path / "sessions")
    with pytest.raises(SessionStorageError, match="newer llmcore"):
        await store.get_session("old")


async def test_a_postgres_v1_schema_migrates_once_under_concurrent_openers(
    pg_db_url: str,
) -> None:
    import psycopg

    from llmcore.storage.sessions.postgres import MIGRATIONS as PG_MIGRATIONS

    prefix = "oldpg"
    names = {
        "s": f"{prefix}_sessions",
        "m": f"{prefix}_messages",
        "i_recency": f"{prefix}_sessions_by_recency",
        "i_session": f"{prefix}_messages_by_session",
        "i_system": f"{prefix}_system_messages",
    }
    with psycopg.connect(pg_db_url, autocommit=True) as conn:
        for statement in PG_MIGRATIONS[1]:
            conn.execute(statement.format(**names))
        conn.execute(f"CREATE TABLE {prefix}_schema (version INTEGER NOT NULL)")
        conn.execute(f"INSERT INTO {prefix}_schema VALUES (1)")
        conn.execute(
            f"INSERT INTO {prefix}_sessions (id, created_at, updated_at) "
            "VALUES ('old', now(), now())"
        )
        for i, role, content, meta in OLD_ROWS:
            conn.execute(
                f"INSERT INTO {prefix}_messages (session_id, id, role, content, timestamp, "
                "metadata) VALUES ('old', %s, %s, %s, now(), %s::jsonb)",
                (i, role, content, json.dumps(meta)),
            )
    stores = [PostgresSessionStorage(pg_db_url, table_name=prefix) for _ in range(3)]
    async with anyio.create_task_group() as tg:
        for s in stores:
            tg.start_soon(s.initialize)
    session = await stores[2].get_session("old")
    assert session is not None
    check_migrated(session.messages)
    for s in stores:
        await s.close()
    with psycopg.connect(pg_db_url) as conn:
        versions = conn.execute(f"SELECT version FROM {prefix}_schema ORDER BY 1").fetchall()
        assert versions == [(1,), (2,)]
