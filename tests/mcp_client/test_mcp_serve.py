"""llmchat mcp serve: llmcore as an MCP server, used by a real MCP client.

The HTTP servers are real ``llmchat`` subprocesses, shared by the tests of
this module (both backends); each test uses session ids of its own.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.openai_server import FakeOpenAIServer, Reply
from mcp import Client, StdioServerParameters

from llmcore import LLMCore
from llmcore.mcp.serve import CREATED_BY

from ._serve import LLMCHAT, free_port, http_server, listening_addresses, serve_env


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("serve-home")


@pytest.fixture(scope="module")
def default_server(home: Path, _openai_server: FakeOpenAIServer) -> Iterator[tuple[str, int]]:
    """``llmchat mcp serve --transport http``, nothing else."""
    port = free_port()
    with http_server([], serve_env(home, _openai_server.base_url), port) as served:
        yield served.url, port


@pytest.fixture(scope="module")
def writable_server(home: Path, _openai_server: FakeOpenAIServer) -> Iterator[str]:
    port = free_port()
    env = serve_env(home, _openai_server.base_url)
    with http_server(["--sessions-writable"], env, port) as served:
        yield served.url


def stored_llm(home: Path, openai_server: FakeOpenAIServer) -> LLMCore:
    """An LLMCore on the served store, as another program using it would be."""
    return LLMCore(
        config_overrides={
            "providers.openai.api_key": "sk-other",
            "providers.openai.base_url": openai_server.base_url,
            "storage.session.path": str(home / "sessions.db"),
        },
        env_prefix=None,
    )


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def test_serve_over_stdio(tmp_path: Path, openai_server: FakeOpenAIServer) -> None:
    params = StdioServerParameters(
        command=LLMCHAT,
        args=["mcp", "serve", "--sessions"],
        env=serve_env(tmp_path, openai_server.base_url),
    )
    async with Client(params, read_timeout_seconds=30) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) == {"chat", "search_documents"}
        assert tools["chat"].input_schema["required"] == ["message"]
        result = await client.call_tool(
            "chat", {"message": "Hello there", "session_id": "from-mcp"}
        )
        assert not result.is_error
        assert result.content[0].text == "echo: Hello there"
        listing = await client.read_resource("llmcore://sessions")
        sessions = json.loads(listing.contents[0].text)
        assert [s["id"] for s in sessions] == ["from-mcp"]
        assert sessions[0]["metadata"] == {"created_by": CREATED_BY}
        transcript = await client.read_resource("llmcore://sessions/from-mcp")
        assert "**user**: Hello there" in transcript.contents[0].text
        assert "**assistant**: echo: Hello there" in transcript.contents[0].text
    assert openai_server.last_request.json["messages"] == [
        {"role": "user", "content": "Hello there"}
    ]


async def test_http_listens_on_loopback_by_default(
    default_server: tuple[str, int], openai_server: FakeOpenAIServer
) -> None:
    url, port = default_server
    assert listening_addresses(port) == {"127.0.0.1"}
    async with Client(url) as client:
        result = await client.call_tool("chat", {"message": "Over HTTP"})
        assert result.content[0].text == "echo: Over HTTP"


async def test_sessions_are_not_published_without_the_flag(
    default_server: tuple[str, int], home: Path, openai_server: FakeOpenAIServer
) -> None:
    async with stored_llm(home, openai_server) as llm:
        await llm.chat("private", session_id=new_id("private"))
    async with Client(default_server[0]) as client:
        assert (await client.list_resources()).resources == []
        assert (await client.list_resource_templates()).resource_templates == []
        with pytest.raises(Exception, match="llmcore://sessions"):
            await client.read_resource("llmcore://sessions")


async def test_chat_writes_only_to_sessions_it_created(
    default_server: tuple[str, int], home: Path, openai_server: FakeOpenAIServer
) -> None:
    foreign, own = new_id("foreign"), new_id("own")
    async with stored_llm(home, openai_server) as llm:
        await llm.chat("written elsewhere", session_id=foreign)
    async with Client(default_server[0]) as client:
        refused = await client.call_tool("chat", {"message": "sneak in", "session_id": foreign})
        assert refused.is_error
        assert f"Session {foreign!r} was not created through this MCP server" in (
            refused.content[0].text
        )
        assert "--sessions-writable" in refused.content[0].text
        for message in ("first", "second"):  # a new session, then the same one again
            result = await client.call_tool("chat", {"message": message, "session_id": own})
            assert not result.is_error and result.content[0].text == f"echo: {message}"
        one_off = await client.call_tool("chat", {"message": "no session"})
        assert not one_off.is_error
    async with stored_llm(home, openai_server) as llm:
        untouched = await llm.get_session(foreign)
        created = await llm.get_session(own)
    assert untouched is not None and [m.content for m in untouched.messages] == [
        "written elsewhere",
        "echo: written elsewhere",
    ]
    assert created is not None and created.metadata == {"created_by": CREATED_BY}
    assert [m.content for m in created.messages] == [
        "first",
        "echo: first",
        "second",
        "echo: second",
    ]


async def test_sessions_writable_lets_chat_continue_any_session(
    writable_server: str, home: Path, openai_server: FakeOpenAIServer
) -> None:
    foreign = new_id("foreign")
    async with stored_llm(home, openai_server) as llm:
        await llm.chat("written elsewhere", session_id=foreign)
    async with Client(writable_server) as client:
        result = await client.call_tool("chat", {"message": "allowed", "session_id": foreign})
        assert not result.is_error and result.content[0].text == "echo: allowed"
    async with stored_llm(home, openai_server) as llm:
        session = await llm.get_session(foreign)
    assert session is not None and [m.content for m in session.messages][-2:] == [
        "allowed",
        "echo: allowed",
    ]
    assert "created_by" not in session.metadata  # still not one of the server's


async def test_a_failing_chat_returns_the_llmcore_error(
    default_server: tuple[str, int], openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue(Reply(status=404))
    async with Client(default_server[0]) as client:
        result = await client.call_tool("chat", {"message": "to a missing model"})
    assert result.is_error
    text = result.content[0].text
    assert text.startswith("Error executing tool chat: ")
    assert "The model does not exist" in text and "openai" in text


async def test_llmcore_as_client_hears_the_served_tool_error(
    tmp_path: Path, make_llm: object, openai_server: FakeOpenAIServer
) -> None:
    # An llmcore whose MCP server is another llmcore (llmchat mcp serve over
    # stdio): the inner chat fails at the provider, and the model of the outer
    # one reads the inner ProviderError's text as the tool's error.
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "inner__chat", "arguments": '{"message": "hi"}'},
    }
    openai_server.enqueue(Reply(tool_calls=[call]), Reply(status=404), Reply(text="sorry"))
    env = {
        k: v
        for k, v in serve_env(tmp_path, openai_server.base_url).items()
        if k.startswith("LLMCORE_") or k == "HOME"
    }
    inner = {"command": LLMCHAT, "args": ["mcp", "serve"], "env": env, "timeout": 30}
    async with make_llm(**{"mcp.servers.inner": inner}) as llm:  # type: ignore[operator]
        assert await llm.chat("ask the inner one") == "sorry"
    tool_message = openai_server.last_request.json["messages"][-1]
    assert tool_message["role"] == "tool"
    assert "The model does not exist" in tool_message["content"]
