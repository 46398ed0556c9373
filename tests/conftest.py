"""Shared fixtures: both async backends, the fake OpenAI server, LLMCore factories."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from fakes.openai_server import FakeOpenAIServer

from llmcore import LLMCore

pytest_plugins = ["pg_fixture", "minilm_fixture"]


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run every async test under asyncio and under trio."""
    return str(request.param)


@pytest.fixture(scope="session")
def _openai_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def openai_server(_openai_server: FakeOpenAIServer) -> Iterator[FakeOpenAIServer]:
    """The fake OpenAI server, with no scripted replies or recorded requests."""
    _openai_server.reset()
    yield _openai_server
    _openai_server.reset()


@pytest.fixture
def base_overrides(openai_server: FakeOpenAIServer, tmp_path: Path) -> dict[str, Any]:
    """Config overrides pointing llmcore at the fake server and a temp SQLite file."""
    return {
        "providers.openai.api_key": "sk-test-secret",
        "providers.openai.base_url": openai_server.base_url,
        "providers.openai.max_retries": 0,
        "storage.session.path": str(tmp_path / "sessions.db"),
    }


@pytest.fixture
def make_llm(
    base_overrides: dict[str, Any],
) -> Callable[..., AbstractAsyncContextManager[LLMCore]]:
    """Build an LLMCore on the fake server: ``async with make_llm(**overrides) as llm``."""

    @asynccontextmanager
    async def factory(**overrides: Any) -> AsyncIterator[LLMCore]:
        async with LLMCore(
            config_overrides={**base_overrides, **overrides}, env_prefix=None
        ) as llm:
            yield llm

    return factory


@pytest.fixture(autouse=True, scope="session")
def _no_user_config_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """LLMCore() reads ~/.config/llmcore/config.toml: never the developer's in tests."""
    import os

    before = os.environ.get("XDG_CONFIG_HOME")
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("xdg-config-home"))
    yield
    if before is None:
        os.environ.pop("XDG_CONFIG_HOME", None)
    else:
        os.environ["XDG_CONFIG_HOME"] = before


@pytest.fixture(autouse=True)
def _quiet_llmcore_logger() -> Iterator[None]:
    # LLMCore sets the level from config; restore it so caplog works across tests.
    logger = logging.getLogger("llmcore")
    level = logger.level
    yield
    logger.setLevel(level)


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> None:
    """Run every ``async def`` test through anyio (on both backends)."""
    import inspect

    if inspect.iscoroutinefunction(obj) and name.startswith("test"):
        pytest.mark.anyio(obj)
