"""LLMCore's vector-store methods: add, search and delete documents; collections."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from llmcore.models import ContextDocument

if TYPE_CHECKING:
    from llmcore.services import Services
    from llmcore.storage.vectors import CollectionInfo

__all__ = ["VectorStoreMethods"]


class VectorStoreMethods:
    """The retrieval (RAG) part of :class:`~llmcore.LLMCore`."""

    _services: Services

    async def add_document_to_vector_store(
        self,
        content: str,
        *,
        metadata: Mapping[str, Any] | None = None,
        doc_id: str | None = None,
        collection_name: str | None = None,
    ) -> str:
        """Embed one document and store it (replacing any with the same id); return its id.

        Args:
            content: the text.
            metadata: flat metadata (strings, numbers, booleans); ``source``
                is shown when the document is cited.
            doc_id: its id (default: a new random id).
            collection_name: the collection (default:
                ``storage.vector.default_collection``); created on first use.

        Raises:
            InvalidRequestError: an argument is invalid.
            EmbeddingError: the embedding model failed.
            VectorStorageError: the store failed, or the collection was built
                with another embedding model.
        """
        document = {"content": content, "metadata": metadata, "id": doc_id}
        ids = await self.add_documents_to_vector_store([document], collection_name=collection_name)
        return ids[0]

    async def add_documents_to_vector_store(
        self,
        documents: Sequence[str | Mapping[str, Any] | ContextDocument],
        *,
        collection_name: str | None = None,
        batch_size: int | None = None,
    ) -> list[str]:
        """Embed and store many documents in batches; return their ids, in order.

        Args:
            documents: strings, or dicts ``{"content": str, "metadata": dict,
                "id": str}`` (metadata and id optional), or ContextDocuments.
                A document whose id exists is replaced (upsert).
            collection_name: the collection (default:
                ``storage.vector.default_collection``); created on first use.
            batch_size: documents embedded and written per round (default 256).

        Raises:
            InvalidRequestError: a document is invalid (nothing is stored).
            EmbeddingError: the embedding model failed.
            VectorStorageError: the store failed (batches already written are
                kept; repeating the call is safe), or the collection was built
                with another embedding model.
        """
        from llmcore import rag

        return await rag.add_documents(
            self._services, documents, collection_name=collection_name, batch_size=batch_size
        )

    async def search_vector_store(
        self,
        query: str,
        *,
        k: int,
        collection_name: str | None = None,
        filter_metadata: Mapping[str, Any] | None = None,
    ) -> list[ContextDocument]:
        """Return the ``k`` documents most similar to ``query``, best first.

        Each has ``score``, its cosine similarity to the query (1.0 = same).

        Args:
            query: the text to search for.
            k: how many documents to return (at most).
            collection_name: the collection (default: ``storage.vector.default_collection``).
            filter_metadata: ``{key: value}`` pairs a document's metadata must all match.

        Raises:
            InvalidRequestError: an argument is invalid.
            VectorStorageError: the collection does not exist, was built with
                another embedding model, or the store failed.
        """
        from llmcore import rag

        return await rag.search(
            self._services,
            query,
            k=k,
            collection_name=collection_name,
            filter_metadata=filter_metadata,
        )

    async def delete_documents_from_vector_store(
        self, document_ids: Sequence[str], *, collection_name: str | None = None
    ) -> bool:
        """Delete documents by id; True if any of them existed.

        Raises:
            InvalidRequestError: an id is invalid.
            VectorStorageError: the store failed.
        """
        from llmcore import rag

        deleted = await rag.delete_documents(
            self._services, document_ids, collection_name=collection_name
        )
        return deleted > 0

    async def list_collections(self) -> list[CollectionInfo]:
        """Every collection: name, embedding model, dimension and document count."""
        from llmcore import rag

        return await rag.list_collections(self._services)

    async def delete_collection(self, collection_name: str) -> bool:
        """Delete a collection and all its documents; True if it existed."""
        from llmcore import rag

        return await rag.delete_collection(self._services, collection_name)
