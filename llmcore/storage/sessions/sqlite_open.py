"""Opening the SQLite session database: read-write (WAL, migrated) or read-only.

A file this process can write is opened in WAL mode and its schema migrated
in place (``PRAGMA user_version``). A file it cannot write (a read-only file,
or one in a read-only folder) is opened read-only (``mode=ro``) without
migrating: every schema version is read by the same queries. WAL mode keeps
its shared memory in a ``-shm`` file beside the database, which a read-only
folder cannot hold; such a database is read with ``immutable=1`` when no
``-wal`` file holds changes the database does not have yet.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import msgspec

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Database",
    "error_name",
    "message_columns",
    "open_database",
]

# Each entry upgrades the schema from version N-1 to N: SQL, or a function of
# the connection for a step SQL cannot express.
Step = str | Callable[[sqlite3.Connection], None]
MIGRATIONS: dict[int, list[Step]] = {
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
    # v3: messages carry typed parts (NULL for plain text, whose content is the
    # whole message); binary parts are kept once per session and hash; tool
    # calls and results stored in metadata by v2 move into parts.
    3: [
        "ALTER TABLE messages ADD COLUMN parts TEXT",
        """CREATE TABLE blobs (
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            hash TEXT NOT NULL,
            data BLOB NOT NULL,
            PRIMARY KEY (session_id, hash)
        ) WITHOUT ROWID""",
        lambda conn: _tool_metadata_to_parts(conn),
    ],
}
SCHEMA_VERSION = max(MIGRATIONS)


@dataclass(slots=True)
class Database:
    """An open database connection, and how it was opened."""

    conn: sqlite3.Connection
    #: The schema version (older than the current one only when read-only).
    version: int = SCHEMA_VERSION
    #: Why the file was opened read-only (the read-write attempt's error), or
    #: None. Reopen such a database for each use: it may be writable then, and
    #: ``immutable=1`` assumes that nobody writes it meanwhile.
    read_only: str | None = None
    immutable: bool = False


def error_name(exc: BaseException) -> str:
    """SQLite's name of the error (``SQLITE_READONLY``...), or ``""``."""
    return getattr(exc, "sqlite_errorname", None) or ""


def open_database(path: str | Path, busy_timeout: float) -> Database:
    """Open the database read-write, else (if it exists) read-only.

    Raises:
        sqlite3.Error: it cannot be opened, or its schema is newer than this
            llmcore's.
        OSError: its folder cannot be created.
    """
    if isinstance(path, Path):
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = _connect(path, busy_timeout)
        try:
            _enable_wal(conn, busy_timeout)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            _migrate(conn)
        except BaseException:
            conn.close()  # a failed open must not leak the connection
            raise
    except sqlite3.Error as exc:
        cannot_write = error_name(exc).startswith(
            ("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM")
        )
        if not (cannot_write and isinstance(path, Path) and path.is_file()):
            raise
        return _open_read_only(path, busy_timeout, exc)
    return Database(conn)  # migrated: the current version


def _connect(target: str | Path, busy_timeout: float, *, uri: bool = False) -> sqlite3.Connection:
    return sqlite3.connect(
        target,
        timeout=busy_timeout,
        check_same_thread=False,
        isolation_level=None,  # the store issues BEGIN/COMMIT itself
        uri=uri,
    )


def _open_read_only(path: Path, busy_timeout: float, cause: sqlite3.Error) -> Database:
    uri = f"{path.absolute().as_uri()}?mode=ro"
    try:
        conn = _connect_read_only(uri, busy_timeout)
        return Database(conn, _version(conn), read_only=str(cause))
    except sqlite3.Error as exc:
        if not error_name(exc).startswith("SQLITE_CANTOPEN"):
            raise
        wal = path.with_name(path.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise sqlite3.OperationalError(
                f"{exc} read-only: its {wal.name} holds changes not yet in the database, and "
                "reading them needs a -shm file the folder cannot hold; make the folder "
                "writable"
            ) from exc
    conn = _connect_read_only(uri + "&immutable=1", busy_timeout)
    return Database(conn, _version(conn), read_only=str(cause), immutable=True)


def _connect_read_only(uri: str, busy_timeout: float) -> sqlite3.Connection:
    conn = _connect(uri, busy_timeout, uri=True)
    try:
        _check_version(_version(conn))  # an older one needs no migration to be read
    except BaseException:
        conn.close()
        raise
    return conn


def _version(conn: sqlite3.Connection) -> int:
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    return int(version)


def message_columns(version: int) -> str:
    """The message columns to select from a database of schema ``version``."""
    parts = "parts" if version >= 3 else "NULL"
    return f"seq, id, session_id, role, content, timestamp, tokens, tokens_by, metadata, {parts}"


def _tool_metadata_to_parts(conn: sqlite3.Connection) -> None:
    """v3: the tool calls and results v2 kept in metadata become parts."""
    from llmcore.models import Message, Role
    from llmcore.storage.sessions.parts_codec import encode_parts

    rows = conn.execute(
        "SELECT seq, role, content, metadata FROM messages WHERE role IN ('assistant', 'tool') "
        "AND (metadata LIKE '%\"tool_calls\"%' OR metadata LIKE '%\"tool_call_id\"%')"
    ).fetchall()
    for seq, role, content, metadata in rows:
        message = Message(role=Role(role), content=content, metadata=msgspec.json.decode(metadata))
        parts, _ = encode_parts(message)
        conn.execute(
            "UPDATE messages SET parts = ?, metadata = ? WHERE seq = ?",
            (parts, msgspec.json.encode(message.metadata), seq),
        )


def _enable_wal(conn: sqlite3.Connection, busy_timeout: float) -> None:
    # Switching a database to WAL needs it to itself, and SQLite answers
    # "locked" at once instead of calling the busy handler: wait here.
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _migrate(conn: sqlite3.Connection) -> None:
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    _check_version(version)
    if version == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        for target in range(version + 1, SCHEMA_VERSION + 1):
            for step in MIGRATIONS[target]:
                if callable(step):
                    step(conn)
                else:
                    conn.execute(step)
            conn.execute(f"PRAGMA user_version = {int(target)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _check_version(version: int) -> None:
    if version > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(
            f"the database has schema version {version}, newer than this llmcore "
            f"understands ({SCHEMA_VERSION}); upgrade llmcore"
        )
