"""SQLite session store.

One database file, WAL mode (readers never block the writer), a busy
timeout so concurrent processes wait for each other instead of failing, and
``BEGIN IMMEDIATE`` for writes so two writers never interleave. The schema
carries a version number (``PRAGMA user_version``) and is migrated in place.
sqlite3 is blocking, so every call runs in a worker thread, one at a time
per store.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
import msgspec

from llmcore.exceptions import SessionStorageError
from llmcore.models import ChatSession, Message, Role, SessionInfo, utcnow
from llmcore.storage.sessions.base import (
    BaseSessionStorage,
    MessagePage,
    check_limit,
    check_session_id,
)

__all__ = ["SCHEMA_VERSION", "SqliteSessionStorage"]

T = TypeVar("T")

# Each entry upgrades the schema from version N-1 to N.
MIGRATIONS: dict[int, list[str]] = {
    1: [
        """CREATE TABLE IF NOT EXISTS sessions (
            id TEXT PRIMARY KEY,
            name TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            message_count INTEGER NOT NULL DEFAULT 0,
            metadata TEXT NOT NULL DEFAULT '{}'
        )""",
        """CREATE TABLE IF NOT EXISTS messages (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            role TEXT NOT NULL,
            content TEXT NOT NULL,
            timestamp TEXT NOT NULL,
            tokens INTEGER,
            tokens_by TEXT,
            metadata TEXT NOT NULL DEFAULT '{}'
        )""",
        "CREATE INDEX IF NOT EXISTS messages_by_session ON messages(session_id, seq)",
        "CREATE INDEX IF NOT EXISTS sessions_by_update ON sessions(updated_at)",
        """CREATE INDEX IF NOT EXISTS system_messages ON messages(session_id, seq)
           WHERE role = 'system'""",
    ],
    # v2: a message id is unique within its session, not across the database,
    # so a session copied or imported under another id keeps its messages
    # (v1 silently skipped them as duplicates); and listing newest first is
    # served by an index in the order it reads.
    2: [
        """CREATE TABLE messages_v2 (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL,
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            role TEXT NOT NULL,
            content TEXT NOT NULL,
            timestamp TEXT NOT NULL,
            tokens INTEGER,
            tokens_by TEXT,
            metadata TEXT NOT NULL DEFAULT '{}',
            UNIQUE (session_id, id)
        )""",
        "INSERT INTO messages_v2 SELECT * FROM messages ORDER BY seq",
        "DROP TABLE messages",
        "ALTER TABLE messages_v2 RENAME TO messages",
        "CREATE INDEX messages_by_session ON messages(session_id, seq)",
        """CREATE INDEX system_messages ON messages(session_id, seq)
           WHERE role = 'system'""",
        "DROP INDEX IF EXISTS sessions_by_update",
        "CREATE INDEX sessions_by_recency ON sessions(updated_at DESC, id)",
    ],
}
SCHEMA_VERSION = max(MIGRATIONS)

_MESSAGE_COLUMNS = "seq, id, session_id, role, content, timestamp, tokens, tokens_by, metadata"
_SESSION_COLUMNS = "id, name, created_at, updated_at, message_count, metadata"
_encode = msgspec.json.encode
_decode_dict = msgspec.json.Decoder(dict[str, Any]).decode


class SqliteSessionStorage(BaseSessionStorage):
    """Sessions in one SQLite file (``[storage.session] path``).

    Args:
        path: the database file; ``~`` is expanded and parent folders are
            created. ``":memory:"`` keeps everything in memory.
        busy_timeout: seconds to wait for another process's write lock.
    """

    backend = "sqlite"

    def __init__(self, path: str | Path, *, busy_timeout: float = 10.0):
        self.path = path if path == ":memory:" else Path(path).expanduser()
        self.busy_timeout = busy_timeout
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    # -- plumbing ---------------------------------------------------------

    async def _run(self, operation: str, fn: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            with self._lock:
                conn = self._conn or self._open()
                try:
                    return fn(conn)
                except sqlite3.Error as exc:
                    if conn.in_transaction:
                        conn.rollback()
                    raise SessionStorageError(
                        f"SQLite session store {str(self.path)!r} failed to {operation}: {exc}",
                        backend=self.backend,
                        operation=operation,
                    ) from exc

        return await anyio.to_thread.run_sync(call)

    def _open(self) -> sqlite3.Connection:
        try:
            if isinstance(self.path, Path):
                self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout,
                check_same_thread=False,
                isolation_level=None,  # explicit BEGIN/COMMIT below
            )
            self._enable_wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._migrate(conn)
        except (sqlite3.Error, OSError) as exc:
            raise SessionStorageError(
                f"Cannot open the SQLite session store {str(self.path)!r}: {exc}. Check "
                "storage.session.path and that the folder is writable.",
                backend=self.backend,
                operation="open",
            ) from exc
        self._conn = conn
        return conn

    def _enable_wal(self, conn: sqlite3.Connection) -> None:
        # Switching a database to WAL needs it to itself, and SQLite answers
        # "locked" at once instead of calling the busy handler: wait here.
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> None:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"the database has schema version {version}, newer than this llmcore "
                f"understands ({SCHEMA_VERSION}); upgrade llmcore"
            )
        if version == SCHEMA_VERSION:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            (version,) = conn.execute("PRAGMA user_version").fetchone()
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[target]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {int(target)}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    async def initialize(self) -> None:
        """Open the database and bring its schema up to date."""
        await self._run("open", lambda conn: None)

    async def close(self) -> None:
        """Close the database connection."""

        def close() -> None:
            with self._lock:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None

        await anyio.to_thread.run_sync(close)

    # -- writes -----------------------------------------------------------

    @staticmethod
    def _insert_session(
        conn: sqlite3.Connection, session_id: str, name: str | None, metadata: dict[str, Any]
    ) -> bool:
        now = _ts(utcnow())
        cur = conn.execute(
            "INSERT INTO sessions (id, name, created_at, updated_at, metadata) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING",
            (session_id, name, now, now, _encode(metadata)),
        )
        return cur.rowcount > 0

    async def ensure_session(
        self,
        session_id: str,
        *,
        name: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> tuple[SessionInfo, bool]:
        """Return the session's header, creating the session if absent."""
        check_session_id(session_id, backend=self.backend)

        def work(conn: sqlite3.Connection) -> tuple[SessionInfo, bool]:
            row = conn.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
            if row is not None:
                return _session_info(row), False
            conn.execute("BEGIN IMMEDIATE")
            created = self._insert_session(conn, session_id, name, metadata or {})
            conn.execute("COMMIT")
            row = conn.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
            return _session_info(row), created

        return await self._run("ensure_session", work)

    async def append_messages(self, session_id: str, messages: Sequence[Message]) -> None:
        """Append messages in one transaction; a message id stored already is skipped."""
        check_session_id(session_id, backend=self.backend)
        if not messages:
            return
        rows = [
            (
                m.id,
                session_id,
                m.role.value,
                m.content,
                _ts(m.timestamp),
                m.tokens,
                m.tokens_by,
                _encode(m.metadata),
            )
            for m in messages
        ]

        def work(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            self._insert_session(conn, session_id, None, {})
            added = 0
            for row in rows:
                cur = conn.execute(
                    "INSERT INTO messages (id, session_id, role, content, timestamp, tokens, "
                    "tokens_by, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT(session_id, id) DO NOTHING",
                    row,
                )
                added += cur.rowcount
            conn.execute(
                "UPDATE sessions SET message_count = message_count + ?, updated_at = ? "
                "WHERE id = ?",
                (added, _ts(utcnow()), session_id),
            )
            conn.execute("COMMIT")

        await self._run("append_messages", work)

    async def update_session(
        self,
        session_id: str,
        *,
        name: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> bool:
        """Rename a session and/or merge keys into its metadata."""
        check_session_id(session_id, backend=self.backend)

        def work(conn: sqlite3.Connection) -> bool:
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute(
                "SELECT metadata FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
            if row is None:
                conn.execute("ROLLBACK")
                return False
            merged = {**_decode_dict(row[0]), **(metadata or {})}
            conn.execute(
                "UPDATE sessions SET name = COALESCE(?, name), metadata = ?, updated_at = ? "
                "WHERE id = ?",
                (name, _encode(merged), _ts(utcnow()), session_id),
            )
            conn.execute("COMMIT")
            return True

        return await self._run("update_session", work)

    async def delete_session(self, session_id: str) -> bool:
        """Delete a session and its messages."""
        check_session_id(session_id, backend=self.backend)

        def work(conn: sqlite3.Connection) -> bool:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("DELETE FROM messages WHERE session_id = ?", (session_id,))
            cur = conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
            conn.execute("COMMIT")
            return cur.rowcount > 0

        return await self._run("delete_session", work)

    # -- reads ------------------------------------------------------------

    async def read_recent(
        self, session_id: str, *, limit: int, before: int | None = None
    ) -> MessagePage:
        """Read up to ``limit`` of the newest messages older than ``before``."""
        check_session_id(session_id, backend=self.backend)
        check_limit(limit, backend=self.backend)

        def work(conn: sqlite3.Connection) -> MessagePage:
            rows = conn.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE session_id = ? AND seq < ? "
                "ORDER BY seq DESC LIMIT ?",
                (session_id, before if before is not None else 2**62, limit),
            ).fetchall()
            rows.reverse()
            next_before = rows[0][0] if len(rows) == limit else None
            return MessagePage([_message(r) for r in rows], next_before)

        return await self._run("read_recent", work)

    async def read_system_messages(self, session_id: str) -> list[Message]:
        """Read the session's system messages, oldest first."""
        check_session_id(session_id, backend=self.backend)

        def work(conn: sqlite3.Connection) -> list[Message]:
            rows = conn.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE session_id = ? "
                "AND role = 'system' ORDER BY seq",
                (session_id,),
            ).fetchall()
            return [_message(r) for r in rows]

        return await self._run("read_system_messages", work)

    async def get_session(self, session_id: str) -> ChatSession | None:
        """Load a whole session with its messages."""
        check_session_id(session_id, backend=self.backend)

        def work(conn: sqlite3.Connection) -> ChatSession | None:
            row = conn.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
            if row is None:
                return None
            rows = conn.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE session_id = ? ORDER BY seq",
                (session_id,),
            ).fetchall()
            info = _session_info(row)
            return ChatSession(
                id=info.id,
                name=info.name,
                messages=[_message(r) for r in rows],
                created_at=info.created_at,
                updated_at=info.updated_at,
                metadata=info.metadata,
            )

        return await self._run("get_session", work)

    async def get_session_info(self, session_id: str) -> SessionInfo | None:
        """Load a session's header."""
        check_session_id(session_id, backend=self.backend)

        def work(conn: sqlite3.Connection) -> SessionInfo | None:
            row = conn.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
            return None if row is None else _session_info(row)

        return await self._run("get_session_info", work)

    async def list_sessions(
        self, *, limit: int | None = None, offset: int = 0
    ) -> list[SessionInfo]:
        """List session headers, most recently updated first."""

        def work(conn: sqlite3.Connection) -> list[SessionInfo]:
            rows = conn.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions ORDER BY updated_at DESC, id "
                "LIMIT ? OFFSET ?",
                (-1 if limit is None else limit, offset),
            ).fetchall()
            return [_session_info(r) for r in rows]

        return await self._run("list_sessions", work)


def _ts(moment: datetime) -> str:
    """A fixed-width UTC timestamp, so text order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _session_info(row: tuple[Any, ...]) -> SessionInfo:
    return SessionInfo(
        id=row[0],
        name=row[1],
        created_at=datetime.fromisoformat(row[2]),
        updated_at=datetime.fromisoformat(row[3]),
        message_count=row[4],
        metadata=_decode_dict(row[5]),
    )


def _message(row: tuple[Any, ...]) -> Message:
    return Message(
        id=row[1],
        session_id=row[2],
        role=Role(row[3]),
        content=row[4],
        timestamp=datetime.fromisoformat(row[5]),
        tokens=row[6],
        tokens_by=row[7],
        metadata=_decode_dict(row[8]),
    )
