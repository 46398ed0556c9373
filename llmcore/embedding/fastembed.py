"""fastembed: ONNX models on this machine, no PyTorch (the default embedder).

``fastembed:local-minilm`` (the default) is all-MiniLM-L6-v2 as registry
packages ship it (:mod:`llmcore.embedding.bundled`): nothing is downloaded.
Any other name is one of fastembed's models, loaded from
``[embedding.fastembed] model_path`` (a folder with ``model.onnx`` plus
``tokenizer.json``, ``config.json``, ``special_tokens_map.json``,
``tokenizer_config.json``) or from fastembed's cache; it is downloaded into
that cache only when ``download = true``, so an offline machine gets one
clear error at once instead of a minute of retries. A model fastembed does
not know is registered from ``model_path`` with
``TextEmbedding.add_custom_model``: mean pooling and normalised vectors
unless ``pooling``/``normalize`` say otherwise, the dimension from
``config.json``.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from llmcore.config.schema import EmbeddingModelSettings
from llmcore.embedding import bundled
from llmcore.embedding.base import BaseEmbeddingModel
from llmcore.exceptions import EmbeddingError

if TYPE_CHECKING:
    from fastembed import TextEmbedding

__all__ = ["FastEmbedModel"]

_register_lock = threading.Lock()


class FastEmbedModel(BaseEmbeddingModel):
    """A fastembed ``TextEmbedding`` run in a worker thread.

    Settings (``[embedding.fastembed]``): ``model_path``, ``download``
    (let fastembed download a model missing from its cache), ``threads``
    (onnxruntime threads; default: all cores), ``batch_size``, and for a model
    fastembed does not know, ``pooling`` (``mean`` or ``cls``), ``normalize``,
    ``dimension`` and ``model_file``.
    """

    kind = "fastembed"

    _encoder: TextEmbedding | None = None
    _assembled: Path | None = None

    def __init__(self, model: str, settings: EmbeddingModelSettings):
        super().__init__(model, settings)
        self._load_lock = anyio.Lock()

    async def _get_encoder(self) -> TextEmbedding:
        if self._encoder is None:
            async with self._load_lock:
                if self._encoder is None:
                    self._encoder = await anyio.to_thread.run_sync(self._load)
        return self._encoder

    def _load(self) -> TextEmbedding:
        try:
            from fastembed import TextEmbedding
        except ImportError as exc:
            raise EmbeddingError(
                "The fastembed package is not installed: pip install 'llmcore[local]' (or "
                "'llmcore[fastembed]')."
            ) from exc
        kwargs: dict[str, Any] = {"threads": self.settings.threads}
        name, path = self.model, self.settings.model_path
        if name.lower() == bundled.LOCAL_MODEL:
            name = bundled.FASTEMBED_NAME
            if path is None:
                self._assembled = bundled.assemble()
                kwargs["specific_model_path"] = str(self._assembled)
        if path is not None:
            folder = Path(path).expanduser()
            if not folder.is_dir():
                raise EmbeddingError(
                    f"embedding.fastembed.model_path {str(folder)!r} is not a folder. Point it at "
                    "the folder holding the model's ONNX file and tokenizer files."
                )
            kwargs["specific_model_path"] = str(folder)
            if not _is_known(TextEmbedding, name):
                self._register(TextEmbedding, folder)
        elif "specific_model_path" not in kwargs and not self.settings.download:
            kwargs["local_files_only"] = True
        try:
            with _quiet_fastembed():
                encoder = TextEmbedding(name, **kwargs)
        except Exception as exc:
            self._remove_folder()
            raise self._load_error(exc, kwargs) from exc
        self._dimension = int(encoder.embedding_size)
        return encoder

    def _load_error(self, exc: Exception, kwargs: dict[str, Any]) -> EmbeddingError:
        if kwargs.get("local_files_only"):
            return EmbeddingError(
                f"fastembed model {self.model!r} is not on this machine and downloads are off: "
                f"use the built-in 'fastembed:{bundled.LOCAL_MODEL}' (pip install "
                "'llmcore[local]'), set embedding.fastembed.model_path to a folder holding the "
                "model, or set embedding.fastembed.download = true."
            )
        where = kwargs.get("specific_model_path") or "(downloaded into fastembed's cache)"
        return EmbeddingError(
            f"Cannot load fastembed model {self.model!r} from {where}: {type(exc).__name__}: "
            f"{' '.join(str(exc).split())[:300]}"
        )

    def _register(self, cls: type[TextEmbedding], folder: Path) -> None:
        from fastembed.common.model_description import ModelSource, PoolingType

        settings = self.settings
        pooling = (settings.pooling or _folder_pooling(folder) or "mean").upper()
        dimension = settings.dimension or _folder_dimension(folder)
        if dimension is None:
            raise EmbeddingError(
                f"Cannot tell the dimension of fastembed model {self.model!r}: "
                f"{folder}/config.json has no hidden_size. Set embedding.fastembed.dimension."
            )
        model_file = settings.model_file or (
            "model.onnx" if (folder / "model.onnx").exists() else "onnx/model.onnx"
        )
        with _register_lock:
            if _is_known(cls, self.model):
                return
            cls.add_custom_model(
                model=self.model,
                pooling=PoolingType[pooling],
                normalization=settings.normalize,
                sources=ModelSource(hf=self.model),
                dim=dimension,
                model_file=model_file,
            )

    async def _embed_batch(self, texts: list[str]) -> list[list[float]]:
        encoder = await self._get_encoder()

        def run() -> list[list[float]]:
            return [v.tolist() for v in encoder.embed(texts, batch_size=len(texts) or 1)]

        try:
            return await anyio.to_thread.run_sync(run)
        except Exception as exc:
            raise EmbeddingError(
                f"fastembed model {self.model!r} failed to embed {len(texts)} texts: "
                f"{type(exc).__name__}: {str(exc)[:300]}"
            ) from exc

    async def close(self) -> None:
        """Drop the ONNX session (and the folder the built-in model was linked into)."""
        self._encoder = None
        self._remove_folder()

    def _remove_folder(self) -> None:
        folder, self._assembled = self._assembled, None
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def _is_known(cls: type[TextEmbedding], model: str) -> bool:
    wanted = model.lower()
    return any(m["model"].lower() == wanted for m in cls.list_supported_models())


@contextmanager
def _quiet_fastembed() -> Iterator[None]:
    """Keep fastembed's own (loguru) log lines out while it loads: llmcore reports the failure."""
    try:
        from loguru import logger
    except ImportError:
        yield
        return
    logger.disable("fastembed")
    try:
        yield
    finally:
        logger.enable("fastembed")


def _folder_pooling(folder: Path) -> str | None:
    """The pooling a sentence-transformers folder declares in ``1_Pooling/config.json``."""
    try:
        config = json.loads((folder / "1_Pooling" / "config.json").read_text())
    except (OSError, ValueError):
        return None
    if config.get("pooling_mode_cls_token"):
        return "cls"
    if config.get("pooling_mode_mean_tokens"):
        return "mean"
    return None


def _folder_dimension(folder: Path) -> int | None:
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return None
    size = config.get("hidden_size") or config.get("dim") or config.get("d_model")
    return int(size) if isinstance(size, int) else None
