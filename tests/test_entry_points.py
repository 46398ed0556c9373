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
        "spec_echo = custom_stages:SpecEcho\n"
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


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_a_provider_written_to_the_spec_works_by_entry_point_and_by_path(
    plugin_dist: Path,
    make_llm: Callable[..., AbstractAsyncContextManager[LLMCore]],
    stream: bool,
) -> None:
    providers = {
        "by_entry_point": {"type": "spec_echo", "default_model": "m1"},
        "by_path": {"type": "custom_stages:SpecEcho", "default_model": "m2"},
    }
    async with make_llm(**{"providers.by_entry_point": providers["by_entry_point"],
                           "providers.by_path": providers["by_path"]}) as llm:  # fmt: skip
        replies = []
        for name in providers:
            if stream:
                chunks = await llm.chat("hi", provider_name=name, session_id=name, stream=True)
                replies.append("".join([c async for c in chunks]))
            else:
                replies.append(await llm.chat("hi", provider_name=name, session_id=name))
        stored = await llm.get_session("by_path")
    assert replies == ["by_entry_point:hi", "by_path:hi"]
    assert stored is not None and stored.messages[-1].content == "by_path:hi"
    assert stored.messages[-1].metadata["finish_reason"] == "stop"


async def test_an_unknown_provider_type_path_is_a_clear_config_error(
    make_llm: Callable[..., AbstractAsyncContextManager[LLMCore]],
) -> None:
    from llmcore import ConfigError

    async with make_llm(
        **{"providers.x": {"type": "custom_stages:Nope", "default_model": "m"}}
    ) as llm:
        with pytest.raises(ConfigError, match=r"providers\.x\.type is 'custom_stages:Nope'"):
            await llm.chat("hi", provider_name="x")
