"""OpenAI's embeddings API (and servers that speak it), through the ``openai`` SDK.

``openai:text-embedding-3-small``; ``[embedding.openai]`` takes ``api_key``
(or ``LLMCORE_EMBEDDING_OPENAI_API_KEY`` / ``OPENAI_API_KEY``), ``base_url``,
``timeout``, ``max_retries`` and ``batch_size`` (OpenAI accepts up to 2,048
inputs a request). The SDK's own retries are off; llmcore's retry loop runs
instead, like for the providers.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from llmcore._util.retry import RetryPolicy
from llmcore.embedding.base import BaseEmbeddingModel
from llmcore.embedding.remote import RemoteEmbeddingError, call_with_retries, status_error
from llmcore.exceptions import ConfigError, EmbeddingError

if TYPE_CHECKING:
    from openai import AsyncOpenAI

__all__ = ["OpenAIEmbeddingModel"]


class OpenAIEmbeddingModel(BaseEmbeddingModel):
    """``POST /embeddings`` with ``encoding_format="float"``."""

    kind = "openai"

    _client: AsyncOpenAI | None = None

    def _get_client(self) -> AsyncOpenAI:
        if self._client is None:
            try:
                from openai import AsyncOpenAI
            except ImportError as exc:
                raise EmbeddingError(
                    "The openai package is not installed: pip install 'llmcore[openai]'."
                ) from exc
            key = self.settings.api_key or os.environ.get("OPENAI_API_KEY")
            if not key and self.settings.base_url is None:
                raise ConfigError(
                    "No API key is configured for OpenAI embeddings. Set embedding.openai.api_key, "
                    "or the environment variable LLMCORE_EMBEDDING_OPENAI_API_KEY or "
                    "OPENAI_API_KEY.",
                    key="embedding.openai.api_key",
                )
            self._client = AsyncOpenAI(
                api_key=key or "not-needed",
                base_url=self.settings.base_url,
                timeout=self.settings.timeout,
                max_retries=0,
            )
        return self._client

    async def _embed_batch(self, texts: list[str]) -> list[list[float]]:
        client = self._get_client()

        async def call() -> Any:
            try:
                return await client.embeddings.create(
                    model=self.model, input=texts, encoding_format="float"
                )
            except Exception as exc:
                raise self._map_error(exc) from exc

        reply = await call_with_retries(call, RetryPolicy(self.settings.max_retries), self.name)
        try:
            rows = sorted(reply.data, key=lambda d: d.index)
            return [list(row.embedding) for row in rows]
        except (AttributeError, TypeError) as exc:
            raise EmbeddingError(
                f"Embedding model {self.name!r} sent a malformed reply: {exc}."
            ) from exc

    def _map_error(self, exc: Exception) -> Exception:
        import openai

        if isinstance(exc, openai.APIStatusError):
            body = exc.body
            detail = ""
            if isinstance(body, dict):
                inner = body.get("error", body)
                if isinstance(inner, dict):
                    detail = str(inner.get("message") or "")
            return status_error(self.name, exc.status_code, detail, exc.response.headers)
        if isinstance(exc, openai.APITimeoutError):
            return RemoteEmbeddingError(
                f"Embedding model {self.name!r} did not answer within {self.settings.timeout:g} s. "
                "Raise embedding.openai.timeout if the server is slow.",
                retryable=True,
            )
        if isinstance(exc, openai.APIConnectionError):
            return RemoteEmbeddingError(
                f"Cannot reach embedding model {self.name!r} at {self._get_client().base_url}. "
                "Check embedding.openai.base_url and your network.",
                retryable=True,
            )
        return EmbeddingError(f"Embedding model {self.name!r} failed: {type(exc).__name__}: {exc}")

    async def close(self) -> None:
        """Close the SDK client's connections."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()
