"""Stages and providers from other packages, found through entry points."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
from fakes.openai_server import FakeOpenAIServer

from llmcore import LLMCore


@pytest.fixture
def plugin_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Install a minimal distribution that registers a stage and a provider."""
    site = tmp_path / "site"
    dist = site / "llmcore_test_plugin-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: llmcore-test-plugin\nVersion: 1.0\n"
    )
    (dist / "entry_points.txt").write_text(
        "[llmcore.stages]\nshout = custom_stages:Shout\n\n"
        "[llmcore.providers]\nloud_openai = custom_stages:LoudOpenAI\n"
    )
    monkeypatch.syspath_prepend(str(site))
    return site


async def test_stage_and_provider_from_entry_points(
    plugin_dist: Path,
    tmp_path: Path,
    make_llm: Callable[..., AbstractAsyncContextManager[LLMCore]],
    openai_server: FakeOpenAIServer,
) -> None:
    (tmp_path / "plugged.toml").write_text(
        'extends = "default"\n[[insert]]\nname = "shout"\nafter = "select_history"\n'
    )
    async with make_llm(
        **{
            "pipelines.paths": [str(tmp_path)],
            "providers.loud": {
                "type": "loud_openai",
                "base_url": openai_server.base_url,
                "default_model": "m",
            },
        }
    ) as llm:
        reply = await llm.chat("hello", provider_name="loud", pipeline="plugged")
    assert reply == "ECHO: HELLO!"
