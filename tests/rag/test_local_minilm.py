"""The built-in embedding model, ``fastembed:local-minilm``: no download, no assembly.

It is the default embedder, and a model that would need a download fails at
once (tests/cli/test_offline_rag.py runs both failures through llmchat).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import msgspec
import pytest

from llmcore.config.loader import load_config
from llmcore.config.schema import LLMCoreConfig
from llmcore.embedding import create_embedding_model
from llmcore.exceptions import EmbeddingError

TEXTS = ["The Eiffel Tower is in Paris.", "Paris is the capital of France.", "Snakes are reptiles."]


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))  # both are normalised


def test_the_default_embedder_is_the_built_in_model() -> None:
    config = load_config(env_prefix=None).config
    assert config.llmcore.default_embedding_model == "fastembed:local-minilm"
    assert create_embedding_model(config).name == "fastembed:local-minilm"


async def test_local_minilm_embeds_with_no_settings(minilm_dir: Path) -> None:
    model = create_embedding_model(LLMCoreConfig(), "fastembed:local-minilm")
    vectors = await model.generate_embeddings(TEXTS)
    assert model.dimension == 384
    assert all(abs(math.hypot(*v) - 1) < 1e-3 for v in vectors)
    assert _cosine(vectors[0], vectors[1]) > _cosine(vectors[0], vectors[2])
    # The same model as the one the RAG tests assemble by hand from the two packages.
    by_hand = create_embedding_model(
        msgspec.convert(
            {"embedding": {"fastembed": {"model_path": str(minilm_dir)}}}, LLMCoreConfig
        ),
        "fastembed:sentence-transformers/all-MiniLM-L6-v2",
    )
    again = await by_hand.generate_embeddings(TEXTS)
    assert all(_cosine(a, b) > 0.9999 for a, b in zip(vectors, again, strict=True))
    folder = model._assembled
    assert folder is not None and folder.is_dir()
    await model.close()
    await by_hand.close()
    assert not folder.exists()  # the linked folder goes with the model


async def test_a_model_that_needs_a_download_fails_at_once() -> None:
    model = create_embedding_model(LLMCoreConfig(), "fastembed:BAAI/bge-base-en-v1.5")
    started = time.perf_counter()
    with pytest.raises(EmbeddingError) as caught:
        await model.generate_embedding("hello")
    assert time.perf_counter() - started < 5
    message = str(caught.value)
    assert "\n" not in message
    assert "not on this machine" in message
    assert "pip install 'llmcore[local]'" in message
    assert "embedding.fastembed.model_path" in message
