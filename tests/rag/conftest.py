"""RAG fixtures: the real local MiniLM model, the three vector stores, the embedding fake.

The model folder itself (``minilm_dir``) is the shared fixture in
``tests/minilm_fixture.py``; the examples' tests use it too.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fakes.openai_embeddings import FakeEmbeddingServer
from minilm_fixture import MODEL_ID

from llmcore import LLMCore

STORES = ("chroma", "chroma_server", "pgvector")


@pytest.fixture
def embedding_overrides(minilm_dir: Path) -> dict[str, Any]:
    """Config overrides selecting the local MiniLM through fastembed."""
    return {
        "llmcore.default_embedding_model": MODEL_ID,
        "embedding.fastembed.model_path": str(minilm_dir),
        "embedding.fastembed.threads": 1,
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A ``chroma run`` server on a free loopback port: ``(host, port)``."""
    port = _free_port()
    path = tmp_path_factory.mktemp("chroma_server")
    chroma = Path(sys.executable).parent / "chroma"
    log = open(path / "server.log", "wb")  # noqa: SIM115
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    process = subprocess.Popen(
        [
            str(chroma),
            "run",
            "--path",
            str(path / "data"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).is_success:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chroma run did not start: {(path / 'server.log').read_text()}")
            time.sleep(0.1)
        yield "127.0.0.1", port
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    """Which vector store a contract test runs against."""
    return str(request.param)


@pytest.fixture
def store_overrides(
    store_kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> dict[str, Any]:
    """Config overrides selecting ``store_kind`` (a fresh database or folder per test)."""
    if store_kind == "chroma":
        return {"storage.vector.type": "chromadb", "storage.vector.path": str(tmp_path / "chroma")}
    if store_kind == "chroma_server":
        host, port = request.getfixturevalue("chroma_server")
        return {
            "storage.vector.type": "chromadb",
            "storage.vector.host": host,
            "storage.vector.port": port,
        }
    url = request.getfixturevalue("pg_db_url")
    return {"storage.vector.type": "pgvector", "storage.vector.db_url": url}


@pytest.fixture
def collection() -> str:
    """A collection name no other test uses (the Chroma server is shared)."""
    return f"docs_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def make_rag_llm(
    make_llm: Callable[..., AbstractAsyncContextManager[LLMCore]],
    embedding_overrides: dict[str, Any],
    store_overrides: dict[str, Any],
) -> Callable[..., AbstractAsyncContextManager[LLMCore]]:
    """``async with make_rag_llm(**overrides) as llm``: the fake OpenAI chat, MiniLM, the store."""

    def factory(**overrides: Any) -> AbstractAsyncContextManager[LLMCore]:
        return make_llm(**{**embedding_overrides, **store_overrides, **overrides})

    return factory


@pytest.fixture(scope="session")
def _embedding_server() -> Iterator[FakeEmbeddingServer]:
    with FakeEmbeddingServer() as server:
        yield server


@pytest.fixture
def embedding_server(_embedding_server: FakeEmbeddingServer) -> Iterator[FakeEmbeddingServer]:
    """The fake embedding APIs, with no recorded requests or pending faults."""
    _embedding_server.reset()
    yield _embedding_server
    _embedding_server.reset()
