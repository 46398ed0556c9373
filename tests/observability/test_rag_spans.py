"""A RAG turn's spans: the query's embedding under embed_query; ingestion outside turns."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from minilm_fixture import MODEL_ID
from opentelemetry.trace import SpanKind
from otel_trees import Spans

from llmcore import LLMCore

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]

MODEL = MODEL_ID.split(":", 1)[1]
DOCS = [
    {"content": "The primary programming language used in LLMCore is Python.", "id": "py"},
    {"content": "LLMCore est écrit en Python.", "id": "fr"},
    {"content": "Bananas are yellow fruit.", "id": "banana"},
]


async def test_a_rag_turn_has_its_embedding_call_under_embed_query(
    make_llm: MakeLLM, minilm_dir: Path, tmp_path: Path, spans: Spans
) -> None:
    overrides = {
        "llmcore.default_embedding_model": MODEL_ID,
        "embedding.fastembed.model_path": str(minilm_dir),
        "embedding.fastembed.threads": 1,
        "storage.vector.type": "chromadb",
        "storage.vector.path": str(tmp_path / "chroma"),
        # Room for the question and about one document: the others are dropped.
        "providers.openai.context_lengths": {"gpt-4o-mini": 100},
        "context_management.reserved_response_tokens": 20,
        "context_management.truncation_priority": "rag",
    }
    async with make_llm(**overrides) as llm:
        await llm.add_documents_to_vector_store(DOCS, collection_name="docs")
        # Ingestion is no turn: its embedding call is a span of its own.
        (ingest,) = spans.roots()
        assert ingest.name == f"embeddings {MODEL}"
        assert ingest.attributes["llmcore.embedding.inputs"] == 3
        spans.clear()
        turn = await llm.chat_turn(
            "Which language is LLMCore written in?",
            enable_rag=True,
            rag_collection_name="docs",
            rag_retrieval_k=3,
        )
    root = spans.turn()
    persist = root.child("persist")
    embed = persist.child("embed_query")
    (call,) = embed.children
    assert call.name == f"embeddings {MODEL}"
    assert call.span.kind is SpanKind.INTERNAL  # fastembed runs in this process
    assert call.attributes == {
        "gen_ai.operation.name": "embeddings",
        "gen_ai.provider.name": "fastembed",
        "gen_ai.request.model": MODEL,
        "gen_ai.embeddings.dimension.count": 384,
        "llmcore.embedding.inputs": 1,
    }
    retrieve = persist.child("retrieve")
    assert any("docs" in (e.attributes or {}).get("llmcore.note", "") for e in retrieve.span.events)
    attributes = root.attributes
    assert attributes["llmcore.context.documents_sent"] == len(turn.documents)
    assert attributes["llmcore.context.documents_left_out"] == len(turn.context.dropped_documents)
    assert turn.context.dropped_documents  # the window made truncate choose
    truncate = persist.child("truncate")
    assert [e.name for e in truncate.span.events] == ["llmcore.stage.note"]
