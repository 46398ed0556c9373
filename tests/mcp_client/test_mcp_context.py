"""The MCP payload used: turn.mcp_payload, the served context prompt, no SDK (issue 14, item 13)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from fakes.openai_server import FakeOpenAIServer
from mcp import Client
from mcp.shared.exceptions import MCPError as SDKError

from llmcore import LLMCore, MCPError, PipelineError
from llmcore.mcp.format import MCPPayload, from_mcp
from llmcore.mcp.serve import build_server

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]


async def test_turn_mcp_payload_is_what_was_sent(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    async with make_llm(**{"llmcore.enable_mcp": True}) as llm:
        turn = await llm.chat_turn("Hi", system_message="Be brief.")
    assert isinstance(turn.mcp_payload, MCPPayload)
    assert [b.text for b in turn.mcp_payload.system] == ["Be brief."]
    assert [(m.role, m.content.text) for m in turn.mcp_payload.messages] == [("user", "Hi")]
    assert openai_server.last_request is not None
    assert openai_server.last_request.json["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
    ]


async def test_prepare_context_calls_no_model_and_stores_nothing(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    async with make_llm() as llm:
        await llm.chat("My name is Alex.", session_id="s", system_message="Be brief.")
        calls = len(openai_server.requests)
        turn = await llm.prepare_context("What is my name?", session_id="s")
        session = await llm.get_session("s")
    assert len(openai_server.requests) == calls
    assert [(m.role.value, m.content) for m in turn.payload] == [
        ("system", "Be brief."),
        ("user", "My name is Alex."),
        ("assistant", "echo: My name is Alex."),
        ("user", "What is my name?"),
    ]
    assert turn.budget.total_used > 0 and turn.response.text == ""
    assert session is not None and len(session.messages) == 3  # nothing added


async def test_prepare_context_needs_a_call_provider_stage(
    make_llm: MakeLLM, tmp_path: Path
) -> None:
    definition = tmp_path / "no_model.toml"
    definition.write_text('extends = "default"\nremove = ["call_provider"]\n')
    async with make_llm() as llm:
        with pytest.raises(PipelineError, match="no call_provider stage"):
            await llm.prepare_context("Hi", pipeline=str(definition))


@pytest.fixture
def served(base_overrides: dict[str, Any]) -> Callable[..., Client]:
    def client(*, sessions: bool) -> Client:
        llm = LLMCore(config_overrides=base_overrides, env_prefix=None)
        return Client(build_server(llm, sessions=sessions))

    return client


async def test_the_context_prompt_returns_llmcores_context(
    served: Callable[..., Client], base_overrides: dict[str, Any], openai_server: FakeOpenAIServer
) -> None:
    async with LLMCore(config_overrides=base_overrides, env_prefix=None) as llm:
        await llm.chat("My name is Alex.", session_id="s", system_message="Be brief.")
    calls = len(openai_server.requests)
    async with served(sessions=True) as client:
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        arguments = {a.name: a.required for a in prompts["context"].arguments or []}
        assert arguments == {"message": True, "session_id": False, "collection": False}
        result = await client.get_prompt(
            "context", {"message": "What is my name?", "session_id": "s"}
        )
    assert len(openai_server.requests) == calls  # no model was called
    shown = [(m.role, m.content.text) for m in result.messages]
    assert shown == [
        ("user", "Be brief."),
        ("user", "My name is Alex."),
        ("assistant", "echo: My name is Alex."),
        ("user", "What is my name?"),
    ]
    # Each block says what it is to llmcore: the first one is the system message.
    assert result.messages[0].content.meta["llmcore"]["role"] == "system"
    restored = from_mcp(MCPPayload(messages=list(result.messages)))
    assert [m.role.value for m in restored] == ["system", "user", "assistant", "user"]


async def test_the_context_prompt_reads_sessions_only_when_they_are_published(
    served: Callable[..., Client],
) -> None:
    async with served(sessions=False) as client:
        plain = await client.get_prompt("context", {"message": "Hello"})
        assert [(m.role, m.content.text) for m in plain.messages] == [("user", "Hello")]
        with pytest.raises(SDKError, match="start the server with --sessions"):
            await client.get_prompt("context", {"message": "Hello", "session_id": "s"})


async def test_the_context_prompt_says_what_went_wrong(served: Callable[..., Client]) -> None:
    async with served(sessions=True) as client:
        with pytest.raises(SDKError, match="Invalid session id"):
            await client.get_prompt("context", {"message": "Hi", "session_id": "bad\x00id"})


async def test_without_the_mcp_package_format_mcp_names_the_extra(
    make_llm: MakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with make_llm(**{"llmcore.enable_mcp": True}) as llm:
        monkeypatch.setitem(sys.modules, "mcp", None)  # as if it were not installed
        with pytest.raises(MCPError, match=r"pip install 'llmcore\[mcp\]'") as info:
            await llm.chat("Hi")
    assert info.value.call == "format_mcp"
