"""The embedding model interface, and the batching every model shares.

A model turns texts into vectors. Subclasses implement :meth:`_embed_batch`
for one batch; :meth:`generate_embeddings` splits the input by the configured
``batch_size``. Models that run on this machine (fastembed,
sentence-transformers) do the work in a worker thread so the event loop is
never blocked; remote ones (OpenAI, Google, Ollama) retry like providers do.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

from llmcore.config.schema import EmbeddingModelSettings
from llmcore.exceptions import EmbeddingError, InvalidRequestError
from llmcore.observability.spans import embedding_span

__all__ = ["BaseEmbeddingModel", "check_texts"]


def check_texts(texts: object) -> list[str]:
    """Return ``texts`` as a list of strings, or raise a clear error."""
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise InvalidRequestError(
            f"texts must be a list of strings, got {type(texts).__name__}; for one text use "
            "generate_embedding(text)."
        )
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise InvalidRequestError(
                f"texts[{i}] must be a string, got {type(text).__name__}. Pass each "
                "document's text."
            )
    return list(texts)


class BaseEmbeddingModel(ABC):
    """Base class of embedding models.

    Args:
        model: the model's name (``BAAI/bge-small-en-v1.5``, ``text-embedding-3-small``).
        settings: the ``[embedding.KIND]`` section.

    Attributes:
        kind: the identifier prefix (``fastembed``, ``openai``...).
    """

    kind: ClassVar[str] = ""

    def __init__(self, model: str, settings: EmbeddingModelSettings):
        if not model:
            raise EmbeddingError(
                f"No {self.kind} embedding model is named: use an identifier like "
                f"'{self.kind}:MODEL' in llmcore.default_embedding_model, or set "
                f"embedding.{self.kind}.model."
            )
        self.model = model
        self.settings = settings
        self._dimension: int | None = None

    @property
    def name(self) -> str:
        """The identifier collections remember: ``KIND:MODEL``."""
        return f"{self.kind}:{self.model}"

    @property
    def dimension(self) -> int | None:
        """The length of the vectors, once known (after loading or a first call)."""
        return self._dimension

    async def get_dimension(self) -> int:
        """The length of the vectors, embedding a probe text if it is not known yet."""
        if self._dimension is None:
            await self.generate_embedding("dimension probe")
        assert self._dimension is not None
        return self._dimension

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    async def generate_embedding(self, text: str) -> list[float]:
        """Embed one text.

        Raises:
            InvalidRequestError: ``text`` is not a string.
            EmbeddingError: the model failed.
        """
        if not isinstance(text, str):
            raise InvalidRequestError(f"text must be a string, got {type(text).__name__}.")
        return (await self.generate_embeddings([text]))[0]

    async def generate_embeddings(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed many texts, ``batch_size`` at a time, in order.

        Raises:
            InvalidRequestError: ``texts`` is not a list of strings.
            EmbeddingError: the model failed.
        """
        items = check_texts(texts)
        with embedding_span(self.kind, self.model, len(items)) as span:
            vectors = await self._embed_all(items)
            span.dimension(self._dimension)
        return vectors

    async def _embed_all(self, items: list[str]) -> list[list[float]]:
        size = self.settings.batch_size
        vectors: list[list[float]] = []
        for start in range(0, len(items), size):
            batch = items[start : start + size]
            got = await self._embed_batch(batch)
            if len(got) != len(batch):
                raise EmbeddingError(
                    f"Embedding model {self.name!r} returned {len(got)} vectors for "
                    f"{len(batch)} texts; check that the model serves embeddings."
                )
            vectors.extend(got)
        if vectors:
            self._remember_dimension(len(vectors[0]))
        return vectors

    def _remember_dimension(self, dimension: int) -> None:
        if self._dimension is None:
            self._dimension = dimension
        elif dimension != self._dimension:
            raise EmbeddingError(
                f"Embedding model {self.name!r} returned vectors of {dimension} dimensions after "
                f"returning {self._dimension}; check the model configuration."
            )

    @abstractmethod
    async def _embed_batch(self, texts: list[str]) -> list[list[float]]:
        """Embed one batch (at most ``batch_size`` texts)."""

    async def close(self) -> None:
        """Release the model's resources (clients, sessions)."""
        return None
