"""PostgreSQL + pgvector on psycopg 3 (an async pool; threads under trio).

``<table_name>_collections`` lists the collections with their embedding
model and dimension; each collection's documents live in a table of their
own, ``<table_name>_c<N>``, with a ``vector(dimension)`` column, an HNSW index
with cosine ops and a GIN index on the JSONB metadata. A table per
collection (rather than one table with a collection column) because an HNSW
index needs one fixed dimension, and because a shared index would find the
nearest vectors of *all* collections and then filter, returning fewer than
``k``. Filters use ``metadata @> {...}`` with pgvector's iterative index
scans, so a selective filter still yields ``k`` results.
``CREATE EXTENSION vector`` runs on first use.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

import anyio
import msgspec

from llmcore.config.schema import redact_url
from llmcore.exceptions import InvalidRequestError, VectorStorageError
from llmcore.models import ContextDocument
from llmcore.storage._pg import PgConnectError, PgPool, PgTx, check_table_prefix
from llmcore.storage.vectors.base import (
    BaseVectorStorage,
    CollectionInfo,
    check_collection_name,
    check_documents,
    check_filter,
    check_model,
)

__all__ = ["PgVectorStorage"]

T = TypeVar("T")
_encode = msgspec.json.encode


def _vector(values: Sequence[float]) -> str:
    return _encode([float(v) for v in values]).decode()


class PgVectorStorage(BaseVectorStorage):
    """Collections in PostgreSQL with pgvector.

    Args:
        db_url: a libpq URL or conninfo string.
        table_name: prefix of the tables (letters, digits, ``_``; at most 40).
        pool_size: the most connections the pool opens.
        timeout: seconds to wait for a connection.

    Raises:
        ConfigError: ``table_name`` is not a valid identifier.
    """

    backend = "pgvector"

    def __init__(
        self,
        db_url: str,
        *,
        table_name: str = "llmcore_vectors",
        pool_size: int = 5,
        timeout: float = 10.0,
    ):
        check_table_prefix(table_name, "storage.vector.table_prefix")
        self.db_url = db_url
        self.table_name = table_name
        self._pool = PgPool(db_url, max_size=pool_size, timeout=timeout)
        self._opened = False
        self._open_lock = anyio.Lock()

    def __repr__(self) -> str:
        return f"PgVectorStorage({redact_url(self.db_url)!r}, table_name={self.table_name!r})"

    def _error(self, operation: str, exc: BaseException) -> VectorStorageError:
        return VectorStorageError(
            f"pgvector store ({redact_url(self.db_url)}, tables {self.table_name}_*) failed to "
            f"{operation}: {type(exc).__name__}: {str(exc).strip()[:300]}. Check "
            "storage.vector.db_url and that the server is reachable.",
            backend=self.backend,
            operation=operation,
        )

    def _sql(self, text: str, **names: str) -> Any:
        from psycopg import sql

        idents = {k: sql.Identifier(v) for k, v in names.items()}
        return sql.SQL(text).format(
            registry=sql.Identifier(f"{self.table_name}_collections"), **idents
        )

    # -- setup ------------------------------------------------------------

    async def initialize(self) -> None:
        """Open the pool, create the extension and the collections table."""
        async with self._open_lock:
            if self._opened:
                return
            import psycopg
            import psycopg_pool

            try:
                await self._pool.open()
            except PgConnectError as exc:
                raise VectorStorageError(
                    f"pgvector store {exc}. Check storage.vector.db_url (host, port, database "
                    "name, user and password) and that the server is running.",
                    backend=self.backend,
                    operation="connect",
                ) from exc
            except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
                raise self._error("connect", exc) from exc
            try:
                async with self._pool.transaction() as tx:
                    await self._create_schema(tx)
            except psycopg.Error as exc:
                await self._pool.close()
                raise self._error("create its tables", exc) from exc
            except BaseException:
                await self._pool.close()
                raise
            self._opened = True

    async def _create_schema(self, tx: PgTx) -> None:
        import psycopg

        lock = f"llmcore.vectors.{self.table_name}"
        await tx.fetch(self._sql("SELECT pg_advisory_xact_lock(hashtext(%s))"), (lock,))
        present = await tx.fetch(self._sql("SELECT 1 FROM pg_extension WHERE extname = 'vector'"))
        if not present:
            try:
                await tx.execute(self._sql("CREATE EXTENSION IF NOT EXISTS vector"))
            except psycopg.Error as exc:
                raise VectorStorageError(
                    "The pgvector extension is not available in this PostgreSQL server "
                    f"({redact_url(self.db_url)}): {str(exc).strip()[:200]}. Install pgvector "
                    "on the server (https://github.com/pgvector/pgvector#installation) and run "
                    "'CREATE EXTENSION vector;' as a superuser, or connect as a user allowed to.",
                    backend=self.backend,
                    operation="create extension",
                ) from exc
        await tx.execute(
            self._sql(
                "CREATE TABLE IF NOT EXISTS {registry} ("
                "name TEXT PRIMARY KEY, id BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE, "
                "embedding_model TEXT NOT NULL, dimension INTEGER NOT NULL, "
                "created_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
        )

    async def _tx(self) -> AbstractAsyncContextManager[PgTx]:
        if not self._opened:
            await self.initialize()
        return self._pool.transaction()

    def _table(self, collection_id: int) -> str:
        return f"{self.table_name}_c{collection_id}"

    async def _lookup(
        self, tx: PgTx, name: str, *, lock: bool = False
    ) -> tuple[int, CollectionInfo] | None:
        query = "SELECT id, embedding_model, dimension FROM {registry} WHERE name = %s"
        rows = await tx.fetch(self._sql(query + (" FOR SHARE" if lock else "")), (name,))
        if not rows:
            return None
        cid, model, dimension = rows[0]
        return int(cid), CollectionInfo(name=name, embedding_model=model, dimension=dimension)

    async def _create(self, tx: PgTx, name: str, model: str, dimension: int) -> None:
        rows = await tx.fetch(
            self._sql(
                "INSERT INTO {registry} (name, embedding_model, dimension) VALUES (%s, %s, %s) "
                "ON CONFLICT (name) DO NOTHING RETURNING id"
            ),
            (name, model, dimension),
        )
        if not rows:
            return  # another writer created it first
        table = self._table(int(rows[0][0]))
        from psycopg import sql

        await tx.execute(
            sql.SQL(
                "CREATE TABLE {t} (id TEXT PRIMARY KEY, content TEXT NOT NULL, "
                "metadata JSONB NOT NULL DEFAULT '{{}}', embedding vector({d}) NOT NULL)"
            ).format(t=sql.Identifier(table), d=sql.Literal(dimension))
        )
        await tx.execute(
            self._sql(
                "CREATE INDEX {i} ON {t} USING hnsw (embedding vector_cosine_ops)",
                i=f"{table}_hnsw",
                t=table,
            )
        )
        await tx.execute(
            self._sql(
                "CREATE INDEX {i} ON {t} USING gin (metadata jsonb_path_ops)",
                i=f"{table}_meta",
                t=table,
            )
        )

    # -- collections ------------------------------------------------------

    async def get_collection(self, collection_name: str) -> CollectionInfo | None:
        """Describe a collection, or None."""
        name = check_collection_name(collection_name)
        return await self._guard("get_collection", self._get_collection(name))

    async def _get_collection(self, name: str) -> CollectionInfo | None:
        async with await self._tx() as tx:
            found = await self._lookup(tx, name)
            if found is None:
                return None
            cid, info = found
            rows = await tx.fetch(self._sql("SELECT count(*) FROM {t}", t=self._table(cid)))
            info.count = int(rows[0][0])
            return info

    async def list_collections(self) -> list[CollectionInfo]:
        """Describe every collection."""
        return await self._guard("list_collections", self._list())

    async def _list(self) -> list[CollectionInfo]:
        async with await self._tx() as tx:
            rows = await tx.fetch(
                self._sql(
                    "SELECT name, id, embedding_model, dimension FROM {registry} ORDER BY name"
                )
            )
            infos = []
            for name, cid, model, dimension in rows:
                count = await tx.fetch(self._sql("SELECT count(*) FROM {t}", t=self._table(cid)))
                infos.append(
                    CollectionInfo(
                        name=name,
                        embedding_model=model,
                        dimension=dimension,
                        count=int(count[0][0]),
                    )
                )
            return infos

    async def delete_collection(self, collection_name: str) -> bool:
        """Delete a collection and its table; True if it existed."""
        name = check_collection_name(collection_name)
        return await self._guard("delete_collection", self._delete_collection(name))

    async def _delete_collection(self, name: str) -> bool:
        async with await self._tx() as tx:
            rows = await tx.fetch(
                self._sql("DELETE FROM {registry} WHERE name = %s RETURNING id"), (name,)
            )
            if not rows:
                return False
            await tx.execute(self._sql("DROP TABLE IF EXISTS {t}", t=self._table(int(rows[0][0]))))
            return True

    # -- documents --------------------------------------------------------

    async def add_documents(
        self,
        documents: Sequence[ContextDocument],
        *,
        collection_name: str,
        embedding_model: str,
    ) -> list[str]:
        """Upsert documents (by id) in one transaction, creating the collection if new."""
        name = check_collection_name(collection_name)
        if not documents:
            return []
        dimension = check_documents(documents)
        return await self._guard(
            "add_documents", self._add(name, list(documents), embedding_model, dimension)
        )

    async def _add(
        self, name: str, documents: list[ContextDocument], model: str, dimension: int
    ) -> list[str]:
        async with await self._tx() as tx:
            found = await self._lookup(tx, name, lock=True)
            if found is None:
                await self._create(tx, name, model, dimension)
                found = await self._lookup(tx, name, lock=True)
                assert found is not None
            cid, info = found
            check_model(info, model, dimension, self.backend)
            await tx.execute(
                self._sql(
                    "INSERT INTO {t} (id, content, metadata, embedding) "
                    "SELECT x.id, x.content, x.metadata::jsonb, x.embedding::vector "
                    "FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]) "
                    "AS x(id, content, metadata, embedding) "
                    "ON CONFLICT (id) DO UPDATE SET content = EXCLUDED.content, "
                    "metadata = EXCLUDED.metadata, embedding = EXCLUDED.embedding",
                    t=self._table(cid),
                ),
                (
                    [d.id for d in documents],
                    [d.content for d in documents],
                    [_encode(d.metadata).decode() for d in documents],
                    [_vector(d.embedding or ()) for d in documents],
                ),
            )
        return [d.id for d in documents]

    async def similarity_search(
        self,
        query_embedding: Sequence[float],
        *,
        k: int,
        collection_name: str,
        embedding_model: str,
        filter: Mapping[str, Any] | None = None,
    ) -> list[ContextDocument]:
        """The ``k`` nearest documents by cosine similarity, best first."""
        name = check_collection_name(collection_name)
        if not isinstance(k, int) or k < 1:
            raise InvalidRequestError(f"k must be a positive integer, got {k!r}.")
        where = check_filter(filter)
        query = _vector(query_embedding)
        return await self._guard(
            "similarity_search",
            self._search(name, query, len(query_embedding), k, where, embedding_model),
        )

    async def _search(
        self, name: str, query: str, dimension: int, k: int, where: dict[str, Any], model: str
    ) -> list[ContextDocument]:
        async with await self._tx() as tx:
            found = await self._lookup(tx, name)
            if found is None:
                names = await tx.fetch(self._sql("SELECT name FROM {registry}"))
                raise self.missing_collection(name, [n for (n,) in names])
            cid, info = found
            check_model(info, model, dimension, self.backend)
            # ef_search bounds how many candidates HNSW returns: at least k.
            await tx.execute(self._sql(f"SET LOCAL hnsw.ef_search = {max(40, min(k, 1000))}"))
            params: list[Any] = [query]
            condition = ""
            if where:
                await tx.execute(self._sql("SET LOCAL hnsw.iterative_scan = strict_order"))
                condition = "WHERE metadata @> %s::jsonb "
                params.append(_encode(where).decode())
            params += [query, k]
            rows = await tx.fetch(
                self._sql(
                    "SELECT id, content, metadata, 1 - (embedding <=> %s::vector) FROM {t} "
                    + condition
                    + "ORDER BY embedding <=> %s::vector LIMIT %s",
                    t=self._table(cid),
                ),
                params,
            )
        return [
            ContextDocument(id=i, content=c, metadata=dict(m or {}), score=float(s))
            for i, c, m, s in rows
        ]

    async def delete_documents(self, ids: Sequence[str], *, collection_name: str) -> int:
        """Delete documents by id; return how many existed."""
        name = check_collection_name(collection_name)
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return 0
        return await self._guard("delete_documents", self._delete(name, wanted))

    async def _delete(self, name: str, ids: list[str]) -> int:
        async with await self._tx() as tx:
            found = await self._lookup(tx, name)
            if found is None:
                return 0
            return await tx.execute(
                self._sql("DELETE FROM {t} WHERE id = ANY(%s)", t=self._table(found[0])), (ids,)
            )

    async def _guard(self, operation: str, work: Awaitable[T]) -> T:
        import psycopg
        import psycopg_pool

        try:
            return await work
        except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
            raise self._error(operation, exc) from exc

    async def close(self) -> None:
        """Close the pool."""
        self._opened = False
        await self._pool.close()
