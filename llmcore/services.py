"""Services: the long-lived resources every stage shares.

Provider clients, the session store and (as they land) the vector store,
embedder and MCP clients are created lazily from configuration the first
time a stage asks for them, shared by all turns, and closed together by
:meth:`Services.aclose` (which :meth:`llmcore.LLMCore.close` calls).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import anyio

from llmcore.config.schema import LLMCoreConfig
from llmcore.exceptions import LLMCoreError
from llmcore.providers import BaseProvider, create_provider
from llmcore.storage.sessions import BaseSessionStorage, create_session_storage

if TYPE_CHECKING:
    from llmcore.embedding import BaseEmbeddingModel
    from llmcore.mcp.manager import MCPManager
    from llmcore.storage.vectors import BaseVectorStorage

__all__ = ["Services"]

logger = logging.getLogger("llmcore.services")


class Services:
    """Lazily created, shared resources, built from one configuration."""

    def __init__(self, config: LLMCoreConfig):
        self.config = config
        self._providers: dict[str, BaseProvider] = {}
        self._session_store: BaseSessionStorage | None = None
        self._session_store_lock = anyio.Lock()
        self._embedders: dict[str, BaseEmbeddingModel] = {}
        self._vector_store: BaseVectorStorage | None = None
        self._vector_store_lock = anyio.Lock()
        self._mcp: MCPManager | None = None
        self._closed = False

    def provider(self, name: str) -> BaseProvider:
        """Return the provider configured as ``[providers.NAME]``.

        Raises:
            ConfigError: no such provider is configured, or its type is unknown.
        """
        provider = self._providers.get(name)
        if provider is None:
            self._check_open()
            provider = self._providers[name] = create_provider(name, self.config.provider(name))
        return provider

    async def session_store(self) -> BaseSessionStorage:
        """Return the session store, opening it on first use."""
        if self._session_store is not None:
            return self._session_store
        async with self._session_store_lock:
            if self._session_store is None:
                self._check_open()
                store = create_session_storage(self.config.storage.session)
                await store.initialize()
                self._session_store = store
        return self._session_store

    def embedder(self, identifier: str | None = None) -> BaseEmbeddingModel:
        """Return the embedding model ``identifier`` names (default: ``default_embedding_model``).

        The model itself loads on its first use.

        Raises:
            ConfigError: the identifier is invalid.
        """
        from llmcore.embedding import create_embedding_model

        key = identifier or self.config.llmcore.default_embedding_model
        model = self._embedders.get(key)
        if model is None:
            self._check_open()
            model = self._embedders[key] = create_embedding_model(self.config, key)
        return model

    async def vector_store(self) -> BaseVectorStorage:
        """Return the vector store, connecting on first use.

        Raises:
            ConfigError: ``[storage.vector]`` is incomplete.
            VectorStorageError: the store cannot be opened.
        """
        if self._vector_store is not None:
            return self._vector_store
        async with self._vector_store_lock:
            if self._vector_store is None:
                from llmcore.storage.vectors import create_vector_storage

                self._check_open()
                store = create_vector_storage(self.config.storage.vector)
                await store.initialize()
                self._vector_store = store
        return self._vector_store

    @property
    def mcp(self) -> MCPManager:
        """The MCP client manager (servers connect on first use)."""
        if self._mcp is None:
            from llmcore.mcp.manager import MCPManager

            self._check_open()
            self._mcp = MCPManager(self.config.mcp)
        return self._mcp

    def _check_open(self) -> None:
        if self._closed:
            raise LLMCoreError("This LLMCore instance is closed; create a new one.")

    async def aclose(self) -> None:
        """Close every resource that was opened; errors are logged, not raised."""
        self._closed = True
        closers: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        if self._mcp is not None:
            closers.append(("MCP connections", self._mcp.aclose))
        closers += [(f"embedding model {e.name!r}", e.close) for e in self._embedders.values()]
        if self._vector_store is not None:
            closers.append(("the vector store", self._vector_store.close))
        closers += [(f"provider {p.name!r}", p.close) for p in self._providers.values()]
        if self._session_store is not None:
            closers.append(("the session store", self._session_store.close))
        self._mcp, self._embedders, self._vector_store = None, {}, None
        self._providers, self._session_store = {}, None
        with anyio.CancelScope(shield=True):
            for what, close in closers:
                try:
                    await close()
                except Exception:
                    logger.exception("Closing %s failed", what)
