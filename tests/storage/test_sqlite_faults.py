"""SQLite faults: a write that raises anything, failed opens, read-only files and folders."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from test_sqlite_migration import V1_ROWS, write_v1

from llmcore import Message, Role, SessionStorageError
from llmcore.storage.sessions.sqlite import SCHEMA_VERSION, SqliteSessionStorage


def msg(text: str, role: Role = Role.USER) -> Message:
    return Message(role=role, content=text)


async def contents(store: SqliteSessionStorage, sid: str = "s") -> list[str]:
    session = await store.get_session(sid)
    assert session is not None
    return [m.content for m in session.messages]


class Exploding(str):
    """A str that sqlite3 cannot bind: its adapter raises inside the write transaction."""


@pytest.mark.parametrize("error", [ValueError, KeyboardInterrupt])
async def test_anything_raised_inside_a_write_rolls_it_back_and_frees_the_lock(
    tmp_path: Path, error: type[BaseException]
) -> None:
    db = tmp_path / "s.db"
    store = SqliteSessionStorage(db)
    await store.append_messages("s", [msg("kept")])

    def explode(value: Exploding) -> str:
        raise error("cannot adapt")

    sqlite3.register_adapter(Exploding, explode)
    try:
        with pytest.raises(error):
            await store.append_messages("s", [msg("fine"), msg(Exploding("boom"))])
    finally:
        del sqlite3.adapters[(Exploding, sqlite3.PrepareProtocol)]
    # Another process is not told "database is locked"...
    other = SqliteSessionStorage(db, busy_timeout=0.5)
    await other.append_messages("s", [msg("from another process")])
    await other.close()
    # ...and this one's next turn is not "cannot start a transaction within a transaction".
    await store.append_messages("s", [msg("next turn")])
    assert await contents(store) == ["kept", "from another process", "next turn"]
    info = await store.get_session_info("s")
    assert info is not None and info.message_count == 3
    await store.close()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def not_a_database(path: Path) -> None:
    path.write_bytes(b"this is not an SQLite database\n" * 200)


def newer_schema(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()


@pytest.mark.parametrize("spoil", [not_a_database, newer_schema])
async def test_200_failed_opens_leak_no_file_descriptor(
    tmp_path: Path, spoil: Callable[[Path], None]
) -> None:
    db = tmp_path / "s.db"
    spoil(db)
    store = SqliteSessionStorage(db)
    with pytest.raises(SessionStorageError, match="Cannot open") as info:
        await store.initialize()  # once first, so lazily created resources are counted
    assert info.value.operation == "open"
    before = open_fds()
    for _ in range(200):
        with pytest.raises(SessionStorageError, match="Cannot open"):
            await store.list_sessions()
    assert open_fds() == before


# -- read-only files and folders ------------------------------------------


def _unwritable(path: Path) -> bool:
    try:
        if path.is_dir():
            (path / ".probe").touch()
            (path / ".probe").unlink()
        else:
            path.open("ab").close()
    except PermissionError:
        return True
    return False


@contextmanager
def read_only(*paths: Path) -> Iterator[None]:
    """Make files and folders really unwritable: chmod, or ``chattr +i`` for root."""
    if os.geteuid() == 0:  # root writes through permissions: make them immutable
        chattr = shutil.which("chattr")
        assert chattr, "running as root, these tests need chattr (e2fsprogs)"
        subprocess.run([chattr, "+i", *map(str, paths)], check=True)

        def undo() -> None:
            subprocess.run([chattr, "-i", *map(str, paths)], check=True)

    else:
        modes = {p: p.stat().st_mode for p in paths}
        for p in paths:
            p.chmod(modes[p] & ~0o222)

        def undo() -> None:
            for p, mode in modes.items():
                p.chmod(mode)

    try:
        assert all(_unwritable(p) for p in paths)
        yield
    finally:
        undo()


async def fill(db: Path) -> None:
    store = SqliteSessionStorage(db)
    await store.ensure_session("s", name="Mine", metadata={"k": 1})
    await store.append_messages("s", [msg("be brief", Role.SYSTEM), msg("q0")])
    await store.append_messages("s", [msg("a0", Role.ASSISTANT), msg("q1")])
    await store.append_messages("t", [msg("other")])
    await store.close()


@pytest.fixture
async def db(tmp_path: Path) -> Path:
    """A database with two sessions, closed, in a folder of its own."""
    folder = tmp_path / "data"
    folder.mkdir()
    await fill(folder / "s.db")
    return folder / "s.db"


async def assert_readable(store: SqliteSessionStorage) -> None:
    assert [i.id for i in await store.list_sessions()] == ["t", "s"]
    assert await contents(store) == ["be brief", "q0", "a0", "q1"]
    page = await store.read_recent("s", limit=2)
    assert [m.content for m in page.messages] == ["a0", "q1"]
    older = await store.read_recent("s", limit=5, before=page.next_before)
    assert [m.content for m in older.messages] == ["be brief", "q0"]
    assert [m.content for m in await store.read_system_messages("s")] == ["be brief"]
    info = await store.get_session_info("s")
    assert info is not None and (info.name, info.metadata, info.message_count) == (
        "Mine",
        {"k": 1},
        4,
    )
    info, created = await store.ensure_session("s")  # exists: nothing to write
    assert not created and info.name == "Mine"


async def assert_writes_refused(store: SqliteSessionStorage, db: Path) -> None:
    writes = {
        "append_messages": lambda: store.append_messages("s", [msg("lost")]),
        "ensure_session": lambda: store.ensure_session("new"),
        "update_session": lambda: store.update_session("s", name="renamed"),
        "delete_session": lambda: store.delete_session("t"),
    }
    for operation, write in writes.items():
        with pytest.raises(SessionStorageError, match="is read-only") as info:
            await write()
        assert (info.value.backend, info.value.operation) == ("sqlite", operation)
        assert str(db) in str(info.value) and "storage.session.path" in str(info.value)


@pytest.mark.parametrize("what", ["file", "folder", "both"])
async def test_a_read_only_database_can_be_read_and_refuses_writes_clearly(
    db: Path, what: str
) -> None:
    folder = db.parent
    assert sorted(p.name for p in folder.iterdir()) == ["s.db"]  # WAL files gone on close
    store = SqliteSessionStorage(db)
    with read_only(*{"file": [db], "folder": [folder], "both": [db, folder]}[what]):
        await assert_readable(store)
        await assert_writes_refused(store, db)
        await assert_readable(store)  # nothing changed, and reads still work
    # Writable again: the same store writes without being reopened by hand.
    await store.append_messages("s", [msg("a1", Role.ASSISTANT)])
    assert (await contents(store))[-1] == "a1"
    await store.close()


async def crashed_writer(db: Path, keep: tuple[str, ...] = ("-wal", "-shm")) -> None:
    """Leave ``db`` as a writer killed with changes in its WAL leaves it (no checkpoint)."""
    writer = SqliteSessionStorage(db)
    await writer.append_messages("s", [msg("a1", Role.ASSISTANT)])  # only in s.db-wal so far
    names = [db.name] + [db.name + suffix for suffix in keep]
    assert all((db.parent / name).exists() for name in names)
    for name in names:  # what is on disk at the moment of the crash
        shutil.copy(db.parent / name, db.parent / f"{name}.crash")
    await writer.close()  # (checkpoints and removes the WAL files)
    for name in names:
        os.replace(db.parent / f"{name}.crash", db.parent / name)
    assert (db.parent / f"{db.name}-wal").stat().st_size > 0


async def test_a_read_only_database_with_changes_in_its_wal_is_read_with_them(
    db: Path,
) -> None:
    folder = db.parent
    await crashed_writer(db)
    wal, shm = (db.with_name(db.name + suffix) for suffix in ("-wal", "-shm"))
    with read_only(db, wal, shm, folder):
        reader = SqliteSessionStorage(db)
        assert (await contents(reader))[-1] == "a1"
        await assert_writes_refused(reader, db)
        await reader.close()


async def test_wal_changes_that_a_read_only_folder_cannot_read_are_a_clear_error(
    db: Path,
) -> None:
    folder = db.parent
    await crashed_writer(db, keep=("-wal",))  # e.g. a backup that copied s.db and s.db-wal
    with read_only(folder):
        store = SqliteSessionStorage(db)
        with pytest.raises(SessionStorageError, match=r"s\.db-wal holds changes") as info:
            await store.list_sessions()
        assert info.value.operation == "open"
    store = SqliteSessionStorage(db)  # a writable folder reads them
    assert (await contents(store))[-1] == "a1"
    await store.close()


async def test_a_read_only_old_database_is_read_without_migrating_it(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    write_v1(db)
    with read_only(db):
        store = SqliteSessionStorage(db)
        session = await store.get_session("old")
        assert session is not None
        assert [m.id for m in session.messages] == [row[0] for row in V1_ROWS]
        with pytest.raises(SessionStorageError, match="is read-only"):
            await store.append_messages("old", [msg("lost")])
        await store.close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.close()
