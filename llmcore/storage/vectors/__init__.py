"""Vector stores: reusable collections of embedded documents (Chroma, pgvector)."""

from __future__ import annotations

from llmcore.config.schema import VectorStorageSettings
from llmcore.exceptions import ConfigError
from llmcore.storage.vectors.base import BaseVectorStorage, CollectionInfo

__all__ = ["BaseVectorStorage", "CollectionInfo", "create_vector_storage"]


def create_vector_storage(settings: VectorStorageSettings) -> BaseVectorStorage:
    """Build the store ``[storage.vector]`` configures (not yet connected).

    Raises:
        ConfigError: pgvector without a ``db_url``, or a bad ``table_name``.
    """
    if settings.type == "pgvector":
        from llmcore.storage.vectors.pgvector import PgVectorStorage

        if not settings.db_url:
            raise ConfigError(
                "storage.vector.type is 'pgvector' but storage.vector.db_url is not set. Set it "
                "(e.g. postgresql://user:pass@host:5432/db) or LLMCORE_STORAGE_VECTOR_DB_URL.",
                key="storage.vector.db_url",
            )
        return PgVectorStorage(
            settings.db_url, table_name=settings.table_name, pool_size=settings.pool_size
        )
    from llmcore.storage.vectors.chroma import ChromaVectorStorage

    return ChromaVectorStorage(settings.path, host=settings.host, port=settings.port)
