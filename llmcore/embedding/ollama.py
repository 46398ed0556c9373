"""Ollama's ``POST /api/embed``, over httpx.

``ollama:nomic-embed-text``; ``[embedding.ollama]`` takes ``base_url``
(default ``http://localhost:11434``), ``timeout``, ``max_retries`` and
``batch_size``. One request embeds a whole batch (``input`` is a list).
"""

from __future__ import annotations

from typing import Any

import httpx
import msgspec

from llmcore._util.retry import RetryPolicy
from llmcore.embedding.base import BaseEmbeddingModel
from llmcore.embedding.remote import RemoteEmbeddingError, call_with_retries, status_error
from llmcore.exceptions import EmbeddingError

__all__ = ["OllamaEmbeddingModel"]


class _Reply(msgspec.Struct):
    embeddings: list[list[float]]


_decode = msgspec.json.Decoder(_Reply).decode


class OllamaEmbeddingModel(BaseEmbeddingModel):
    """Embeddings from an Ollama server."""

    kind = "ollama"

    _client: httpx.AsyncClient | None = None

    @property
    def base_url(self) -> str:
        """The server's URL."""
        return (self.settings.base_url or "http://localhost:11434").rstrip("/")

    def _get_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(base_url=self.base_url, timeout=self.settings.timeout)
        return self._client

    async def _embed_batch(self, texts: list[str]) -> list[list[float]]:
        client = self._get_client()
        body: dict[str, Any] = {"model": self.model, "input": texts}

        async def call() -> list[list[float]]:
            try:
                response = await client.post("/api/embed", json=body)
            except httpx.TimeoutException as exc:
                raise RemoteEmbeddingError(
                    f"Embedding model {self.name!r} did not answer within "
                    f"{self.settings.timeout:g} s. Raise embedding.ollama.timeout.",
                    retryable=True,
                ) from exc
            except httpx.TransportError as exc:
                raise RemoteEmbeddingError(
                    f"Cannot reach Ollama at {self.base_url}: {exc}. Start Ollama (ollama serve) "
                    "or check embedding.ollama.base_url.",
                    retryable=True,
                ) from exc
            if response.status_code != 200:
                detail = _error_text(response)
                if response.status_code == 404 and "not found" in detail:
                    detail += f"; pull it with: ollama pull {self.model}"
                raise status_error(self.name, response.status_code, detail, response.headers)
            try:
                return _decode(response.content).embeddings
            except msgspec.DecodeError as exc:
                raise EmbeddingError(
                    f"Ollama at {self.base_url} sent a malformed embedding reply: {exc}."
                ) from exc

        return await call_with_retries(call, RetryPolicy(self.settings.max_retries), self.name)

    async def close(self) -> None:
        """Close the HTTP client."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()


def _error_text(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return str(data["error"])
    return ""
