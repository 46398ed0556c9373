"""MCP servers that fail: each is one MCPError line naming the server and the cause, on time.

The servers are real tiny scripts written into tmp_path (one exits at once,
one prints garbage on stdout, one never answers), a TCP listener that never
answers HTTP, a real SDK server whose tool blocks, and llmchat mcp serve with
a token.
"""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
from fakes import mcp_demo_server
from fakes.openai_server import FakeOpenAIServer, Reply

from llmcore import LLMCore, MCPError

from ._serve import free_port, http_server, serve_env

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]
TIMEOUT = 2.0
#: Starting Python and the SDK's handshake are not free; a hang must still end on time.
MARGIN = 1.5

SCRIPTS = {
    "exits": "import sys\nsys.stderr.write('cannot start: no config\\n')\nsys.exit(3)\n",
    "garbage": "import time\nprint('Server starting on stdout...', flush=True)\ntime.sleep(60)\n",
    "hangs": "import time\ntime.sleep(60)\n",
}
CAUSES = {
    "exits": "the server exited (or closed its stdout) before answering",
    "garbage": "it wrote something that is not JSON-RPC on stdout ('Server starting on stdout...')",
    "hangs": f"it did not answer within {TIMEOUT:g} s",
}


async def failure(llm: LLMCore, server: str) -> tuple[MCPError, float]:
    started = time.monotonic()
    with pytest.raises(MCPError) as info:
        await llm.list_mcp_resources(server)
    return info.value, time.monotonic() - started


@pytest.mark.parametrize("kind", sorted(SCRIPTS))
async def test_a_broken_stdio_server_is_one_clear_error_on_time(
    kind: str, tmp_path: Path, make_llm: MakeLLM
) -> None:
    script = tmp_path / f"{kind}_server.py"
    script.write_text(SCRIPTS[kind])
    server = {"command": sys.executable, "args": [str(script), "--token", "s3cr3t-arg"]}
    async with make_llm(**{f"mcp.servers.{kind}": {**server, "timeout": TIMEOUT}}) as llm:
        error, elapsed = await failure(llm, kind)
    message = str(error)
    assert elapsed < TIMEOUT + MARGIN, elapsed
    assert error.server == kind and "\n" not in message
    python = Path(sys.executable).name
    assert message.startswith(f"Cannot connect to MCP server {kind!r} (command {python!r}): ")
    assert CAUSES[kind] in message
    assert "ExceptionGroup" not in message and "TaskGroup" not in message
    # The command's name only: not its path or its arguments.
    assert str(script) not in message and "s3cr3t-arg" not in message


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


async def test_a_url_that_never_answers_times_out_on_time(
    make_llm: MakeLLM, silent_listener: int
) -> None:
    url = f"http://ada:pa55word@127.0.0.1:{silent_listener}/mcp?key=k3y-value"
    async with make_llm(**{"mcp.servers.web": {"url": url, "timeout": TIMEOUT}}) as llm:
        error, elapsed = await failure(llm, "web")
    assert elapsed < TIMEOUT + MARGIN, elapsed
    assert str(error) == (
        f"Cannot connect to MCP server 'web' (url http://127.0.0.1:{silent_listener}/mcp): "
        f"it did not answer within {TIMEOUT:g} s (its timeout). Check [mcp.servers.web]."
    )


async def test_a_url_where_nothing_listens(make_llm: MakeLLM) -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    async with make_llm(**{"mcp.servers.web": {"url": url, "timeout": TIMEOUT}}) as llm:
        error, _ = await failure(llm, "web")
    assert "nothing answers at that address (is the server running?)" in str(error)


async def test_a_tool_that_hangs_fails_within_its_timeout_once(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    wait_call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "demo__wait", "arguments": '{"seconds": 30}'},
    }
    openai_server.enqueue(Reply(tool_calls=[wait_call]), Reply(text="gave up"))
    demo = {"command": sys.executable, "args": [mcp_demo_server.__file__], "timeout": TIMEOUT}
    async with make_llm(**{"mcp.servers.demo": demo}) as llm:
        await llm.list_mcp_resources("demo")  # connected: what follows is the call alone
        started = time.monotonic()
        assert await llm.chat("wait a long time") == "gave up"
        elapsed = time.monotonic() - started
    # Not retried on a fresh connection: a slow server would be slow again.
    assert elapsed < TIMEOUT + MARGIN, elapsed
    assert openai_server.last_request.json["messages"][-1]["content"] == (
        "Error: MCPError: MCP server 'demo' failed during tools/call wait: "
        f"it did not answer within {TIMEOUT:g} s (its timeout)."
    )


async def test_llmcore_reaches_a_served_llmcore_with_its_token(
    tmp_path: Path, make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    token = "tok-0d6f3b9a8c2e"
    port = free_port()
    env = serve_env(tmp_path, openai_server.base_url)
    with http_server(["--token", token], env, port) as served:
        without = {"url": served.url, "timeout": 10}
        with_token = {**without, "headers": {"Authorization": f"Bearer {token}"}}
        async with make_llm(**{"mcp.servers.bare": without, "mcp.servers.ok": with_token}) as llm:
            error, _ = await failure(llm, "bare")
            assert "it answered HTTP 401 Unauthorized; it needs credentials" in str(error)
            assert await llm.list_mcp_resources("ok") == []  # sessions are not published


async def test_a_caller_cancelled_while_a_server_opens(tmp_path: Path, make_llm: MakeLLM) -> None:
    import anyio

    script = tmp_path / "hangs_server.py"
    script.write_text(SCRIPTS["hangs"])
    server = {"command": sys.executable, "args": [str(script)], "timeout": TIMEOUT}
    async with make_llm(**{"mcp.servers.hangs": server}) as llm:
        started = time.monotonic()
        with anyio.move_on_after(0.3) as scope:
            await llm.list_mcp_resources("hangs")
        assert scope.cancelled_caught and time.monotonic() - started < 1.0
        # The abandoned opening left nothing behind: the next call tries afresh.
        error, elapsed = await failure(llm, "hangs")
        assert CAUSES["hangs"] in str(error) and elapsed < TIMEOUT + MARGIN
