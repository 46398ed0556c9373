"""The vector-store operations behind :class:`~llmcore.LLMCore`'s RAG methods.

Documents are embedded with ``llmcore.default_embedding_model`` and written
in batches: a batch is embedded, then stored (upserted by id), so memory
stays flat however many documents a call brings, and a call that fails
midway can simply be repeated. Searches embed the query the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import anyio

from llmcore.exceptions import InvalidRequestError
from llmcore.models import ContextDocument, new_id
from llmcore.services import Services
from llmcore.storage.vectors.base import CollectionInfo, check_collection_name, clean_metadata

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "add_documents",
    "delete_documents",
    "search",
    "to_document",
]

#: Documents embedded and stored per round trip by add_documents.
DEFAULT_BATCH_SIZE = 256

DocumentInput = str | Mapping[str, Any] | ContextDocument


def to_document(item: object, index: int = 0) -> ContextDocument:
    """Turn a string, a ``{"content", "metadata", "id"}`` dict or a ContextDocument into one.

    Raises:
        InvalidRequestError: the item is not one of those, or its content is empty.
    """
    where = f"documents[{index}]"
    content: Any
    metadata: Any
    doc_id: Any
    if isinstance(item, ContextDocument):
        content, metadata, doc_id = item.content, item.metadata, item.id
    elif isinstance(item, str):
        content, metadata, doc_id = item, None, None
    elif isinstance(item, Mapping):
        unknown = set(item) - {"content", "metadata", "id"}
        if unknown:
            raise InvalidRequestError(
                f"{where} has unknown key(s) {', '.join(sorted(map(str, unknown)))}; a document "
                "is {'content': str, 'metadata': dict (optional), 'id': str (optional)}."
            )
        content, metadata, doc_id = item.get("content"), item.get("metadata"), item.get("id")
    else:
        raise InvalidRequestError(
            f"{where} is a {type(item).__name__}; pass a string or a dict "
            "{'content': ..., 'metadata': ..., 'id': ...}."
        )
    if not isinstance(content, str) or not content.strip():
        raise InvalidRequestError(f"{where} needs non-empty text content, got {content!r:.60}.")
    if doc_id is None:
        doc_id = new_id()
    elif not isinstance(doc_id, str) or not doc_id or len(doc_id) > 512:
        raise InvalidRequestError(
            f"{where} id must be a non-empty string of at most 512 characters, got {doc_id!r:.60}."
        )
    return ContextDocument(
        id=doc_id, content=content, metadata=clean_metadata(metadata, f"{where} metadata")
    )


def _collection(services: Services, name: str | None) -> str:
    return check_collection_name(name or services.config.storage.vector.default_collection)


async def add_documents(
    services: Services,
    documents: Sequence[DocumentInput],
    *,
    collection_name: str | None = None,
    batch_size: int | None = None,
) -> list[str]:
    """Embed and upsert documents, ``batch_size`` at a time; return their ids in order."""
    if isinstance(documents, str | Mapping) or not isinstance(documents, Sequence):
        raise InvalidRequestError(
            "documents must be a list (of strings or dicts); for one document use "
            "add_document_to_vector_store."
        )
    size = DEFAULT_BATCH_SIZE if batch_size is None else batch_size
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise InvalidRequestError(f"batch_size must be a positive integer, got {batch_size!r}.")
    collection = _collection(services, collection_name)
    docs = [to_document(item, i) for i, item in enumerate(documents)]
    seen: set[str] = set()
    for doc in docs:
        if doc.id in seen:
            raise InvalidRequestError(f"Document id {doc.id!r} appears twice; ids must be unique.")
        seen.add(doc.id)
    if not docs:
        return []
    embedder = services.embedder()
    store = await services.vector_store()
    # Embedding batch N+1 overlaps with storing batch N: the two use different
    # resources (the embedder's threads, the store's I/O), so ingest runs at
    # close to the speed of the slower one instead of the sum of both.
    send, receive = anyio.create_memory_object_stream[list[ContextDocument]](1)

    async def write() -> None:
        async with receive:
            async for batch in receive:
                await store.add_documents(
                    batch, collection_name=collection, embedding_model=embedder.name
                )
                for doc in batch:
                    doc.embedding = None  # keep memory flat over large ingests

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(write)
            async with send:
                for start in range(0, len(docs), size):
                    batch = docs[start : start + size]
                    vectors = await embedder.generate_embeddings([d.content for d in batch])
                    for doc, vector in zip(batch, vectors, strict=True):
                        doc.embedding = vector
                    await send.send(batch)
    except BaseExceptionGroup as group:
        raise _first_error(group) from None
    return [d.id for d in docs]


def _first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error that failed an ingest, out of the task group's exception group."""
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            return _first_error(exc)
        if not isinstance(exc, anyio.get_cancelled_exc_class()):
            return exc
    return group


async def search(
    services: Services,
    query: str,
    *,
    k: int,
    collection_name: str | None = None,
    filter_metadata: Mapping[str, Any] | None = None,
) -> list[ContextDocument]:
    """Embed ``query`` and return the ``k`` closest documents, best first, with scores."""
    if not isinstance(query, str) or not query.strip():
        raise InvalidRequestError(f"query must be a non-empty string, got {query!r:.60}.")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InvalidRequestError(f"k must be a positive integer, got {k!r}.")
    collection = _collection(services, collection_name)
    embedder = services.embedder()
    vector = await embedder.generate_embedding(query)
    store = await services.vector_store()
    return await store.similarity_search(
        vector,
        k=k,
        collection_name=collection,
        embedding_model=embedder.name,
        filter=filter_metadata,
    )


async def delete_documents(
    services: Services, document_ids: Sequence[str], *, collection_name: str | None = None
) -> int:
    """Delete documents by id; return how many existed."""
    if isinstance(document_ids, str) or not isinstance(document_ids, Sequence):
        raise InvalidRequestError("document_ids must be a list of ids.")
    for doc_id in document_ids:
        if not isinstance(doc_id, str) or not doc_id:
            raise InvalidRequestError(f"document ids must be non-empty strings, got {doc_id!r}.")
    collection = _collection(services, collection_name)
    store = await services.vector_store()
    return await store.delete_documents(list(document_ids), collection_name=collection)


async def list_collections(services: Services) -> list[CollectionInfo]:
    """Every collection with its embedding model, dimension and size."""
    store = await services.vector_store()
    return await store.list_collections()


async def delete_collection(services: Services, collection_name: str) -> bool:
    """Delete a collection; True if it existed."""
    store = await services.vector_store()
    return await store.delete_collection(check_collection_name(collection_name))
