"""sentence-transformers: PyTorch models on this machine (optional extra).

``sentence_transformers:all-MiniLM-L6-v2`` names a model on the Hugging Face
hub (downloaded on first use), or ``[embedding.sentence_transformers]
model_path`` a local folder in the sentence-transformers layout. Vectors are
normalised, so cosine similarity and dot product agree. Loading and encoding
run in a worker thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from llmcore.config.schema import EmbeddingModelSettings
from llmcore.embedding.base import BaseEmbeddingModel
from llmcore.exceptions import EmbeddingError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["SentenceTransformerModel"]


class SentenceTransformerModel(BaseEmbeddingModel):
    """A ``SentenceTransformer`` on the CPU (or GPU if torch has one), in a worker thread.

    Settings (``[embedding.sentence_transformers]``): ``model_path``,
    ``batch_size``, ``threads`` (torch's intra-op threads).
    """

    kind = "sentence_transformers"

    _encoder: SentenceTransformer | None = None

    def __init__(self, model: str, settings: EmbeddingModelSettings):
        super().__init__(model, settings)
        self._load_lock = anyio.Lock()

    async def _get_encoder(self) -> SentenceTransformer:
        if self._encoder is None:
            async with self._load_lock:
                if self._encoder is None:
                    self._encoder = await anyio.to_thread.run_sync(self._load)
        return self._encoder

    def _load(self) -> SentenceTransformer:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbeddingError(
                "The sentence-transformers package is not installed: "
                "pip install 'llmcore[sentence-transformers]'."
            ) from exc
        source = self.model
        path = self.settings.model_path
        if path is not None:
            folder = Path(path).expanduser()
            if not folder.is_dir():
                raise EmbeddingError(
                    f"embedding.sentence_transformers.model_path {str(folder)!r} is not a "
                    "folder. Point it at a saved sentence-transformers model."
                )
            source = str(folder)
        if self.settings.threads:
            import torch

            torch.set_num_threads(self.settings.threads)
        kwargs: dict[str, Any] = {"device": "cpu"} if path is not None else {}
        try:
            encoder = SentenceTransformer(source, local_files_only=path is not None, **kwargs)
        except Exception as exc:
            raise EmbeddingError(
                f"Cannot load sentence-transformers model {source!r}: {type(exc).__name__}: "
                f"{str(exc)[:300]}. Offline, set embedding.sentence_transformers.model_path to a "
                "local model folder."
            ) from exc
        getter = (
            getattr(encoder, "get_embedding_dimension", None)
            or encoder.get_sentence_embedding_dimension
        )
        dimension = getter()
        if dimension:
            self._dimension = int(dimension)
        return encoder

    async def _embed_batch(self, texts: list[str]) -> list[list[float]]:
        encoder = await self._get_encoder()

        def run() -> list[list[float]]:
            vectors = encoder.encode(
                texts,
                batch_size=len(texts) or 1,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            return [v.tolist() for v in vectors]

        try:
            return await anyio.to_thread.run_sync(run)
        except Exception as exc:
            raise EmbeddingError(
                f"sentence-transformers model {self.model!r} failed to embed {len(texts)} "
                f"texts: {type(exc).__name__}: {str(exc)[:300]}"
            ) from exc

    async def close(self) -> None:
        """Drop the model."""
        self._encoder = None
