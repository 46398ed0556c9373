"""The vector store contract, on Chroma embedded, a Chroma server and pgvector, with MiniLM."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from fakes.openai_embeddings import FakeEmbeddingServer
from fakes.openai_server import FakeOpenAIServer

from llmcore import LLMCore
from llmcore.exceptions import InvalidRequestError, VectorStorageError

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]

EXAMPLE_DOCS = [
    {
        "content": "The Eiffel Tower is located in Paris, France.",
        "metadata": {"source": "wiki/eiffel", "lang": "en"},
        "id": "doc1",
    },
    {
        "content": "Paris is known for its museums, like the Louvre.",
        "metadata": {"source": "wiki/paris", "lang": "en"},
        "id": "doc2",
    },
    {
        "content": "The primary programming language used in LLMCore is Python.",
        "metadata": {"source": "llmcore/readme", "lang": "en", "stars": 5},
        "id": "doc3",
    },
]
QUESTION = "What language is used for LLMCore?"


async def test_example_4_the_llmcore_document_ranks_first(
    make_rag_llm: MakeLLM, collection: str
) -> None:
    async with make_rag_llm() as llm:
        ids = await llm.add_documents_to_vector_store(EXAMPLE_DOCS, collection_name=collection)
        assert ids == ["doc1", "doc2", "doc3"]
        results = await llm.search_vector_store(QUESTION, k=3, collection_name=collection)
    assert results[0].id == "doc3"
    assert results[0].content == EXAMPLE_DOCS[2]["content"]
    assert results[0].metadata == {"source": "llmcore/readme", "lang": "en", "stars": 5}
    scores = [d.score for d in results]
    assert all(s is not None and -1.0 <= s <= 1.0001 for s in scores)
    assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    assert scores[0] > 0.5 > scores[1]  # type: ignore[operator]


async def test_metadata_filters(make_rag_llm: MakeLLM, collection: str) -> None:
    async with make_rag_llm() as llm:
        await llm.add_documents_to_vector_store(EXAMPLE_DOCS, collection_name=collection)
        only_paris = await llm.search_vector_store(
            QUESTION, k=3, collection_name=collection, filter_metadata={"source": "wiki/paris"}
        )
        both = await llm.search_vector_store(
            "Paris", k=3, collection_name=collection, filter_metadata={"lang": "en", "stars": 5}
        )
        none = await llm.search_vector_store(
            QUESTION, k=3, collection_name=collection, filter_metadata={"lang": "fr"}
        )
    assert [d.id for d in only_paris] == ["doc2"]
    assert [d.id for d in both] == ["doc3"]
    assert none == []


async def test_adding_an_existing_id_replaces_the_document(
    make_rag_llm: MakeLLM, collection: str
) -> None:
    async with make_rag_llm() as llm:
        await llm.add_documents_to_vector_store(EXAMPLE_DOCS, collection_name=collection)
        new_id = await llm.add_document_to_vector_store(
            "LLMCore is written in Rust these days.",
            metadata={"source": "llmcore/changelog"},
            doc_id="doc3",
            collection_name=collection,
        )
        results = await llm.search_vector_store(QUESTION, k=5, collection_name=collection)
        info = [c for c in await llm.list_collections() if c.name == collection]
    assert new_id == "doc3"
    assert len(results) == 3
    assert results[0].id == "doc3"
    assert results[0].content == "LLMCore is written in Rust these days."
    assert results[0].metadata == {"source": "llmcore/changelog"}
    assert info[0].count == 3


async def test_generated_ids_are_unique_and_returned_in_order(
    make_rag_llm: MakeLLM, collection: str
) -> None:
    async with make_rag_llm() as llm:
        ids = await llm.add_documents_to_vector_store(
            ["alpha", {"content": "beta"}, "gamma"], collection_name=collection, batch_size=2
        )
        results = await llm.search_vector_store("beta", k=1, collection_name=collection)
    assert len(set(ids)) == 3
    assert results[0].id == ids[1]


async def test_delete_documents(make_rag_llm: MakeLLM, collection: str) -> None:
    async with make_rag_llm() as llm:
        await llm.add_documents_to_vector_store(EXAMPLE_DOCS, collection_name=collection)
        assert await llm.delete_documents_from_vector_store(
            ["doc3", "nope"], collection_name=collection
        )
        assert not await llm.delete_documents_from_vector_store(
            ["doc3"], collection_name=collection
        )
        assert not await llm.delete_documents_from_vector_store(["doc1"], collection_name="no_such")
        results = await llm.search_vector_store(QUESTION, k=5, collection_name=collection)
    assert sorted(d.id for d in results) == ["doc1", "doc2"]


async def test_collections_are_shared_by_instances_and_survive_a_restart(
    make_rag_llm: MakeLLM, collection: str
) -> None:
    async with make_rag_llm() as writer, make_rag_llm() as reader:
        await writer.add_documents_to_vector_store(EXAMPLE_DOCS, collection_name=collection)
        seen = await reader.search_vector_store(QUESTION, k=1, collection_name=collection)
        assert [d.id for d in seen] == ["doc3"]
    async with make_rag_llm() as restarted:
        again = await restarted.search_vector_store(QUESTION, k=1, collection_name=collection)
        infos = {c.name: c for c in await restarted.list_collections()}
        assert [d.id for d in again] == ["doc3"]
        info = infos[collection]
        assert (info.embedding_model, info.dimension, info.count) == (
            "fastembed:sentence-transformers/all-MiniLM-L6-v2",
            384,
            3,
        )
        assert await restarted.delete_collection(collection)
        assert not await restarted.delete_collection(collection)
        assert collection not in {c.name for c in await restarted.list_collections()}
        with pytest.raises(VectorStorageError, match="does not exist"):
            await restarted.search_vector_store(QUESTION, k=1, collection_name=collection)


async def test_another_embedding_model_is_refused(
    make_rag_llm: MakeLLM, collection: str, embedding_server: FakeEmbeddingServer
) -> None:
    async with make_rag_llm() as llm:
        await llm.add_documents_to_vector_store(EXAMPLE_DOCS, collection_name=collection)
    other = {
        "llmcore.default_embedding_model": "openai:fake-embedding-32",
        "embedding.openai.base_url": embedding_server.url + "/v1",
        "embedding.openai.api_key": "sk-test",
    }
    async with make_rag_llm(**other) as llm:
        with pytest.raises(VectorStorageError) as info:
            await llm.add_documents_to_vector_store(["more"], collection_name=collection)
        message = str(info.value)
        assert "384" in message and "32" in message
        assert "fastembed:sentence-transformers/all-MiniLM-L6-v2" in message
        assert "openai:fake-embedding-32" in message
        with pytest.raises(VectorStorageError, match="cannot be compared"):
            await llm.search_vector_store(QUESTION, k=1, collection_name=collection)
    async with make_rag_llm() as llm:
        info2 = [c for c in await llm.list_collections() if c.name == collection]
        assert info2[0].count == 3  # nothing of the refused call was stored


@pytest.mark.parametrize("strategy", ["prepend_system", "prepend_user"])
async def test_rag_chat_sends_the_retrieved_text(
    make_rag_llm: MakeLLM, collection: str, openai_server: FakeOpenAIServer, strategy: str
) -> None:
    async with make_rag_llm(**{"context_management.rag_combination_strategy": strategy}) as llm:
        await llm.add_documents_to_vector_store(EXAMPLE_DOCS, collection_name=collection)
        turn = await llm.chat_turn(
            "What programming language is mentioned in the documents?",
            enable_rag=True,
            rag_collection_name=collection,
            rag_retrieval_k=1,
            system_message="Answer based only on the provided context documents.",
        )
    assert [d.id for d in turn.documents] == ["doc3"]
    assert turn.documents[0].score is not None and turn.documents[0].score > 0.3
    assert turn.query_embedding is not None and len(turn.query_embedding) == 384
    request = openai_server.last_request
    assert request is not None
    messages = request.json["messages"]
    holder = [m for m in messages if EXAMPLE_DOCS[2]["content"] in m["content"]]
    assert len(holder) == 1
    assert holder[0]["role"] == ("system" if strategy == "prepend_system" else "user")
    assert not any("Eiffel" in m["content"] for m in messages)


async def test_rag_off_touches_no_store(
    make_rag_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    async with make_rag_llm() as llm:
        turn = await llm.chat_turn("Hello")
        assert turn.documents == [] and turn.query_embedding is None
        assert llm.services._vector_store is None


async def test_rag_chat_on_a_missing_collection_says_so(make_rag_llm: MakeLLM) -> None:
    async with make_rag_llm() as llm:
        with pytest.raises(VectorStorageError, match="'nothing_here' does not exist"):
            await llm.chat("Hi", enable_rag=True, rag_collection_name="nothing_here")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"documents": [{"content": "x", "metadata": {"a": {"b": 1}}}]}, "Flatten nested"),
        ({"documents": [{"content": "  "}]}, "non-empty text"),
        ({"documents": [{"content": "x", "url": "y"}]}, "unknown key"),
        ({"documents": [{"content": "a", "id": "1"}, {"content": "b", "id": "1"}]}, "twice"),
        ({"documents": "just a string"}, "must be a list"),
        ({"documents": ["x"], "collection_name": "a/b"}, "Invalid collection name"),
        ({"documents": ["x"], "batch_size": 0}, "batch_size"),
    ],
)
async def test_bad_documents_are_refused_before_anything_is_stored(
    make_rag_llm: MakeLLM, collection: str, kwargs: dict[str, Any], match: str
) -> None:
    async with make_rag_llm() as llm:
        kwargs.setdefault("collection_name", collection)
        with pytest.raises(InvalidRequestError, match=match):
            await llm.add_documents_to_vector_store(**kwargs)
        assert collection not in {c.name for c in await llm.list_collections()}


async def test_bad_searches_are_refused(make_rag_llm: MakeLLM, collection: str) -> None:
    async with make_rag_llm() as llm:
        await llm.add_documents_to_vector_store(EXAMPLE_DOCS[:1], collection_name=collection)
        with pytest.raises(InvalidRequestError, match="k must be a positive integer"):
            await llm.search_vector_store("x", k=0, collection_name=collection)
        with pytest.raises(InvalidRequestError, match="query must be a non-empty string"):
            await llm.search_vector_store("", k=1, collection_name=collection)
        with pytest.raises(InvalidRequestError, match="filter"):
            await llm.search_vector_store(
                "x", k=1, collection_name=collection, filter_metadata={"a": [1]}
            )
