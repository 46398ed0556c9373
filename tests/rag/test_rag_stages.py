"""The embed_query and retrieve stages: options, and what they leave on the Turn."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from llmcore import LLMCore
from llmcore.exceptions import PipelineError

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]

DOCS = [
    {
        "content": "The primary programming language used in LLMCore is Python.",
        "id": "py",
        "metadata": {"lang": "en"},
    },
    {"content": "LLMCore est écrit en Python.", "id": "fr", "metadata": {"lang": "fr"}},
    {"content": "Bananas are yellow fruit.", "id": "banana", "metadata": {"lang": "en"}},
]


@pytest.fixture
def store_kind() -> str:
    """These tests are about the stages, not the stores: Chroma embedded is enough."""
    return "chroma"


async def test_stage_options_filter_and_min_score(
    make_rag_llm: MakeLLM, collection: str, tmp_path: Path
) -> None:
    (tmp_path / "strict.toml").write_text(
        'extends = "default"\n\n[options.retrieve]\nmin_score = 0.3\nfilter = { lang = "en" }\n'
    )
    async with make_rag_llm(**{"pipelines.paths": [str(tmp_path)]}) as llm:
        await llm.add_documents_to_vector_store(DOCS, collection_name=collection)
        plain = await llm.chat_turn(
            "Which language is LLMCore written in?",
            enable_rag=True,
            rag_collection_name=collection,
            rag_retrieval_k=3,
        )
        strict = await llm.chat_turn(
            "Which language is LLMCore written in?",
            enable_rag=True,
            rag_collection_name=collection,
            rag_retrieval_k=3,
            pipeline="strict",
        )
    assert len(plain.documents) == 3
    assert [d.id for d in strict.documents] == ["py"]  # fr filtered out, banana too weak
    notes = {t.name: t.notes for t in strict.trace}
    assert notes["embed_query"] == [
        "fastembed:sentence-transformers/all-MiniLM-L6-v2, 384 dimensions"
    ]
    assert f"from {collection!r}" in notes["retrieve"][0]


async def test_default_k_and_collection_come_from_config(
    make_rag_llm: MakeLLM, collection: str
) -> None:
    overrides = {
        "storage.vector.default_collection": collection,
        "context_management.rag_retrieval_k": 2,
    }
    async with make_rag_llm(**overrides) as llm:
        await llm.add_documents_to_vector_store(DOCS)  # the default collection
        turn = await llm.chat_turn("Python", enable_rag=True)
        override = await llm.chat_turn(
            "Python", enable_rag=True, context_overrides={"rag_retrieval_k": 1}
        )
    assert len(turn.documents) == 2
    assert len(override.documents) == 1


@pytest.mark.parametrize(
    ("toml", "match"),
    [
        ("[options.retrieve]\nmin_score = 2\n", "min_score"),
        ("[options.retrieve]\nfilter = { a = [1] }\n", "filter"),
        ('[options.embed_query]\nembedding_model = "word2vec:x"\n', "known kind"),
    ],
)
async def test_bad_stage_options_fail_when_the_pipeline_loads(
    make_rag_llm: MakeLLM, tmp_path: Path, toml: str, match: str
) -> None:
    (tmp_path / "bad.toml").write_text('extends = "default"\n\n' + toml)
    async with make_rag_llm(**{"pipelines.paths": [str(tmp_path)]}) as llm:
        with pytest.raises(PipelineError, match=match):
            llm.load_pipeline("bad")
