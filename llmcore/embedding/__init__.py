"""Embedding models: turn texts into vectors for retrieval.

``llmcore.default_embedding_model`` names the model as ``KIND:MODEL``:

==========================  ==============================================
``fastembed:MODEL``         ONNX on this machine (default), no PyTorch
``sentence_transformers:M`` PyTorch on this machine (optional extra)
``openai:MODEL``            OpenAI's embeddings API (or a compatible server)
``google:MODEL``            Google's Gemini embeddings API (google-genai)
``ollama:MODEL``            an Ollama server's ``/api/embed``
==========================  ==============================================

Each kind reads its ``[embedding.KIND]`` section; ``KIND`` alone takes the
model from that section's ``model`` key. A bare model name, as the
specification writes ``"all-MiniLM-L6-v2"``, is a sentence-transformers model
(``sentence-transformers/NAME`` on the hub unless it has an ``org/``): it runs
with fastembed when fastembed is installed, else with sentence-transformers,
and the kind picked is logged once. Other packages add kinds by
registering a :class:`BaseEmbeddingModel` subclass under the
``llmcore.embedders`` entry point group.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

from llmcore._util.loading import import_object, load_entry_point
from llmcore.config.schema import EmbeddingModelSettings, LLMCoreConfig
from llmcore.config.suggest import did_you_mean
from llmcore.embedding.base import BaseEmbeddingModel
from llmcore.exceptions import ConfigError

__all__ = ["EMBEDDING_KINDS", "BaseEmbeddingModel", "create_embedding_model", "parse_identifier"]

EMBEDDING_KINDS: dict[str, str] = {
    "fastembed": "llmcore.embedding.fastembed:FastEmbedModel",
    "sentence_transformers": "llmcore.embedding.sentence_transformers:SentenceTransformerModel",
    "openai": "llmcore.embedding.openai:OpenAIEmbeddingModel",
    "google": "llmcore.embedding.google:GoogleEmbeddingModel",
    "ollama": "llmcore.embedding.ollama:OllamaEmbeddingModel",
}
_ALIASES = {"sentence-transformers": "sentence_transformers", "st": "sentence_transformers"}

logger = logging.getLogger("llmcore.embedding")
_announced: set[str] = set()
_ST_PACKAGES = ("sentence_transformers", "torch")


def parse_identifier(identifier: str) -> tuple[str, str | None]:
    """Split ``KIND:MODEL`` into its kind and model (``None`` when only a kind is given).

    Raises:
        ConfigError: the identifier names no known kind.
    """
    if ":" not in identifier:
        bare = identifier.strip()
        kind = _ALIASES.get(bare.lower(), bare.lower())
        if kind and kind not in EMBEDDING_KINDS and _plugin(kind) is None:
            return _bare_model(bare)
    kind, _, model = identifier.partition(":")
    kind = _ALIASES.get(kind.strip().lower(), kind.strip().lower())
    if kind not in EMBEDDING_KINDS and _plugin(kind) is None:
        raise ConfigError(
            f"llmcore.default_embedding_model {identifier!r} does not start with a known kind."
            f"{did_you_mean(kind, EMBEDDING_KINDS)} Use 'KIND:MODEL' with KIND one of "
            f"{', '.join(EMBEDDING_KINDS)} (or a kind an installed package registers as an "
            "'llmcore.embedders' entry point), e.g. 'fastembed:BAAI/bge-small-en-v1.5'.",
            key="llmcore.default_embedding_model",
        )
    return kind, model.strip() or None


def _bare_model(name: str) -> tuple[str, str]:
    """A sentence-transformers model name: fastembed if installed, else sentence-transformers."""
    model = name if "/" in name else f"sentence-transformers/{name}"
    # What each kind needs installed; find_spec imports none of it.
    runners = (("fastembed", ("fastembed",)), ("sentence_transformers", _ST_PACKAGES))
    for kind, packages in runners:
        if all(importlib.util.find_spec(p) is not None for p in packages):
            if name not in _announced:
                _announced.add(name)
                logger.info(
                    "Embedding model %r is the sentence-transformers model %r, run with %s "
                    "(write '%s:%s' to say so).",
                    name,
                    model,
                    kind,
                    kind,
                    model,
                )
            return kind, model
    raise ConfigError(
        f"llmcore.default_embedding_model {name!r} is a sentence-transformers model name; "
        "running it needs fastembed (pip install 'llmcore[fastembed]') or sentence-transformers "
        f"(pip install 'llmcore[sentence-transformers]'). Or name another kind as 'KIND:MODEL', "
        "e.g. 'fastembed:local-minilm' or 'openai:text-embedding-3-small'.",
        key="llmcore.default_embedding_model",
    )


def _plugin(kind: str) -> Any | None:
    # Entry points are read only for a kind that is not built in (~20 ms).
    return load_entry_point("llmcore.embedders", kind) if kind else None


def create_embedding_model(
    config: LLMCoreConfig, identifier: str | None = None
) -> BaseEmbeddingModel:
    """Build the embedding model ``identifier`` names (default: the configured one).

    Raises:
        ConfigError: the identifier is invalid or names no model.
    """
    identifier = identifier or config.llmcore.default_embedding_model
    kind, model = parse_identifier(identifier)
    settings = config.embedding.get(kind) or EmbeddingModelSettings()
    model = model or settings.model
    if not model:
        raise ConfigError(
            f"Embedding identifier {identifier!r} names no model: write '{kind}:MODEL' or set "
            f"embedding.{kind}.model.",
            key="llmcore.default_embedding_model",
        )
    cls = import_object(EMBEDDING_KINDS[kind]) if kind in EMBEDDING_KINDS else _plugin(kind)
    if not (isinstance(cls, type) and issubclass(cls, BaseEmbeddingModel)):
        raise ConfigError(
            f"The 'llmcore.embedders' entry point {kind!r} does not name a BaseEmbeddingModel "
            "subclass; fix or uninstall the package that registers it.",
            key="llmcore.default_embedding_model",
        )
    return cls(model, settings)
