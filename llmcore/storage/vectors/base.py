"""The vector store interface every backend implements, and the checks they share.

A store keeps named, reusable collections of documents with their vectors.
Each collection remembers the embedding model and dimension it was built
with: adding to it or searching it with another model raises
:class:`~llmcore.exceptions.VectorStorageError` instead of returning
meaningless neighbours. Scores are cosine similarities (1.0 = same direction).

Metadata values are flat: strings, numbers, booleans (``None`` values are
dropped). A ``filter`` is a dict of ``key: value`` pairs that must all match.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import msgspec

from llmcore.exceptions import InvalidRequestError, VectorStorageError
from llmcore.models import ContextDocument

__all__ = [
    "BaseVectorStorage",
    "CollectionInfo",
    "check_collection_name",
    "check_documents",
    "check_filter",
    "check_model",
    "clean_metadata",
]

_COLLECTION = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{1,510})[A-Za-z0-9]$")
_SCALARS = (str, int, float, bool)


class CollectionInfo(msgspec.Struct, kw_only=True):
    """A collection's name, what built it, and how many documents it holds."""

    name: str
    embedding_model: str | None = None
    dimension: int | None = None
    count: int = 0


def check_collection_name(name: object) -> str:
    """Return ``name`` if it is a valid collection name, else raise a clear error.

    The rule is Chroma's (the strictest backend), so a collection can move
    between backends: 3 to 512 letters, digits, ``.``, ``_`` or ``-``,
    starting and ending with a letter or digit.
    """
    if not isinstance(name, str) or not _COLLECTION.match(name) or ".." in name:
        raise InvalidRequestError(
            f"Invalid collection name {name!r:.80}: use 3 to 512 letters, digits, '.', '_' or "
            "'-', starting and ending with a letter or digit (e.g. 'product_docs')."
        )
    return name


def clean_metadata(metadata: object, where: str = "metadata") -> dict[str, Any]:
    """Return flat metadata without ``None`` values, or raise a clear error."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise InvalidRequestError(f"{where} must be a dict, got {type(metadata).__name__}.")
    clean: dict[str, Any] = {}
    for key, value in metadata.items():
        if not isinstance(key, str) or not key:
            raise InvalidRequestError(f"{where} keys must be non-empty strings, got {key!r}.")
        if value is None:
            continue
        if not isinstance(value, _SCALARS) or (
            isinstance(value, float) and not math.isfinite(value)
        ):
            raise InvalidRequestError(
                f"{where}[{key!r}] is a {type(value).__name__}; metadata values must be strings, "
                "numbers or booleans. Flatten nested values (e.g. 'author_name') or store them "
                "as a JSON string."
            )
        clean[key] = value
    return clean


def check_filter(filter: object) -> dict[str, Any]:
    """Return a metadata filter (``{key: value}``, all must match), or raise a clear error."""
    if filter is None:
        return {}
    clean = clean_metadata(filter, "filter")
    if len(clean) != len(filter):  # type: ignore[arg-type]
        raise InvalidRequestError("filter values cannot be None: leave the key out instead.")
    return clean


def check_documents(documents: Sequence[ContextDocument]) -> int:
    """Check documents to add (ids, embeddings of one length); return the dimension."""
    dimension = 0
    seen: set[str] = set()
    for doc in documents:
        if not isinstance(doc.id, str) or not doc.id:
            raise InvalidRequestError(f"Document id must be a non-empty string, got {doc.id!r}.")
        if doc.id in seen:
            raise InvalidRequestError(
                f"Document id {doc.id!r} appears twice in one call; ids must be unique."
            )
        seen.add(doc.id)
        if not doc.embedding:
            raise InvalidRequestError(f"Document {doc.id!r} has no embedding.")
        if dimension and len(doc.embedding) != dimension:
            raise InvalidRequestError(
                f"Document {doc.id!r} has an embedding of {len(doc.embedding)} dimensions, "
                f"the others {dimension}; embed all documents with one model."
            )
        dimension = len(doc.embedding)
    return dimension


def check_model(info: CollectionInfo, embedding_model: str, dimension: int, backend: str) -> None:
    """Raise unless the collection was built with ``embedding_model`` at ``dimension``."""
    if info.embedding_model not in (None, embedding_model) or info.dimension not in (
        None,
        dimension,
    ):
        raise VectorStorageError(
            f"Collection {info.name!r} holds {info.dimension}-dimensional vectors from "
            f"{info.embedding_model!r}, not {dimension}-dimensional ones from "
            f"{embedding_model!r}: vectors of different models cannot be compared. Use the "
            "collection's model (llmcore.default_embedding_model), or another collection "
            "(delete_collection to rebuild this one).",
            backend=backend,
            operation="check_model",
        )


class BaseVectorStorage(ABC):
    """Base class of vector stores; every method names its collection.

    Subclasses implement the abstract methods; :meth:`initialize` is called
    once before first use and :meth:`close` at the end.
    """

    backend: ClassVar[str] = ""

    async def initialize(self) -> None:
        """Connect and prepare the store (create tables, extensions)."""
        return None

    @abstractmethod
    async def add_documents(
        self,
        documents: Sequence[ContextDocument],
        *,
        collection_name: str,
        embedding_model: str,
    ) -> list[str]:
        """Insert or replace (by id) documents with their embeddings; return their ids.

        The collection is created on first use and remembers ``embedding_model``
        and the vectors' dimension. Keep copies of what you store: the
        caller reuses the documents (it clears their embeddings afterwards).

        Raises:
            VectorStorageError: the collection was built with another model or
                dimension, or the store failed (nothing of this call is kept).
        """

    @abstractmethod
    async def similarity_search(
        self,
        query_embedding: Sequence[float],
        *,
        k: int,
        collection_name: str,
        embedding_model: str,
        filter: Mapping[str, Any] | None = None,
    ) -> list[ContextDocument]:
        """Return the ``k`` documents closest to ``query_embedding``, best first, with scores.

        Raises:
            VectorStorageError: the collection does not exist, was built with
                another model or dimension, or the store failed.
        """

    @abstractmethod
    async def delete_documents(self, ids: Sequence[str], *, collection_name: str) -> int:
        """Delete documents by id; return how many existed (0 for a missing collection)."""

    @abstractmethod
    async def get_collection(self, collection_name: str) -> CollectionInfo | None:
        """Describe a collection, or return None if it does not exist."""

    @abstractmethod
    async def list_collections(self) -> list[CollectionInfo]:
        """Describe every collection, by name."""

    @abstractmethod
    async def delete_collection(self, collection_name: str) -> bool:
        """Delete a collection and its documents; True if it existed."""

    async def close(self) -> None:
        """Release connections."""
        return None

    def missing_collection(self, name: str, known: Sequence[str]) -> VectorStorageError:
        """The error for searching a collection that does not exist."""
        from llmcore.config.suggest import did_you_mean

        listed = ", ".join(sorted(known)[:20]) or "none"
        return VectorStorageError(
            f"Collection {name!r} does not exist.{did_you_mean(name, known)} Add documents to "
            f"it first (from a shell: llmchat rag add PATH -c {name}; in Python: "
            f"add_documents_to_vector_store). Existing collections: {listed}.",
            backend=self.backend,
            operation="similarity_search",
        )
