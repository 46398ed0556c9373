"""Google's Gemini embeddings API, through the ``google-genai`` SDK.

``google:text-embedding-004`` (or ``gemini-embedding-001``); ``[embedding.google]``
takes ``api_key`` (or ``LLMCORE_EMBEDDING_GOOGLE_API_KEY`` / ``GEMINI_API_KEY`` /
``GOOGLE_API_KEY``), ``base_url``, ``timeout``, ``max_retries`` and
``batch_size`` (the API takes up to 100 texts a request). The SDK's
synchronous client runs in a worker thread: its async client may run on
aiohttp, which only works under asyncio.
"""

from __future__ import annotations

import os
from typing import Any

import anyio
import anyio.to_thread

from llmcore._util.retry import RetryPolicy
from llmcore.embedding.base import BaseEmbeddingModel
from llmcore.embedding.remote import RemoteEmbeddingError, call_with_retries, status_error
from llmcore.exceptions import ConfigError, EmbeddingError

__all__ = ["GoogleEmbeddingModel"]


class GoogleEmbeddingModel(BaseEmbeddingModel):
    """``models.embed_content`` of the Gemini API."""

    kind = "google"

    _client: Any = None

    def _get_client(self) -> Any:
        if self._client is None:
            try:
                from google import genai
                from google.genai import types
            except ImportError as exc:
                raise EmbeddingError(
                    "The google-genai package is not installed: pip install 'llmcore[google]'."
                ) from exc
            key = (
                self.settings.api_key
                or os.environ.get("GEMINI_API_KEY")
                or os.environ.get("GOOGLE_API_KEY")
            )
            if not key:
                raise ConfigError(
                    "No API key is configured for Google embeddings. Set embedding.google.api_key, "
                    "or the environment variable LLMCORE_EMBEDDING_GOOGLE_API_KEY, GEMINI_API_KEY "
                    "or GOOGLE_API_KEY.",
                    key="embedding.google.api_key",
                )
            options = types.HttpOptions(
                base_url=self.settings.base_url,
                timeout=int(self.settings.timeout * 1000),
                retry_options=types.HttpRetryOptions(attempts=1),
            )
            self._client = genai.Client(api_key=key, http_options=options)
        return self._client

    async def _embed_batch(self, texts: list[str]) -> list[list[float]]:
        client = self._get_client()

        def run() -> list[list[float]]:
            try:
                reply = client.models.embed_content(model=self.model, contents=texts)
            except Exception as exc:
                raise self._map_error(exc) from exc
            return [list(e.values or []) for e in reply.embeddings or []]

        async def call() -> list[list[float]]:
            return await anyio.to_thread.run_sync(run)

        return await call_with_retries(call, RetryPolicy(self.settings.max_retries), self.name)

    def _map_error(self, exc: Exception) -> Exception:
        import httpx
        from google.genai import errors

        if isinstance(exc, errors.APIError):
            headers = getattr(getattr(exc, "response", None), "headers", None)
            return status_error(self.name, int(exc.code), str(exc.message or ""), headers)
        if isinstance(exc, httpx.TimeoutException):
            return RemoteEmbeddingError(
                f"Embedding model {self.name!r} did not answer within {self.settings.timeout:g} s. "
                "Raise embedding.google.timeout if the API is slow.",
                retryable=True,
            )
        if isinstance(exc, httpx.TransportError):
            return RemoteEmbeddingError(
                f"Cannot reach the Gemini API for embedding model {self.name!r}: {exc}. Check "
                "embedding.google.base_url and your network.",
                retryable=True,
            )
        return EmbeddingError(f"Embedding model {self.name!r} failed: {type(exc).__name__}: {exc}")

    async def close(self) -> None:
        """Close the SDK client."""
        client, self._client = self._client, None
        if client is not None:
            closer = getattr(client, "close", None)
            if closer is not None:
                await anyio.to_thread.run_sync(closer)
