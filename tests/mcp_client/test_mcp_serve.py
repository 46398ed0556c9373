"""llmchat mcp serve: llmcore as an MCP server, used by a real MCP client."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from fakes.openai_server import FakeOpenAIServer
from mcp import Client, StdioServerParameters

LLMCHAT = str(Path(sys.executable).with_name("llmchat"))


def server_env(tmp_path: Path, openai_server: FakeOpenAIServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLMCORE_", "OPENAI_"))}
    env.update(
        HOME=str(tmp_path),
        LLMCORE_PROVIDERS_OPENAI_API_KEY="sk-serve",
        LLMCORE_PROVIDERS_OPENAI_BASE_URL=openai_server.base_url,
    )
    return env


async def test_serve_over_stdio(tmp_path: Path, openai_server: FakeOpenAIServer) -> None:
    params = StdioServerParameters(
        command=LLMCHAT, args=["mcp", "serve"], env=server_env(tmp_path, openai_server)
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
        transcript = await client.read_resource("llmcore://sessions/from-mcp")
        assert "**user**: Hello there" in transcript.contents[0].text
        assert "**assistant**: echo: Hello there" in transcript.contents[0].text
    assert openai_server.last_request.json["messages"] == [
        {"role": "user", "content": "Hello there"}
    ]


async def test_serve_over_http(tmp_path: Path, openai_server: FakeOpenAIServer) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [LLMCHAT, "mcp", "serve", "--transport", "http", "--port", str(port)],
        env=server_env(tmp_path, openai_server),
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            result = await client.call_tool("chat", {"message": "Over HTTP"})
            assert result.content[0].text == "echo: Over HTTP"
    finally:
        process.terminate()
        process.wait(timeout=10)
