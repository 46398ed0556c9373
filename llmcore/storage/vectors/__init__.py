"""Vector stores: reusable collections of embedded documents (Chroma, pgvector)."""

from __future__ import annotations

from llmcore._util.plugins import build_plugin, find_plugin
from llmcore.config.schema import VectorStorageSettings
from llmcore.exceptions import ConfigError
from llmcore.storage.vectors.base import BaseVectorStorage, CollectionInfo

__all__ = ["BaseVectorStorage", "CollectionInfo", "create_vector_storage"]


def create_vector_storage(settings: VectorStorageSettings) -> BaseVectorStorage:
    """Build the store ``[storage.vector]`` configures (not yet connected).

    A type from another package (``"package.module:Class"`` or an
    ``llmcore.vector_stores`` entry point) is a
    :class:`~llmcore.storage.vectors.BaseVectorStorage` subclass, built with
    ``Class.from_settings(settings)`` if it has one, else ``Class(settings)``.

    Raises:
        ConfigError: pgvector without a ``db_url``, or a bad ``table_prefix``.
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
            settings.db_url, table_name=settings.table_prefix, pool_size=settings.pool_size
        )
    if settings.type == "chromadb":
        from llmcore.storage.vectors.chroma import ChromaVectorStorage

        return ChromaVectorStorage(settings.path, host=settings.host, port=settings.port)
    cls = find_plugin(
        settings.type,
        builtins={},
        group="llmcore.vector_stores",
        base=BaseVectorStorage,
        key="storage.vector.type",
        what="vector store",
    )
    return build_plugin(cls, settings)  # type: ignore[no-any-return]
