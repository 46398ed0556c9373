"""The SQLite session store: append-only writes, paging, migrations, concurrency."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import anyio
import pytest

from llmcore import Message, Role, SessionStorageError
from llmcore.storage.sessions.sqlite import SCHEMA_VERSION, SqliteSessionStorage


def msg(i: int, role: Role = Role.USER) -> Message:
    return Message(role=role, content=f"m{i}")


async def test_append_and_read_back(tmp_path: Path) -> None:
    store = SqliteSessionStorage(tmp_path / "s.db")
    info, created = await store.ensure_session("s", name="Mine")
    assert created and info.name == "Mine"
    assert (await store.ensure_session("s"))[1] is False
    await store.append_messages(
        "s", [Message(role=Role.SYSTEM, content="sys"), msg(1), msg(2, Role.ASSISTANT)]
    )
    session = await store.get_session("s")
    assert session is not None
    assert [m.content for m in session.messages] == ["sys", "m1", "m2"]
    assert [m.content for m in await store.read_system_messages("s")] == ["sys"]
    info = await store.get_session_info("s")
    assert info is not None and info.message_count == 3
    await store.close()


async def test_read_recent_pages_newest_first(tmp_path: Path) -> None:
    store = SqliteSessionStorage(tmp_path / "s.db")
    await store.append_messages("s", [msg(i) for i in range(10)])
    page = await store.read_recent("s", limit=4)
    assert [m.content for m in page.messages] == ["m6", "m7", "m8", "m9"]
    page = await store.read_recent("s", limit=4, before=page.next_before)
    assert [m.content for m in page.messages] == ["m2", "m3", "m4", "m5"]
    page = await store.read_recent("s", limit=4, before=page.next_before)
    assert [m.content for m in page.messages] == ["m0", "m1"]
    assert page.next_before is None
    await store.close()


async def test_appending_the_same_message_twice_stores_it_once(tmp_path: Path) -> None:
    store = SqliteSessionStorage(tmp_path / "s.db")
    message = msg(1)
    await store.append_messages("s", [message])
    await store.append_messages("s", [message])
    info = await store.get_session_info("s")
    assert info is not None and info.message_count == 1
    await store.close()


async def test_concurrent_appends_lose_nothing(tmp_path: Path) -> None:
    store = SqliteSessionStorage(tmp_path / "s.db")

    async def turn(i: int) -> None:
        await store.append_messages("s", [msg(i), msg(i, Role.ASSISTANT)])

    async with anyio.create_task_group() as tg:
        for i in range(100):
            tg.start_soon(turn, i)
    session = await store.get_session("s")
    assert session is not None
    assert len(session.messages) == 200
    assert len({m.id for m in session.messages}) == 200
    # Each turn's two messages are adjacent: appends are atomic.
    for user, reply in zip(session.messages[::2], session.messages[1::2], strict=True):
        assert user.content == reply.content
    await store.close()


async def test_update_and_delete(tmp_path: Path) -> None:
    store = SqliteSessionStorage(tmp_path / "s.db")
    await store.append_messages("s", [msg(1)])
    assert await store.update_session("s", name="N", metadata={"a": 1}) is True
    assert await store.update_session("s", metadata={"b": 2}) is True
    info = await store.get_session_info("s")
    assert info is not None and (info.name, info.metadata) == ("N", {"a": 1, "b": 2})
    assert await store.update_session("nope", name="x") is False
    assert await store.delete_session("s") is True
    assert await store.get_session("s") is None
    assert await store.read_recent("s", limit=5) == type(await store.read_recent("s", limit=5))(
        [], None
    )
    await store.close()


async def test_schema_version_is_recorded_and_newer_versions_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = SqliteSessionStorage(path)
    await store.initialize()
    await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    store = SqliteSessionStorage(path)
    with pytest.raises(SessionStorageError, match="newer than this llmcore"):
        await store.initialize()


async def test_unwritable_location_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    store = SqliteSessionStorage(blocker / "sub" / "s.db")
    with pytest.raises(SessionStorageError) as info:
        await store.initialize()
    assert info.value.backend == "sqlite"
    assert "storage.session.path" in str(info.value)
