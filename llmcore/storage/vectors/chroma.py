"""Chroma: an embedded ``PersistentClient`` at ``path``, or a Chroma server at ``host``/``port``.

Collections use cosine distance (``hnsw:space = cosine``); scores are
``1 - distance``. llmcore computes embeddings itself, so collections are
opened with ``embedding_function=None`` (Chroma's default function would
download a model on first use), and telemetry is off. The collection's
metadata records the embedding model and dimension. chromadb is blocking:
every call runs in a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from llmcore.exceptions import InvalidRequestError, LLMCoreError, VectorStorageError
from llmcore.models import ContextDocument
from llmcore.storage.vectors.base import (
    BaseVectorStorage,
    CollectionInfo,
    check_collection_name,
    check_documents,
    check_filter,
    check_model,
)

__all__ = ["ChromaVectorStorage"]

T = TypeVar("T")

MODEL_KEY = "llmcore:embedding_model"
DIMENSION_KEY = "llmcore:dimension"


def _where(filter: Mapping[str, Any]) -> dict[str, Any] | None:
    if not filter:
        return None
    if len(filter) == 1:
        return dict(filter)
    return {"$and": [{k: v} for k, v in filter.items()]}


class ChromaVectorStorage(BaseVectorStorage):
    """Collections in Chroma.

    Args:
        path: folder of the embedded database (used when ``host`` is None).
        host: a Chroma server's host; with ``port``, use that server instead.
        port: the server's port (default 8000).
    """

    backend = "chromadb"

    def __init__(
        self,
        path: str = "~/.llmcore/chroma_db",
        *,
        host: str | None = None,
        port: int | None = None,
    ):
        self.path = str(Path(path).expanduser())
        self.host = host
        self.port = port or 8000
        self._client: Any = None
        self._open_lock = anyio.Lock()

    def __repr__(self) -> str:
        where = f"{self.host}:{self.port}" if self.host else self.path
        return f"ChromaVectorStorage({where!r})"

    @property
    def _where(self) -> str:
        return (
            f"Chroma server at {self.host}:{self.port}" if self.host else f"Chroma at {self.path}"
        )

    async def _run(self, operation: str, fn: Callable[[], T]) -> T:
        try:
            return await anyio.to_thread.run_sync(fn)
        except LLMCoreError:
            raise
        except Exception as exc:
            raise VectorStorageError(
                f"{self._where} failed to {operation}: {type(exc).__name__}: {str(exc)[:300]}",
                backend=self.backend,
                operation=operation,
            ) from exc

    async def initialize(self) -> None:
        """Open the client (and check a server answers)."""
        async with self._open_lock:
            if self._client is None:
                self._client = await self._run("connect", self._connect)

    def _connect(self) -> Any:
        try:
            import chromadb
            from chromadb.config import Settings
        except ImportError as exc:
            raise VectorStorageError(
                "The chromadb package is not installed: pip install 'llmcore[chromadb]'.",
                backend=self.backend,
                operation="connect",
            ) from exc
        settings = Settings(anonymized_telemetry=False)
        if self.host:
            try:
                return chromadb.HttpClient(host=self.host, port=self.port, settings=settings)
            except Exception as exc:
                raise VectorStorageError(
                    f"Cannot reach the Chroma server at {self.host}:{self.port}: {exc}. Start it "
                    "(chroma run --path DIR --port PORT) or check storage.vector.host/port.",
                    backend=self.backend,
                    operation="connect",
                ) from exc
        Path(self.path).mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=self.path, settings=settings)

    async def _client_ready(self) -> Any:
        if self._client is None:
            await self.initialize()
        return self._client

    # -- collections ------------------------------------------------------

    def _get(self, client: Any, name: str) -> Any | None:
        from chromadb.errors import NotFoundError

        try:
            return client.get_collection(name, embedding_function=None)
        except NotFoundError:
            return None
        except ValueError as exc:  # older chromadb: "Collection x does not exist."
            if "does not exist" in str(exc):
                return None
            raise

    @staticmethod
    def _info(collection: Any, count: bool = False) -> CollectionInfo:
        meta = collection.metadata or {}
        dimension = meta.get(DIMENSION_KEY)
        return CollectionInfo(
            name=collection.name,
            embedding_model=meta.get(MODEL_KEY),
            dimension=int(dimension) if dimension is not None else None,
            count=int(collection.count()) if count else 0,
        )

    async def get_collection(self, collection_name: str) -> CollectionInfo | None:
        """Describe a collection, or None."""
        name = check_collection_name(collection_name)
        client = await self._client_ready()

        def run() -> CollectionInfo | None:
            collection = self._get(client, name)
            return None if collection is None else self._info(collection, count=True)

        return await self._run("get_collection", run)

    async def list_collections(self) -> list[CollectionInfo]:
        """Describe every collection."""
        client = await self._client_ready()

        def run() -> list[CollectionInfo]:
            infos = []
            for item in client.list_collections():
                collection = item if not isinstance(item, str) else self._get(client, item)
                if collection is not None:
                    infos.append(self._info(collection, count=True))
            return sorted(infos, key=lambda i: i.name)

        return await self._run("list_collections", run)

    async def delete_collection(self, collection_name: str) -> bool:
        """Delete a collection; True if it existed."""
        name = check_collection_name(collection_name)
        client = await self._client_ready()

        def run() -> bool:
            if self._get(client, name) is None:
                return False
            client.delete_collection(name)
            return True

        return await self._run("delete_collection", run)

    # -- documents --------------------------------------------------------

    async def add_documents(
        self,
        documents: Sequence[ContextDocument],
        *,
        collection_name: str,
        embedding_model: str,
    ) -> list[str]:
        """Upsert documents (by id) into the collection, creating it if new."""
        name = check_collection_name(collection_name)
        if not documents:
            return []
        dimension = check_documents(documents)
        client = await self._client_ready()

        def run() -> list[str]:
            collection = self._get(client, name)
            if collection is None:
                collection = client.get_or_create_collection(
                    name,
                    embedding_function=None,
                    metadata={
                        "hnsw:space": "cosine",
                        MODEL_KEY: embedding_model,
                        DIMENSION_KEY: dimension,
                    },
                )
            check_model(self._info(collection), embedding_model, dimension, self.backend)
            step = max(1, int(getattr(client, "get_max_batch_size", lambda: 5000)()))
            for start in range(0, len(documents), step):
                batch = documents[start : start + step]
                collection.upsert(
                    ids=[d.id for d in batch],
                    embeddings=[d.embedding for d in batch],
                    documents=[d.content for d in batch],
                    metadatas=self._replacing(collection, batch),
                )
            return [d.id for d in documents]

        return await self._run("add_documents", run)

    @staticmethod
    def _replacing(collection: Any, batch: Sequence[ContextDocument]) -> list[Any]:
        """Metadata that replaces, not merges with, what the ids had.

        Chroma's upsert merges metadata; a key set to None is removed.
        """
        old = collection.get(ids=[d.id for d in batch], include=["metadatas"])
        previous = dict(zip(old["ids"], old.get("metadatas") or [], strict=False))
        metadatas: list[Any] = []
        for doc in batch:
            meta: dict[str, Any] = dict(doc.metadata)
            for key in previous.get(doc.id) or {}:
                meta.setdefault(key, None)
            metadatas.append(meta or None)
        return metadatas

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
        where = _where(check_filter(filter))
        query = [float(x) for x in query_embedding]
        client = await self._client_ready()

        def run() -> list[ContextDocument]:
            collection = self._get(client, name)
            if collection is None:
                known = [getattr(c, "name", c) for c in client.list_collections()]
                raise self.missing_collection(name, known)
            check_model(self._info(collection), embedding_model, len(query), self.backend)
            found = collection.query(
                query_embeddings=[query],
                n_results=k,
                where=where,
                include=["documents", "metadatas", "distances"],
            )
            ids = found["ids"][0]
            texts = (found.get("documents") or [[]])[0] or [""] * len(ids)
            metas = (found.get("metadatas") or [[]])[0] or [None] * len(ids)
            distances = (found.get("distances") or [[]])[0] or [1.0] * len(ids)
            return [
                ContextDocument(
                    id=doc_id,
                    content=text or "",
                    metadata=dict(meta or {}),
                    score=1.0 - float(distance),
                )
                for doc_id, text, meta, distance in zip(ids, texts, metas, distances, strict=True)
            ]

        return await self._run("similarity_search", run)

    async def delete_documents(self, ids: Sequence[str], *, collection_name: str) -> int:
        """Delete documents by id; return how many existed."""
        name = check_collection_name(collection_name)
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return 0
        client = await self._client_ready()

        def run() -> int:
            collection = self._get(client, name)
            if collection is None:
                return 0
            existing = collection.get(ids=wanted, include=[])["ids"]
            if existing:
                collection.delete(ids=existing)
            return len(existing)

        return await self._run("delete_documents", run)

    async def close(self) -> None:
        """Drop the client (an embedded database is flushed as it goes)."""
        self._client = None
