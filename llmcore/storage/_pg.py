"""A psycopg 3 pool that works under asyncio and trio alike.

psycopg's async connections only run on asyncio; under trio the same SQL runs
on psycopg's blocking pool in worker threads. :meth:`PgPool.transaction`
hides which: it yields a :class:`PgTx` whose statements run in one
transaction, committed when the block ends and rolled back if it raises.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.to_thread

from llmcore.exceptions import ConfigError

__all__ = ["PgPool", "PgTx", "check_table_prefix"]

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
        """Open the pool, waiting for a first connection."""
        import psycopg_pool

        if _on_asyncio():
            pool: Any = psycopg_pool.AsyncConnectionPool(
                self.url, min_size=1, max_size=self.max_size, open=False
            )
            await pool.open(wait=True, timeout=self.timeout)
            self._async = True
        else:
            pool = psycopg_pool.ConnectionPool(
                self.url, min_size=1, max_size=self.max_size, open=False
            )
            await anyio.to_thread.run_sync(lambda: pool.open(wait=True, timeout=self.timeout))
        self._pool = pool

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
        if pool is None:
            return
        if self._async:
            await pool.close()
        else:
            await anyio.to_thread.run_sync(pool.close)
