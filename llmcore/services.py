"""Services: the long-lived resources every stage shares.

Provider clients, the session store and (as they land) the vector store,
embedder and MCP clients are created lazily from configuration the first
time a stage asks for them, shared by all turns, and closed together by
:meth:`Services.aclose` (which :meth:`llmcore.LLMCore.close` calls).
"""

from __future__ import annotations

import logging

import anyio

from llmcore.config.schema import LLMCoreConfig
from llmcore.exceptions import LLMCoreError
from llmcore.providers import BaseProvider, create_provider
from llmcore.storage.sessions import BaseSessionStorage, create_session_storage

__all__ = ["Services"]

logger = logging.getLogger("llmcore.services")


class Services:
    """Lazily created, shared resources, built from one configuration."""

    def __init__(self, config: LLMCoreConfig):
        self.config = config
        self._providers: dict[str, BaseProvider] = {}
        self._session_store: BaseSessionStorage | None = None
        self._session_store_lock = anyio.Lock()
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

    def _check_open(self) -> None:
        if self._closed:
            raise LLMCoreError("This LLMCore instance is closed; create a new one.")

    async def aclose(self) -> None:
        """Close every resource that was opened; errors are logged, not raised."""
        self._closed = True
        providers, self._providers = list(self._providers.values()), {}
        store, self._session_store = self._session_store, None
        with anyio.CancelScope(shield=True):
            for provider in providers:
                try:
                    await provider.close()
                except Exception:
                    logger.exception("Closing provider %r failed", provider.name)
            if store is not None:
                try:
                    await store.close()
                except Exception:
                    logger.exception("Closing the session store failed")
