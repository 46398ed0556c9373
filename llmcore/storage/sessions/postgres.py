"""PostgreSQL session store on psycopg 3 with a connection pool.

Tables are ``<table_name>_sessions``, ``<table_name>_messages`` and
``<table_name>_schema`` (the schema version). They are created (and later
migrated) on first use, under a transaction-scoped advisory lock, so many
processes starting at once do not race. An append locks its session's row
first, so concurrent appends to one session, from any process, are
serialised: each keeps its messages together and in order.

psycopg's async connections only run on asyncio; under trio the same SQL runs
on psycopg's (blocking) pool in worker threads: :class:`~llmcore.storage._pg.PgPool`
hides which, for this store and for pgvector.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import msgspec

from llmcore.config.schema import redact_url
from llmcore.exceptions import SessionStorageError
from llmcore.models import ChatSession, Message, Role, SessionInfo
from llmcore.storage._pg import PgConnectError, PgPool, PgTx, check_table_prefix
from llmcore.storage.sessions.base import (
    BaseSessionStorage,
    MessagePage,
    check_limit,
    check_messages,
    check_session_id,
    encode_metadata,
)
from llmcore.storage.sessions.parts_codec import blob_refs, decode_parts, encode_parts

if TYPE_CHECKING:
    from psycopg import sql

__all__ = ["SCHEMA_VERSION", "PostgresSessionStorage"]


# Each entry upgrades the schema from version N-1 to N. {s}, {m} and {i_*} are
# identifiers derived from the validated table_name.
MIGRATIONS: dict[int, list[str]] = {
    1: [
        """CREATE TABLE IF NOT EXISTS {s} (
            id TEXT PRIMARY KEY,
            name TEXT,
            created_at TIMESTAMPTZ NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL,
            message_count BIGINT NOT NULL DEFAULT 0,
            metadata JSONB NOT NULL DEFAULT '{{}}'
        )""",
        "CREATE INDEX IF NOT EXISTS {i_recency} ON {s} (updated_at DESC, id)",
        """CREATE TABLE IF NOT EXISTS {m} (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES {s}(id) ON DELETE CASCADE,
            id TEXT NOT NULL,
            role TEXT NOT NULL,
            content TEXT NOT NULL,
            timestamp TIMESTAMPTZ NOT NULL,
            tokens INTEGER,
            tokens_by TEXT,
            metadata JSONB NOT NULL DEFAULT '{{}}',
            UNIQUE (session_id, id)
        )""",
        "CREATE INDEX IF NOT EXISTS {i_session} ON {m} (session_id, seq)",
        """CREATE INDEX IF NOT EXISTS {i_system} ON {m} (session_id, seq)
           WHERE role = 'system'""",
    ],
    # v2: messages carry typed parts (NULL for plain text, whose content is the
    # whole message), as JSON text; binary parts are kept once per session and
    # hash; tool calls and results stored in metadata by v1 move into parts.
    2: [
        "ALTER TABLE {m} ADD COLUMN parts TEXT",
        """CREATE TABLE {b} (
            session_id TEXT NOT NULL REFERENCES {s}(id) ON DELETE CASCADE,
            hash TEXT NOT NULL,
            data BYTEA NOT NULL,
            PRIMARY KEY (session_id, hash)
        )""",
        """UPDATE {m} SET
            parts = (
                CASE WHEN content <> '' THEN jsonb_build_array(
                    jsonb_build_object('type', 'text', 'text', content)) ELSE '[]'::jsonb END
                || COALESCE((SELECT jsonb_agg(jsonb_build_object(
                        'type', 'tool_call', 'id', c->>'id', 'name', c->>'name',
                        'arguments', COALESCE(c->'arguments', '{{}}'::jsonb)))
                    FROM jsonb_array_elements(metadata->'tool_calls') AS c), '[]'::jsonb)
            )::text,
            metadata = metadata - 'tool_calls'
        WHERE role = 'assistant' AND jsonb_typeof(metadata->'tool_calls') = 'array'""",
        """UPDATE {m} SET
            parts = jsonb_build_array(
                jsonb_build_object('type', 'tool_result', 'call_id', metadata->>'tool_call_id',
                                   'content', content)
                || CASE WHEN metadata->>'is_error' = 'true'
                        THEN jsonb_build_object('is_error', true) ELSE '{{}}'::jsonb END
                || CASE WHEN metadata ? 'name'
                        THEN jsonb_build_object('name', metadata->'name') ELSE '{{}}'::jsonb END
            )::text,
            metadata = metadata - 'tool_call_id' - 'name' - 'is_error'
        WHERE role = 'tool' AND metadata ? 'tool_call_id'""",
    ],
}
SCHEMA_VERSION = max(MIGRATIONS)

_SESSION_COLUMNS = "id, name, created_at, updated_at, message_count, metadata"
_MESSAGE_COLUMNS = "seq, id, role, content, timestamp, tokens, tokens_by, metadata, parts"
_encode = msgspec.json.encode


class PostgresSessionStorage(BaseSessionStorage):
    """Sessions in PostgreSQL (``[storage.session] db_url``).

    Args:
        db_url: a libpq URL or conninfo string.
        table_name: prefix of the tables (letters, digits, ``_``; at most 40).
        pool_size: the most connections the pool opens.
        timeout: seconds to wait for a connection.

    Raises:
        ConfigError: ``table_name`` is not a valid identifier.
    """

    backend = "postgres"

    def __init__(
        self, db_url: str, *, table_name: str = "llmcore", pool_size: int = 5, timeout: float = 10
    ):
        check_table_prefix(table_name, "storage.session.table_prefix")
        self.db_url = db_url
        self.table_name = table_name
        self.pool_size = pool_size
        self.timeout = timeout
        self._pool: PgPool | None = None
        self._open_lock = anyio.Lock()
        self._q: dict[str, sql.Composed] = {}

    def __repr__(self) -> str:
        return (
            f"PostgresSessionStorage({redact_url(self.db_url)!r}, table_name={self.table_name!r})"
        )

    # -- plumbing ---------------------------------------------------------

    def _error(self, operation: str, exc: BaseException) -> SessionStorageError:
        return SessionStorageError(
            f"PostgreSQL session store ({redact_url(self.db_url)}, tables "
            f"{self.table_name}_*) failed to {operation}: {exc}. Check storage.session.db_url "
            "and that the server is reachable.",
            backend=self.backend,
            operation=operation,
        )

    def _build_queries(self) -> None:
        from psycopg import sql

        names = {
            "s": sql.Identifier(f"{self.table_name}_sessions"),
            "m": sql.Identifier(f"{self.table_name}_messages"),
            "v": sql.Identifier(f"{self.table_name}_schema"),
            "b": sql.Identifier(f"{self.table_name}_blobs"),
            "i_recency": sql.Identifier(f"{self.table_name}_sessions_by_recency"),
            "i_session": sql.Identifier(f"{self.table_name}_messages_by_session"),
            "i_system": sql.Identifier(f"{self.table_name}_system_messages"),
        }
        q = {
            "lock": "SELECT pg_advisory_xact_lock(hashtext({name}))",
            "version_table": "CREATE TABLE IF NOT EXISTS {v} (version INTEGER NOT NULL)",
            "version": "SELECT max(version) FROM {v}",
            "set_version": "INSERT INTO {v} (version) VALUES (%s)",
            "session": f"SELECT {_SESSION_COLUMNS} FROM {{s}} WHERE id = %s",
            "create": f"INSERT INTO {{s}} (id, name, created_at, updated_at, metadata) "
            "VALUES (%s, %s, clock_timestamp(), clock_timestamp(), %s::jsonb) "
            f"ON CONFLICT (id) DO NOTHING RETURNING {_SESSION_COLUMNS}",
            # Upserting the row locks it: appends to one session run one at a time.
            "touch": "INSERT INTO {s} (id, created_at, updated_at) "
            "VALUES (%s, clock_timestamp(), clock_timestamp()) "
            "ON CONFLICT (id) DO UPDATE SET updated_at = clock_timestamp()",
            "append": "INSERT INTO {m} (session_id, id, role, content, timestamp, tokens, "
            "tokens_by, metadata, parts) SELECT %s, x.id, x.role, x.content, x.ts, x.tokens, "
            "x.tokens_by, x.metadata::jsonb, x.parts FROM unnest(%s::text[], %s::text[], "
            "%s::text[], %s::timestamptz[], %s::int[], %s::text[], %s::text[], %s::text[]) "
            "WITH ORDINALITY AS x(id, role, content, ts, tokens, tokens_by, metadata, parts, n) "
            "ORDER BY x.n ON CONFLICT (session_id, id) DO NOTHING",
            "blobs_in": "INSERT INTO {b} (session_id, hash, data) SELECT %s, x.hash, x.data "
            "FROM unnest(%s::text[], %s::bytea[]) AS x(hash, data) ON CONFLICT DO NOTHING",
            "blobs": "SELECT hash, data FROM {b} WHERE session_id = %s AND hash = ANY(%s)",
            "count": "UPDATE {s} SET message_count = message_count + %s, "
            "updated_at = clock_timestamp() WHERE id = %s",
            "update": "UPDATE {s} SET name = COALESCE(%s, name), metadata = metadata || "
            "%s::jsonb, updated_at = clock_timestamp() WHERE id = %s",
            "delete": "DELETE FROM {s} WHERE id = %s",
            "recent": f"SELECT {_MESSAGE_COLUMNS} FROM {{m}} WHERE session_id = %s "
            "AND seq < %s ORDER BY seq DESC LIMIT %s",
            "system": f"SELECT {_MESSAGE_COLUMNS} FROM {{m}} WHERE session_id = %s "
            "AND role = 'system' ORDER BY seq",
            "messages": f"SELECT {_MESSAGE_COLUMNS} FROM {{m}} WHERE session_id = %s ORDER BY seq",
            "list": f"SELECT {_SESSION_COLUMNS} FROM {{s}} ORDER BY updated_at DESC, id "
            "LIMIT %s OFFSET %s",
        }
        lock_key = sql.Literal(f"llmcore.sessions.{self.table_name}")
        self._q = {k: sql.SQL(v).format(**names, name=lock_key) for k, v in q.items()}
        for version, statements in MIGRATIONS.items():
            for i, statement in enumerate(statements):
                self._q[f"migrate{version}.{i}"] = sql.SQL(statement).format(**names)

    async def _open(self) -> None:
        async with self._open_lock:
            if self._pool is not None:
                return
            import psycopg
            import psycopg_pool

            self._build_queries()
            pool = PgPool(self.db_url, max_size=self.pool_size, timeout=self.timeout)
            try:
                await pool.open()
            except PgConnectError as exc:
                raise SessionStorageError(
                    f"PostgreSQL session store {exc}. Check storage.session.db_url (host, "
                    "port, database name, user and password) and that the server is running.",
                    backend=self.backend,
                    operation="connect",
                ) from exc
            except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
                raise self._error("connect", exc) from exc
            self._pool = pool
            try:
                async with self._tx("create the schema") as db:
                    await self._migrate(db)
            except BaseException:
                self._pool = None
                await pool.close()
                raise

    async def _migrate(self, db: PgTx) -> None:
        await db.fetch(self._q["lock"])
        await db.execute(self._q["version_table"])
        (version,) = (await db.fetch(self._q["version"]))[0]
        version = version or 0
        if version > SCHEMA_VERSION:
            raise SessionStorageError(
                f"The PostgreSQL session tables {self.table_name}_* have schema version "
                f"{version}, newer than this llmcore understands ({SCHEMA_VERSION}); upgrade "
                "llmcore or use another storage.session.table_name.",
                backend=self.backend,
                operation="create the schema",
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            for i in range(len(MIGRATIONS[target])):
                await db.execute(self._q[f"migrate{target}.{i}"])
            await db.execute(self._q["set_version"], (target,))

    @asynccontextmanager
    async def _tx(self, operation: str) -> AsyncIterator[PgTx]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        import psycopg
        import psycopg_pool

        if self._pool is None:
            await self._open()
        assert self._pool is not None
        try:
            async with self._pool.transaction() as db:
                yield db
        except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
            raise self._error(operation, exc) from exc

    async def initialize(self) -> None:
        """Open the pool and create (or migrate) the tables."""
        await self._open()

    async def close(self) -> None:
        """Close the pool."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    # -- writes -----------------------------------------------------------

    async def ensure_session(
        self,
        session_id: str,
        *,
        name: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> tuple[SessionInfo, bool]:
        """Return the session's header, creating the session if absent."""
        check_session_id(session_id, backend=self.backend)
        meta = encode_metadata(metadata, backend=self.backend, session_id=session_id).decode()
        async with self._tx("ensure_session") as db:
            rows = await db.fetch(self._q["session"], (session_id,))
            if rows:
                return _session_info(rows[0]), False
            params = (session_id, name, meta)
            rows = await db.fetch(self._q["create"], params)
            if rows:
                return _session_info(rows[0]), True
            rows = await db.fetch(self._q["session"], (session_id,))
            return _session_info(rows[0]), False

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
        meta = encode_metadata(metadata, backend=self.backend, session_id=session_id)
        if not batch and not metadata:
            return
        encoded = [encode_parts(m) for m in batch]
        blobs = {sha: data for _, found in encoded for sha, data in found.items()}
        columns = (
            [m.id for m in batch],
            [m.role.value for m in batch],
            [m.content for m in batch],
            [m.timestamp for m in batch],
            [m.tokens for m in batch],
            [m.tokens_by for m in batch],
            [_encode(m.metadata).decode() for m in batch],  # checked: encoded once, here
            [None if parts is None else parts.decode() for parts, _ in encoded],
        )
        async with self._tx("append_messages") as db:
            await db.execute(self._q["touch"], (session_id,))
            if blobs:
                await db.execute(
                    self._q["blobs_in"], (session_id, list(blobs), list(blobs.values()))
                )
            added = await db.execute(self._q["append"], (session_id, *columns))
            await db.execute(self._q["count"], (added, session_id))
            if metadata:
                await db.execute(self._q["update"], (None, meta.decode(), session_id))

    async def update_session(
        self,
        session_id: str,
        *,
        name: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> bool:
        """Rename a session and/or merge keys into its metadata."""
        check_session_id(session_id, backend=self.backend)
        meta = encode_metadata(metadata, backend=self.backend, session_id=session_id)
        params = (name, meta.decode(), session_id)
        async with self._tx("update_session") as db:
            return await db.execute(self._q["update"], params) > 0

    async def delete_session(self, session_id: str) -> bool:
        """Delete a session and its messages."""
        check_session_id(session_id, backend=self.backend)
        async with self._tx("delete_session") as db:
            return await db.execute(self._q["delete"], (session_id,)) > 0

    # -- reads ------------------------------------------------------------

    async def read_recent(
        self, session_id: str, *, limit: int, before: int | None = None
    ) -> MessagePage:
        """Read up to ``limit`` of the newest messages older than ``before``."""
        check_session_id(session_id, backend=self.backend)
        check_limit(limit, backend=self.backend)
        params = (session_id, 2**62 if before is None else before, limit)
        async with self._tx("read_recent") as db:
            rows = await db.fetch(self._q["recent"], params)
            messages = await self._messages(db, session_id, rows[::-1])
        next_before = rows[-1][0] if len(rows) == limit else None
        return MessagePage(messages, next_before)

    async def read_system_messages(self, session_id: str) -> list[Message]:
        """Read the session's system messages, oldest first."""
        check_session_id(session_id, backend=self.backend)
        async with self._tx("read_system_messages") as db:
            rows = await db.fetch(self._q["system"], (session_id,))
            return await self._messages(db, session_id, rows)

    async def get_session(self, session_id: str) -> ChatSession | None:
        """Load a whole session with its messages."""
        check_session_id(session_id, backend=self.backend)
        async with self._tx("get_session") as db:
            rows = await db.fetch(self._q["session"], (session_id,))
            if not rows:
                return None
            messages = await self._messages(
                db, session_id, await db.fetch(self._q["messages"], (session_id,))
            )
        info = _session_info(rows[0])
        return ChatSession(
            id=info.id,
            name=info.name,
            messages=messages,
            created_at=info.created_at,
            updated_at=info.updated_at,
            metadata=info.metadata,
        )

    async def _messages(
        self, db: PgTx, session_id: str, rows: list[tuple[Any, ...]]
    ) -> list[Message]:
        """The messages of ``rows``, their binary parts read in one query."""
        wanted = set().union(*(blob_refs(r[8]) for r in rows)) if rows else set()
        blobs: dict[str, bytes] = {}
        if wanted:
            found = await db.fetch(self._q["blobs"], (session_id, sorted(wanted)))
            blobs = {sha: bytes(data) for sha, data in found}
        return [_message(r, session_id, blobs) for r in rows]

    async def get_session_info(self, session_id: str) -> SessionInfo | None:
        """Load a session's header."""
        check_session_id(session_id, backend=self.backend)
        async with self._tx("get_session_info") as db:
            rows = await db.fetch(self._q["session"], (session_id,))
        return _session_info(rows[0]) if rows else None

    async def list_sessions(
        self, *, limit: int | None = None, offset: int = 0
    ) -> list[SessionInfo]:
        """List session headers, most recently updated first."""
        async with self._tx("list_sessions") as db:
            rows = await db.fetch(self._q["list"], (limit, offset))
        return [_session_info(r) for r in rows]


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _session_info(row: tuple[Any, ...]) -> SessionInfo:
    return SessionInfo(
        id=row[0],
        name=row[1],
        created_at=_utc(row[2]),
        updated_at=_utc(row[3]),
        message_count=row[4],
        metadata=row[5],
    )


def _message(row: tuple[Any, ...], session_id: str, blobs: dict[str, bytes]) -> Message:
    return Message(
        id=row[1],
        session_id=session_id,
        role=Role(row[2]),
        content=row[3],
        parts=decode_parts(row[8], blobs, where=f"Message {row[1]!r} of session {session_id!r}"),
        timestamp=_utc(row[4]),
        tokens=row[5],
        tokens_by=row[6],
        metadata=row[7],
    )
