"""SQLite session store.

One database file, WAL mode (readers never block the writer), a busy
timeout so concurrent processes wait for each other instead of failing, and
``BEGIN IMMEDIATE`` for writes so two writers never interleave; a write that
fails for any reason is rolled back, so the write lock is never left held.
The schema carries a version number (``PRAGMA user_version``) and is
migrated in place. A file this process cannot write (read-only file or
folder) is opened read-only: reads work, writes raise a clear error.
sqlite3 is blocking, so every call runs in a worker thread, one at a time
per store.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
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
    check_messages,
    check_metadata,
    check_session_id,
    encode_metadata,
)
from llmcore.storage.sessions.parts_codec import blob_refs, decode_parts, encode_parts
from llmcore.storage.sessions.sqlite_open import (
    MIGRATIONS,
    SCHEMA_VERSION,
    error_name,
    message_columns,
    open_database,
)

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SqliteSessionStorage"]

T = TypeVar("T")


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
        self._read_only: str | None = None  # why the file was opened read-only
        self._version = SCHEMA_VERSION  # an older one only when opened read-only
        self._lock = threading.Lock()

    # -- plumbing ---------------------------------------------------------

    async def _run(self, operation: str, fn: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            with self._lock:
                try:
                    return self._call(operation, fn)
                except sqlite3.Error as exc:
                    if not error_name(exc).startswith("SQLITE_READONLY"):
                        raise self._error(operation, exc) from exc
                    # Opened while the file was read-only; it may be writable now.
                    try:
                        return self._call(operation, fn)
                    except sqlite3.Error as again:
                        raise self._error(operation, again) from again
                finally:
                    if self._read_only is not None:
                        self._disconnect()  # look again next time: it may be writable then

        return await anyio.to_thread.run_sync(call)

    def _call(self, operation: str, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._conn or self._open()
        try:
            return fn(conn)
        except BaseException as exc:
            # Whatever failed (sqlite, a bug, KeyboardInterrupt), never leave a
            # transaction open: it would hold the write lock for every process.
            self._end_transaction(conn)
            if error_name(exc).startswith("SQLITE_READONLY"):
                self._disconnect()
            raise

    def _end_transaction(self, conn: sqlite3.Connection) -> None:
        if not conn.in_transaction:
            return
        try:
            conn.rollback()
        except sqlite3.Error:
            self._disconnect()  # closing rolls back too

    def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _error(self, operation: str, exc: sqlite3.Error) -> SessionStorageError:
        if error_name(exc).startswith("SQLITE_READONLY"):
            return self._read_only_error(operation, str(exc))
        return SessionStorageError(
            f"SQLite session store {str(self.path)!r} failed to {operation}: {exc}",
            backend=self.backend,
            operation=operation,
        )

    def _read_only_error(self, operation: str, why: str) -> SessionStorageError:
        return SessionStorageError(
            f"SQLite session store {str(self.path)!r} is read-only ({why}): cannot "
            f"{operation}. Make the file and its folder writable by this user, or set "
            "storage.session.path to a file that is.",
            backend=self.backend,
            operation=operation,
        )

    @contextmanager
    def _transaction(self, conn: sqlite3.Connection, operation: str) -> Iterator[None]:
        """A write transaction; :meth:`_run` rolls it back if anything raises."""
        if self._read_only is not None:
            raise self._read_only_error(operation, self._read_only)
        conn.execute("BEGIN IMMEDIATE")
        yield
        conn.execute("COMMIT")

    def _open(self) -> sqlite3.Connection:
        try:
            db = open_database(self.path, self.busy_timeout)
        except (sqlite3.Error, OSError) as exc:
            raise SessionStorageError(
                f"Cannot open the SQLite session store {str(self.path)!r}: {exc}. Check "
                "storage.session.path and that the folder is writable.",
                backend=self.backend,
                operation="open",
            ) from exc
        self._conn, self._read_only, self._version = db.conn, db.read_only, db.version
        return db.conn

    async def initialize(self) -> None:
        """Open the database and bring its schema up to date."""
        await self._run("open", lambda conn: None)

    async def close(self) -> None:
        """Close the database connection."""

        def close() -> None:
            with self._lock:
                self._disconnect()

        await anyio.to_thread.run_sync(close)

    # -- writes -----------------------------------------------------------

    @staticmethod
    def _insert_session(
        conn: sqlite3.Connection, session_id: str, name: str | None, metadata: bytes = b"{}"
    ) -> bool:
        now = _ts(utcnow())
        cur = conn.execute(
            "INSERT INTO sessions (id, name, created_at, updated_at, metadata) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING",
            (session_id, name, now, now, metadata),
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
        meta = encode_metadata(metadata, backend=self.backend, session_id=session_id)

        def work(conn: sqlite3.Connection) -> tuple[SessionInfo, bool]:
            row = conn.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
            if row is not None:
                return _session_info(row), False
            with self._transaction(conn, "ensure_session"):
                created = self._insert_session(conn, session_id, name, meta)
            row = conn.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
            return _session_info(row), created

        return await self._run("ensure_session", work)

    async def append_messages(self, session_id: str, messages: Sequence[Message]) -> None:
        """Append messages in one transaction; a message id stored already is skipped."""
        await self.append_turn(session_id, messages)

    async def append_turn(
        self,
        session_id: str,
        messages: Sequence[Message],
        *,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Append messages and merge ``metadata`` into the session, in one transaction."""
        check_session_id(session_id, backend=self.backend)
        batch = check_messages(session_id, messages, backend=self.backend)
        meta = check_metadata(metadata, backend=self.backend, session_id=session_id)
        if not batch and not meta:
            return
        rows = []
        blobs: dict[str, bytes] = {}
        for m in batch:
            parts, found = encode_parts(m)
            blobs.update(found)
            rows.append(
                (
                    m.id,
                    session_id,
                    m.role.value,
                    m.content,
                    _ts(m.timestamp),
                    m.tokens,
                    m.tokens_by,
                    _encode(m.metadata),  # checked by check_messages: encoded once, here
                    parts,
                )
            )

        def work(conn: sqlite3.Connection) -> None:
            with self._transaction(conn, "append_messages"):
                self._insert_session(conn, session_id, None)
                if blobs:
                    conn.executemany(
                        "INSERT INTO blobs (session_id, hash, data) VALUES (?, ?, ?) "
                        "ON CONFLICT DO NOTHING",
                        [(session_id, sha, data) for sha, data in blobs.items()],
                    )
                added = 0
                for row in rows:
                    cur = conn.execute(
                        "INSERT INTO messages (id, session_id, role, content, timestamp, "
                        "tokens, tokens_by, metadata, parts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                        "ON CONFLICT(session_id, id) DO NOTHING",
                        row,
                    )
                    added += cur.rowcount
                conn.execute(
                    "UPDATE sessions SET message_count = message_count + ?, updated_at = ? "
                    "WHERE id = ?",
                    (added, _ts(utcnow()), session_id),
                )
                if meta:
                    self._merge_metadata(conn, session_id, meta)

        await self._run("append_messages", work)

    @staticmethod
    def _merge_metadata(conn: sqlite3.Connection, session_id: str, meta: dict[str, Any]) -> bool:
        row = conn.execute("SELECT metadata FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            return False
        conn.execute(
            "UPDATE sessions SET metadata = ?, updated_at = ? WHERE id = ?",
            (_encode({**_decode_dict(row[0]), **meta}), _ts(utcnow()), session_id),
        )
        return True

    async def update_session(
        self,
        session_id: str,
        *,
        name: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> bool:
        """Rename a session and/or merge keys into its metadata."""
        check_session_id(session_id, backend=self.backend)
        meta = check_metadata(metadata, backend=self.backend, session_id=session_id)

        def work(conn: sqlite3.Connection) -> bool:
            with self._transaction(conn, "update_session"):
                if not self._merge_metadata(conn, session_id, meta):
                    return False
                if name is not None:
                    conn.execute("UPDATE sessions SET name = ? WHERE id = ?", (name, session_id))
            return True

        return await self._run("update_session", work)

    async def delete_session(self, session_id: str) -> bool:
        """Delete a session and its messages."""
        check_session_id(session_id, backend=self.backend)

        def work(conn: sqlite3.Connection) -> bool:
            with self._transaction(conn, "delete_session"):
                conn.execute("DELETE FROM messages WHERE session_id = ?", (session_id,))
                conn.execute("DELETE FROM blobs WHERE session_id = ?", (session_id,))
                cur = conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
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
                f"SELECT {message_columns(self._version)} FROM messages WHERE session_id = ? "
                "AND seq < ? ORDER BY seq DESC LIMIT ?",
                (session_id, before if before is not None else 2**62, limit),
            ).fetchall()
            rows.reverse()
            next_before = rows[0][0] if len(rows) == limit else None
            return MessagePage(self._messages(conn, session_id, rows), next_before)

        return await self._run("read_recent", work)

    async def read_system_messages(self, session_id: str) -> list[Message]:
        """Read the session's system messages, oldest first."""
        check_session_id(session_id, backend=self.backend)

        def work(conn: sqlite3.Connection) -> list[Message]:
            rows = conn.execute(
                f"SELECT {message_columns(self._version)} FROM messages WHERE session_id = ? "
                "AND role = 'system' ORDER BY seq",
                (session_id,),
            ).fetchall()
            return self._messages(conn, session_id, rows)

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
                f"SELECT {message_columns(self._version)} FROM messages WHERE session_id = ? "
                "ORDER BY seq",
                (session_id,),
            ).fetchall()
            info = _session_info(row)
            return ChatSession(
                id=info.id,
                name=info.name,
                messages=self._messages(conn, session_id, rows),
                created_at=info.created_at,
                updated_at=info.updated_at,
                metadata=info.metadata,
            )

        return await self._run("get_session", work)

    @staticmethod
    def _messages(
        conn: sqlite3.Connection, session_id: str, rows: list[tuple[Any, ...]]
    ) -> list[Message]:
        """The messages of ``rows``, their binary parts read in one query."""
        wanted = set().union(*(blob_refs(r[9]) for r in rows)) if rows else set()
        blobs: dict[str, bytes] = {}
        if wanted:
            marks = ", ".join("?" * len(wanted))
            blobs = dict(
                conn.execute(
                    f"SELECT hash, data FROM blobs WHERE session_id = ? AND hash IN ({marks})",
                    (session_id, *wanted),
                ).fetchall()
            )
        return [_message(r, blobs) for r in rows]

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


def _message(row: tuple[Any, ...], blobs: dict[str, bytes]) -> Message:
    return Message(
        id=row[1],
        session_id=row[2],
        role=Role(row[3]),
        content=row[4],
        parts=decode_parts(row[9], blobs, where=f"Message {row[1]!r} of session {row[2]!r}"),
        timestamp=datetime.fromisoformat(row[5]),
        tokens=row[6],
        tokens_by=row[7],
        metadata=_decode_dict(row[8]),
    )
