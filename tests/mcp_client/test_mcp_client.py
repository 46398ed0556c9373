"""The MCP client against real SDK servers: in-process, stdio, streamable HTTP."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
from fakes import mcp_demo_server
from fakes.openai_server import FakeOpenAIServer, Reply

from llmcore import InvalidRequestError, LLMCore, MCPError, Role

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]
SERVER_SCRIPT = Path(mcp_demo_server.__file__)
STDIO = {
    "mcp.servers.demo": {"command": sys.executable, "args": [str(SERVER_SCRIPT)], "timeout": 20}
}


def call(name: str, arguments: dict[str, object], call_id: str = "call_1") -> dict[str, object]:
    args = json.dumps(arguments, separators=(",", ":"))
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}


async def test_in_process_server_tools_are_offered_and_run(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue(
        Reply(tool_calls=[call("demo__add", {"a": 2, "b": 40})]), Reply(text="42")
    )
    async with make_llm() as llm:
        llm.add_mcp_server("demo", mcp_demo_server.server)
        reply = await llm.chat("What is 2 + 40?", session_id="s")
        session = await llm.get_session("s")
    assert reply == "42"
    offered = {
        t["function"]["name"]: t["function"] for t in openai_server.requests[0].json["tools"]
    }
    assert set(offered) == {"demo__add", "demo__shout", "demo__broken", "demo__crash", "demo__wait"}
    assert offered["demo__add"]["description"] == "Add two integers."
    assert offered["demo__add"]["parameters"]["required"] == ["a", "b"]
    tool_result = openai_server.last_request.json["messages"][-1]
    assert tool_result == {"role": "tool", "tool_call_id": "call_1", "content": "42"}
    assert session is not None and [m.role for m in session.messages].count(Role.TOOL) == 1


async def test_servers_can_be_picked_per_call(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    async with make_llm() as llm:
        llm.add_mcp_server("demo", mcp_demo_server.server)
        await llm.chat("no tools", mcp_servers=[])
        assert "tools" not in openai_server.last_request.json
        await llm.chat("demo tools", mcp_servers=["demo"])
        assert len(openai_server.last_request.json["tools"]) == 5
        with pytest.raises(MCPError, match=r"No MCP server named 'dmo'.*Did you mean 'demo'"):
            await llm.chat("bad", mcp_servers=["dmo"])


async def test_a_failing_mcp_tool_reports_to_the_model(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue(Reply(tool_calls=[call("demo__broken", {})]), Reply(text="It failed."))
    async with make_llm() as llm:
        llm.add_mcp_server("demo", mcp_demo_server.server)
        assert await llm.chat("break it") == "It failed."
    result = openai_server.last_request.json["messages"][-1]
    assert result["role"] == "tool"
    # The server's own error text, not only "Error executing tool broken".
    assert result["content"] == "Error executing tool broken: the broken tool broke"


async def test_resources_and_prompts(make_llm: MakeLLM) -> None:
    async with make_llm() as llm:
        llm.add_mcp_server("demo", mcp_demo_server.server)
        resources = {r.uri: r for r in await llm.list_mcp_resources()}
        assert set(resources) == {"notes://today", "notes://long"}
        assert resources["notes://today"].ref == "demo:notes://today"
        assert resources["notes://long"].mime_type == "text/markdown"
        doc = await llm.read_mcp_resource("demo", "notes://today")
        assert doc.content.startswith("Buy oat milk")
        assert doc.metadata["mime_type"] == "text/plain" and doc.id == "demo:notes://today"
        messages = await llm.get_mcp_prompt("demo", "review", {"code": "x = 1"})
        assert [(m.role, m.content) for m in messages] == [
            (Role.USER, "Please review this code:\n\nx = 1")
        ]
        with pytest.raises(MCPError) as info:
            await llm.read_mcp_resource("demo", "notes://missing")
        assert info.value.server == "demo" and "resources/read" in (info.value.call or "")


async def test_stdio_server_from_config_and_reconnection(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue(
        Reply(tool_calls=[call("demo__shout", {"text": "hi"})]),
        Reply(text="done"),
        Reply(tool_calls=[call("demo__crash", {})]),
        Reply(text="it crashed"),
        Reply(tool_calls=[call("demo__shout", {"text": "again"})]),
        Reply(text="back"),
    )
    async with make_llm(**STDIO) as llm:
        assert await llm.chat("shout hi") == "done"
        assert openai_server.last_request.json["messages"][-1]["content"] == "HI"
        # The server dies during the call: it is restarted once, dies again, and
        # the failure is reported to the model as the tool's error.
        assert await llm.chat("crash it") == "it crashed"
        crashed = openai_server.last_request.json["messages"][-1]["content"]
        assert crashed.startswith(
            "Error: MCPError: MCP server 'demo' failed during tools/call crash"
        )
        # A later turn gets a fresh connection.
        assert await llm.chat("shout again") == "back"
        assert openai_server.last_request.json["messages"][-1]["content"] == "AGAIN"


async def test_unstartable_server_is_an_mcp_error(make_llm: MakeLLM) -> None:
    async with make_llm(
        **{"mcp.servers.ghost": {"command": "/nonexistent/ghost-server", "timeout": 5}}
    ) as llm:
        with pytest.raises(MCPError) as info:
            await llm.chat("hi")
    assert info.value.server == "ghost"
    assert "Cannot connect to MCP server 'ghost'" in str(info.value)


@pytest.fixture
def http_server() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([sys.executable, str(SERVER_SCRIPT), "--http", str(port)])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_streamable_http_server(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, http_server: str
) -> None:
    openai_server.enqueue(Reply(tool_calls=[call("web__add", {"a": 1, "b": 1})]), Reply(text="2"))
    async with make_llm(**{"mcp.servers.web": {"url": http_server}}) as llm:
        assert await llm.chat("1+1?") == "2"
        assert [r.uri for r in await llm.list_mcp_resources("web")] == [
            "notes://today",
            "notes://long",
        ]
    assert openai_server.last_request.json["messages"][-1]["content"] == "2"


async def test_resources_join_the_context_and_are_truncated_like_documents(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    settings = {
        "providers.openai.context_lengths": {"gpt-4o-mini": 900},
        "context_management.reserved_response_tokens": 100,
    }
    async with make_llm(**settings) as llm:
        llm.add_mcp_server("demo", mcp_demo_server.server)
        turn = await llm.chat_turn(
            "What should I buy?",
            mcp_servers=[],
            mcp_resources=["demo:notes://today", "demo:notes://long"],
        )
    sent = openai_server.last_request.json["messages"]
    docs_message = sent[0]
    assert docs_message["role"] == "system"
    assert "Buy oat milk" in docs_message["content"]
    assert "(source: notes://today)" in docs_message["content"]
    # The long resource does not fit the window and is dropped, like a document.
    assert turn.context.dropped_documents == ["demo:notes://long"]
    assert "filler text" not in json.dumps(sent)
    assert turn.budget.total_used <= turn.budget.available


async def test_bad_resource_reference(make_llm: MakeLLM) -> None:
    async with make_llm() as llm:
        with pytest.raises(InvalidRequestError, match="server:uri"):
            await llm.chat("hi", mcp_resources=["no-colon-here"])
