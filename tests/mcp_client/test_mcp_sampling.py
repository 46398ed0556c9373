"""MCP servers that ask the client's model (``sampling/createMessage``), answered by llmcore."""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from fakes.openai_server import FakeOpenAIServer, Reply

from llmcore import LLMCore
from llmcore.mcp.handlers import SamplingRecord

from .test_mcp_client import call

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]
RICH = str(Path(__file__).with_name("rich_server.py"))


def server(protocol: str = "legacy", **settings: Any) -> dict[str, Any]:
    section = {"command": sys.executable, "args": [RICH], "timeout": 20, "protocol": protocol}
    return {"mcp.servers.rich": {**section, **settings}}


@pytest.mark.parametrize(("protocol", "tool"), [("legacy", "haiku"), ("auto", "haiku_resolved")])
async def test_a_sampling_request_is_answered_by_the_configured_model(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, protocol: str, tool: str
) -> None:
    openai_server.enqueue(
        Reply(tool_calls=[call(f"rich__{tool}", {"topic": "frogs"})]),
        Reply(
            text="An old pond; a frog jumps in.",
            usage={"prompt_tokens": 12, "completion_tokens": 9},
        ),
        Reply(text="Here is your haiku."),
    )
    settings = server(protocol, sampling=True, sampling_model="gpt-4o")
    async with make_llm(**settings) as llm:
        turn = await llm.chat_turn("A haiku about frogs, please", session_id="s")
    assert turn.response.text == "Here is your haiku."
    _, sampled, final = openai_server.requests[-3:]
    assert sampled.json["model"] == "gpt-4o"
    assert sampled.json["max_tokens"] == 60  # the request's own limit
    assert sampled.json["messages"] == [
        {"role": "system", "content": "You are a poet."},
        {"role": "user", "content": "A haiku about frogs"},
    ]
    assert "tools" not in sampled.json
    assert final.json["messages"][-1]["content"] == "The model wrote: An old pond; a frog jumps in."
    (record,) = turn.mcp_requests
    assert isinstance(record, SamplingRecord)
    assert (record.server, record.tool, record.provider, record.model) == (
        "rich",
        tool,
        "openai",
        "gpt-4o",
    )
    assert record.max_tokens == 60 and record.text == "An old pond; a frog jumps in."
    assert record.usage is not None and record.usage.output_tokens == 9
    # The model's bill for the turn is its own; the sampling is on the record.
    assert turn.response.usage is not None and turn.response.usage.output_tokens != 9


async def test_sampling_is_off_unless_configured(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue(
        Reply(tool_calls=[call("rich__haiku", {"topic": "frogs"})]), Reply(text="No haiku.")
    )
    async with make_llm(**server()) as llm:
        turn = await llm.chat_turn("A haiku")
    assert turn.response.text == "No haiku."
    assert len(openai_server.requests) == 2  # no model call for the server
    result = openai_server.last_request.json["messages"][-1]["content"]
    assert result.startswith("Error: MCPError: MCP server 'rich' refused tools/call haiku")
    assert "Sampling not supported" in result
    assert turn.mcp_requests == []


async def test_a_sampling_provider_that_fails_is_an_error_for_the_server_not_the_turn(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue(
        Reply(tool_calls=[call("rich__haiku", {"topic": "frogs"})]),
        Reply(status=500),
        Reply(text="The server could not sample."),
    )
    async with make_llm(**server(sampling=True)) as llm:
        turn = await llm.chat_turn("A haiku")
    assert turn.response.text == "The server could not sample."
    result = openai_server.last_request.json["messages"][-1]["content"]
    assert result.endswith("it answered with an error: Sampling failed (ProviderError).")
    assert turn.mcp_requests == []


async def test_an_unknown_sampling_provider_is_refused_to_the_server(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue(
        Reply(tool_calls=[call("rich__haiku", {"topic": "frogs"})]), Reply(text="No.")
    )
    async with make_llm(**server(sampling=True, sampling_provider="nowhere")) as llm:
        assert await llm.chat("A haiku") == "No."
    assert len(openai_server.requests) == 2
