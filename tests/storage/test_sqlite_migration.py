"""A SQLite file written by an older llmcore (schema v1) is upgraded in place."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from llmcore import Message, Role
from llmcore.storage.sessions.sqlite import MIGRATIONS, SCHEMA_VERSION, SqliteSessionStorage

V1_ROWS = [
    ("m1", "old", "user", "hello", "2024-01-01T00:00:00.000000+00:00", 5, "tiktoken:o200k_base"),
    ("m2", "old", "assistant", "hi!", "2024-01-01T00:00:01.000000+00:00", None, None),
    ("m3", "old", "system", "be kind", "2024-01-01T00:00:02.000000+00:00", None, None),
]


def write_v1(path: Path) -> None:
    conn = sqlite3.connect(path)
    for statement in MIGRATIONS[1]:
        conn.execute(statement)
    conn.execute(
        "INSERT INTO sessions VALUES ('old', 'Old one', '2024-01-01T00:00:00.000000+00:00', "
        "'2024-01-01T00:00:02.000000+00:00', 3, '{\"k\": 1}')"
    )
    conn.executemany(
        "INSERT INTO messages (id, session_id, role, content, timestamp, tokens, tokens_by) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        V1_ROWS,
    )
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()


async def test_a_v1_database_is_upgraded_with_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    write_v1(path)
    assert SCHEMA_VERSION == 3
    store = SqliteSessionStorage(path)
    session = await store.get_session("old")
    assert session is not None
    assert (session.name, session.metadata) == ("Old one", {"k": 1})
    assert [(m.id, m.content, m.tokens) for m in session.messages] == [
        ("m1", "hello", 5),
        ("m2", "hi!", None),
        ("m3", "be kind", None),
    ]
    assert [m.content for m in await store.read_system_messages("old")] == ["be kind"]
    # New writes land after the old messages...
    await store.append_messages("old", [Message(role=Role.USER, content="again")])
    page = await store.read_recent("old", limit=2)
    assert [m.content for m in page.messages] == ["be kind", "again"]
    # ...and what v2 changed works: a message id may appear in two sessions.
    await store.append_messages("copy", [Message(id="m1", role=Role.USER, content="hello")])
    copied = await store.get_session("copy")
    assert copied is not None and [m.id for m in copied.messages] == ["m1"]
    await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        assert {"messages_by_session", "system_messages", "sessions_by_recency"} <= indexes
        assert "sessions_by_update" not in indexes
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


async def test_two_stores_opening_a_v1_file_at_once_migrate_it_once(tmp_path: Path) -> None:
    import anyio

    path = tmp_path / "old.db"
    write_v1(path)
    stores = [SqliteSessionStorage(path) for _ in range(4)]
    async with anyio.create_task_group() as tg:
        for s in stores:
            tg.start_soon(s.initialize)
    session = await stores[0].get_session("old")
    assert session is not None and len(session.messages) == 3
    for s in stores:
        await s.close()
