"""Embedding models from other packages, found through the ``llmcore.embedders`` entry points."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from llmcore import ConfigError, LLMCore

PLUGIN = '''
import math

from llmcore.embedding import BaseEmbeddingModel


class LetterEmbedder(BaseEmbeddingModel):
    """Letter frequencies: close texts share letters."""

    kind = "letters"

    async def _embed_batch(self, texts):
        vectors = []
        for text in texts:
            counts = [text.lower().count(c) for c in "abcdefghijklmnopqrstuvwxyz"]
            norm = math.sqrt(sum(c * c for c in counts)) or 1.0
            vectors.append([c / norm for c in counts])
        return vectors


class NotAnEmbedder:
    pass
'''


@pytest.fixture
def plugin_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Install a minimal distribution registering two embedders, one of them broken."""
    site = tmp_path / "site"
    dist = site / "llmcore_embedder_plugin-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: llmcore-embedder-plugin\nVersion: 1.0\n"
    )
    (dist / "entry_points.txt").write_text(
        "[llmcore.embedders]\nletters = letter_embedder:LetterEmbedder\n"
        "broken = letter_embedder:NotAnEmbedder\n"
    )
    (site / "letter_embedder.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(site))
    return site


async def test_an_entry_point_embedder_builds_and_searches_a_collection(
    plugin_dist: Path,
    tmp_path: Path,
    make_llm: Callable[..., AbstractAsyncContextManager[LLMCore]],
) -> None:
    async with make_llm(
        **{
            "llmcore.default_embedding_model": "letters:v1",
            "storage.vector.path": str(tmp_path / "chroma"),
        }
    ) as llm:
        await llm.add_documents_to_vector_store(
            [{"id": "a", "content": "aaaa bbb"}, {"id": "z", "content": "zzzz yyy"}],
            collection_name="plug",
        )
        (best,) = await llm.search_vector_store("zzz", k=1, collection_name="plug")
        (info,) = [c for c in await llm.list_collections() if c.name == "plug"]
    assert best.id == "z"
    assert info.embedding_model == "letters:v1"


async def test_an_entry_point_that_is_not_an_embedder_is_a_config_error(
    plugin_dist: Path, make_llm: Callable[..., AbstractAsyncContextManager[LLMCore]]
) -> None:
    async with make_llm(**{"llmcore.default_embedding_model": "broken:v1"}) as llm:
        with pytest.raises(ConfigError, match="does not name a BaseEmbeddingModel"):
            llm.services.embedder()


async def test_an_unknown_kind_mentions_entry_points(
    make_llm: Callable[..., AbstractAsyncContextManager[LLMCore]],
) -> None:
    async with make_llm(**{"llmcore.default_embedding_model": "nosuch:v1"}) as llm:
        with pytest.raises(ConfigError, match=r"known kind.*'llmcore\.embedders' entry point"):
            llm.services.embedder()
