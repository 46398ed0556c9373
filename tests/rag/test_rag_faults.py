"""Faults during ingestion never leave partial or corrupt collections behind."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from fakes.openai_embeddings import FakeEmbeddingServer, Fault

from llmcore import LLMCore
from llmcore.exceptions import EmbeddingError, VectorStorageError
from llmcore.storage.vectors.pgvector import PgVectorStorage

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]


def _fake_embedder(server: FakeEmbeddingServer) -> dict[str, Any]:
    return {
        "llmcore.default_embedding_model": "openai:fake-embedding-32",
        "embedding.openai.base_url": server.url + "/v1",
        "embedding.openai.api_key": "sk-test",
        "embedding.openai.max_retries": 1,
    }


async def test_an_embedding_failure_midway_keeps_whole_batches_and_can_be_repeated(
    make_rag_llm: MakeLLM, collection: str, embedding_server: FakeEmbeddingServer
) -> None:
    docs = [{"content": f"document number {i}", "id": f"d{i}"} for i in range(5)]
    async with make_rag_llm(**_fake_embedder(embedding_server)) as llm:
        # Batch 1 embeds; batch 2 fails twice (the call and its one retry).
        embedding_server.fail(Fault(), Fault(status=500), Fault(status=500))
        with pytest.raises(EmbeddingError, match="HTTP 500"):
            await llm.add_documents_to_vector_store(docs, collection_name=collection, batch_size=2)
        stored = await llm.search_vector_store("document", k=10, collection_name=collection)
        assert sorted(d.id for d in stored) == ["d0", "d1"]
        ids = await llm.add_documents_to_vector_store(
            docs, collection_name=collection, batch_size=2
        )
        stored = await llm.search_vector_store("document", k=10, collection_name=collection)
    assert ids == [d["id"] for d in docs]
    assert sorted(d.id for d in stored) == ["d0", "d1", "d2", "d3", "d4"]


async def test_pgvector_a_failed_write_rolls_back_its_whole_batch(
    pg_db_url: str, embedding_server: FakeEmbeddingServer, make_llm: MakeLLM, collection: str
) -> None:
    overrides = {
        **_fake_embedder(embedding_server),
        "storage.vector.type": "pgvector",
        "storage.vector.db_url": pg_db_url,
    }
    async with make_llm(**overrides) as llm:
        await llm.add_documents_to_vector_store(
            [{"content": "kept safe", "id": "old"}], collection_name=collection
        )
        # PostgreSQL text cannot hold NUL: the second row fails the batch's write.
        batch = [
            {"content": "fine one", "id": "old"},
            {"content": "bad \x00 byte", "id": "new"},
        ]
        with pytest.raises(VectorStorageError, match="failed to add_documents"):
            await llm.add_documents_to_vector_store(batch, collection_name=collection)
        stored = await llm.search_vector_store("kept", k=10, collection_name=collection)
    assert [(d.id, d.content) for d in stored] == [("old", "kept safe")]


async def test_pgvector_without_the_extension_says_how_to_get_it(pg_db_url: str) -> None:
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    # The vector extension is untrusted: a role that is not superuser cannot create it.
    with psycopg.connect(pg_db_url, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS llmcore_plain")
        conn.execute("CREATE ROLE llmcore_plain LOGIN PASSWORD 'plain'")
        conn.execute(
            f'GRANT ALL ON DATABASE "{conninfo_to_dict(pg_db_url)["dbname"]}" TO llmcore_plain'
        )
        conn.execute("GRANT ALL ON SCHEMA public TO llmcore_plain")
    params = conninfo_to_dict(pg_db_url)
    params.update(user="llmcore_plain", password="plain")
    store = PgVectorStorage(make_conninfo(**params))
    try:
        with pytest.raises(VectorStorageError, match="pgvector extension is not available") as info:
            await store.initialize()
        assert "CREATE EXTENSION vector" in str(info.value)
        assert "plain'" not in str(info.value)  # no password in the message
    finally:
        await store.close()
        with psycopg.connect(pg_db_url, autocommit=True) as conn:
            conn.execute("DROP OWNED BY llmcore_plain")
            conn.execute("DROP ROLE llmcore_plain")


async def test_pgvector_unreachable_server_is_a_clear_error() -> None:
    store = PgVectorStorage("postgresql://nobody:secret@127.0.0.1:9/none", timeout=1)
    with pytest.raises(VectorStorageError, match=r"storage\.vector\.db_url") as info:
        await store.initialize()
    assert "secret" not in str(info.value)
    await store.close()


def test_pgvector_bad_table_name_is_a_config_error() -> None:
    from llmcore.exceptions import ConfigError

    with pytest.raises(ConfigError, match="table_prefix"):
        PgVectorStorage("postgresql://x@y/z", table_name="drop table;")
