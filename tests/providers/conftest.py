"""Fixtures for provider tests: one fake server per wire protocol, LLMCore factories."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from fakes._server import FakeServer
from fakes.anthropic_server import FakeAnthropicServer
from fakes.gemini_server import FakeGeminiServer
from fakes.ollama_server import FakeOllamaServer
from fakes.openai_server import FakeOpenAIServer

from llmcore import LLMCore

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]


@pytest.fixture(scope="session")
def _anthropic() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer() as server:
        yield server


@pytest.fixture(scope="session")
def _gemini() -> Iterator[FakeGeminiServer]:
    with FakeGeminiServer() as server:
        yield server


@pytest.fixture(scope="session")
def _ollama() -> Iterator[FakeOllamaServer]:
    with FakeOllamaServer() as server:
        yield server


def _fresh(server: FakeServer) -> Iterator[Any]:
    server.reset()
    yield server
    server.reset()


@pytest.fixture
def anthropic_server(_anthropic: FakeAnthropicServer) -> Iterator[FakeAnthropicServer]:
    """The fake Anthropic server, reset."""
    yield from _fresh(_anthropic)


@pytest.fixture
def gemini_server(_gemini: FakeGeminiServer) -> Iterator[FakeGeminiServer]:
    """The fake Gemini server, reset."""
    yield from _fresh(_gemini)


@pytest.fixture
def ollama_server(_ollama: FakeOllamaServer) -> Iterator[FakeOllamaServer]:
    """The fake Ollama server, reset."""
    yield from _fresh(_ollama)


@pytest.fixture
def servers(
    openai_server: FakeOpenAIServer,
    anthropic_server: FakeAnthropicServer,
    gemini_server: FakeGeminiServer,
    ollama_server: FakeOllamaServer,
) -> dict[str, Any]:
    """Every fake, by the provider name that talks to it."""
    return {
        "openai": openai_server,
        "anthropic": anthropic_server,
        "gemini": gemini_server,
        "ollama": ollama_server,
    }


@pytest.fixture
def provider_overrides(servers: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """Config pointing every provider at its fake, with fast retries and a temp SQLite file."""
    overrides: dict[str, Any] = {
        "providers.openai.api_key": "sk-test-secret",
        "providers.openai.base_url": servers["openai"].base_url,
        "providers.anthropic.api_key": "sk-ant-test-secret",
        "providers.anthropic.base_url": servers["anthropic"].url,
        "providers.gemini.api_key": "gemini-test-secret",
        "providers.gemini.base_url": servers["gemini"].url,
        "providers.ollama.base_url": servers["ollama"].url,
        "storage.session.path": str(tmp_path / "sessions.db"),
    }
    for name in ("openai", "anthropic", "gemini", "ollama"):
        overrides[f"providers.{name}.max_retries"] = 2
        overrides[f"providers.{name}.retry_backoff"] = 0.01
        overrides[f"providers.{name}.timeout"] = 5
    return overrides


@pytest.fixture
def llm_for(provider_overrides: dict[str, Any]) -> MakeLLM:
    """``async with llm_for(**overrides) as llm``: an LLMCore on the fakes."""

    @asynccontextmanager
    async def factory(**overrides: Any) -> AsyncIterator[LLMCore]:
        async with LLMCore(
            config_overrides={**provider_overrides, **overrides}, env_prefix=None
        ) as llm:
            yield llm

    return factory
