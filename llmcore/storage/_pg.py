"""A psycopg 3 pool that works under asyncio and trio alike.

psycopg's async connections only run on asyncio; under trio the same SQL runs
on psycopg's blocking pool in worker threads. :meth:`PgPool.transaction`
hides which: it yields a :class:`PgTx` whose statements run in one
transaction, committed when the block ends and rolled back if it raises.

A pool that cannot connect only says "pool initialization incomplete" once
its timeout has passed (psycopg_pool logs the reason and retries), so
:meth:`PgPool.open` first makes one connection itself: a wrong database
name, user or password, or a refused port, fails at once with psycopg's
reason, as a :class:`PgConnectError` that names the database and never the
password.
"""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.to_thread

from llmcore.exceptions import ConfigError

__all__ = ["PgConnectError", "PgPool", "PgTx", "check_table_prefix", "describe_target"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")


def check_table_prefix(table_name: object, key: str) -> str:
    """Return ``table_name`` if it is safe as a table name prefix, else raise.

    Table names are always quoted as identifiers too; this check keeps them
    readable and short enough for the suffixes added to them.

    Raises:
        ConfigError: naming the config ``key``.
    """
    if not isinstance(table_name, str) or not _IDENTIFIER.fullmatch(table_name):
        raise ConfigError(
            f"{key} {table_name!r:.60} is not a valid table name prefix: use 1 to 40 "
            "letters, digits or '_', starting with a letter or '_'.",
            key=key,
        )
    return table_name


class PgConnectError(Exception):
    """The database cannot be reached or refuses the connection.

    The message (``cannot connect to <target>: <reason>``) names the host,
    port, database and user, and never contains the password.

    Attributes:
        target: the database, as :func:`describe_target` names it.
        reason: psycopg's reason, on one line, password removed.
    """

    def __init__(self, target: str, reason: str):
        super().__init__(f"cannot connect to {target}: {reason}")
        self.target = target
        self.reason = reason


def _params(url: str) -> dict[str, str]:
    """The connection parameters of a libpq URL or conninfo string ({} if malformed)."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        return {k: str(v) for k, v in conninfo_to_dict(url).items() if v is not None}
    except psycopg.Error:
        return {}


def describe_target(url: str) -> str:
    """Name the database of ``url``: ``database 'app' on db:5432 as user 'me'``.

    Built from the parsed parameters, so the password cannot appear in it.
    """
    params = _params(url)
    if not params:
        return "the database of a malformed db_url"
    host = params.get("host") or params.get("hostaddr") or "the default host"
    port = params.get("port") or "5432"
    text = (
        f"database {params.get('dbname') or params.get('user') or '(default)'!r} on {host}:{port}"
    )
    return f"{text} as user {params['user']!r}" if params.get("user") else text


def _reason(exc: BaseException, url: str) -> str:
    """psycopg's message on one line, with the password taken out."""
    text = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    password = _params(url).get("password")
    if password:
        text = text.replace(password, "***")
    return text.rstrip(" .?") or type(exc).__name__


def _on_asyncio() -> bool:
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class PgTx:
    """One transaction's connection."""

    def __init__(self, conn: Any, is_async: bool):
        self.conn = conn
        self.is_async = is_async

    async def fetch(self, query: Any, params: Sequence[Any] = ()) -> list[Any]:
        """Run a statement and return its rows."""
        if self.is_async:
            cur = await self.conn.execute(query, params)
            rows: list[Any] = await cur.fetchall()
            return rows
        return await anyio.to_thread.run_sync(lambda: self.conn.execute(query, params).fetchall())

    async def execute(self, query: Any, params: Sequence[Any] = ()) -> int:
        """Run a statement and return its row count."""
        if self.is_async:
            cur = await self.conn.execute(query, params)
            return int(cur.rowcount)
        return await anyio.to_thread.run_sync(lambda: self.conn.execute(query, params).rowcount)


class PgPool:
    """A connection pool opened on the running event loop's kind."""

    def __init__(self, url: str, *, max_size: int, timeout: float):
        self.url = url
        self.max_size = max_size
        self.timeout = timeout
        self._pool: Any = None
        self._async = False
        self._slots = anyio.Semaphore(max_size)

    async def open(self) -> None:
        """Open the pool, waiting for a first connection, within ``timeout`` seconds.

        Raises:
            PgConnectError: the database cannot be reached or refuses the
                connection (a wrong name, user or password, a refused port,
                no answer in time).
        """
        import psycopg_pool

        started = anyio.current_time()
        await self._try_connect()
        left = max(1.0, self.timeout - (anyio.current_time() - started))
        is_async = _on_asyncio()
        kind = psycopg_pool.AsyncConnectionPool if is_async else psycopg_pool.ConnectionPool
        pool: Any = kind(self.url, min_size=1, max_size=self.max_size, open=False)
        try:
            if is_async:
                await pool.open(wait=True, timeout=left)
            else:
                await anyio.to_thread.run_sync(lambda: pool.open(wait=True, timeout=left))
        except psycopg_pool.PoolTimeout as exc:
            await _close(pool, is_async)
            raise PgConnectError(describe_target(self.url), _reason(exc, self.url)) from exc
        self._pool, self._async = pool, is_async

    async def _try_connect(self) -> None:
        """Connect once, directly: if that fails, psycopg says why (the pool would not)."""
        import psycopg
        from psycopg.conninfo import make_conninfo

        target = describe_target(self.url)
        params = _params(self.url)
        if not params:
            raise PgConnectError(
                target,
                "it is neither a URL (postgresql://user:password@host:5432/dbname) nor "
                "key=value pairs (host=... dbname=...)",
            )
        # libpq counts whole seconds, at least 2; a connect_timeout in the URL wins.
        seconds = params.get("connect_timeout") or str(max(2, math.ceil(self.timeout)))
        conninfo = make_conninfo(self.url, connect_timeout=seconds)
        try:
            if _on_asyncio():
                with anyio.fail_after(self.timeout):
                    conn = await psycopg.AsyncConnection.connect(conninfo)
                await conn.close()
            else:
                sync = await anyio.to_thread.run_sync(lambda: psycopg.connect(conninfo))
                await anyio.to_thread.run_sync(sync.close)
        except TimeoutError as exc:
            raise PgConnectError(target, f"no answer within {self.timeout:g} s") from exc
        except psycopg.Error as exc:
            raise PgConnectError(target, _reason(exc, self.url)) from exc

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PgTx]:
        """A connection in a transaction; committed on success, rolled back on error."""
        pool = self._pool
        if self._async:
            async with pool.connection(timeout=self.timeout) as aconn:
                yield PgTx(aconn, True)
            return
        # Wait for a slot here, not in a worker thread: threads blocked in
        # getconn() could starve the holders of connections of threads.
        async with self._slots:
            conn = await anyio.to_thread.run_sync(lambda: pool.getconn(self.timeout))
            try:
                yield PgTx(conn, False)
                await anyio.to_thread.run_sync(conn.commit)
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(conn.rollback)
                raise
            finally:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(pool.putconn, conn)

    async def close(self) -> None:
        """Close every connection."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await _close(pool, self._async)


async def _close(pool: Any, is_async: bool) -> None:
    if is_async:
        await pool.close()
    else:
        await anyio.to_thread.run_sync(pool.close)
