"""The tools/list cache: a server's ttl, its change announcements, ``tools_ttl``."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import anyio
from fakes.openai_server import FakeOpenAIServer, Reply

from llmcore import LLMCore

from .rich_server import make_server
from .test_mcp_client import call

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]
RICH = str(Path(__file__).with_name("rich_server.py"))


def offered(openai_server: FakeOpenAIServer) -> set[str]:
    return {t["function"]["name"] for t in openai_server.last_request.json.get("tools", [])}


async def grow(llm: LLMCore, openai_server: FakeOpenAIServer) -> None:
    """A turn in which the model calls the tool that adds rich__sprout."""
    openai_server.enqueue(Reply(tool_calls=[call("rich__grow", {})]), Reply(text="grown"))
    assert await llm.chat("grow") == "grown"


async def wait_for_change(llm: LLMCore, seen: int) -> None:
    """Until the manager has heard of a tool-list change (it arrives on its own loop)."""
    connection = llm.services.mcp._connections["rich"]
    with anyio.fail_after(10):
        while connection.opening.tool_changes == seen:
            await anyio.sleep(0.02)


async def test_a_list_is_reused_until_the_server_announces_a_change(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    server = make_server()  # 2026-07-28, ttl 0, announces its changes
    async with make_llm() as llm:
        llm.add_mcp_server("rich", server)
        for _ in range(3):
            await llm.chat("hello")
        assert server.listed == 1
        seen = llm.services.mcp._connections["rich"].opening.tool_changes
        await grow(llm, openai_server)
        await wait_for_change(llm, seen)
        await llm.chat("hello again")
        assert server.listed == 2
        assert "rich__sprout" in offered(openai_server)


async def test_a_list_is_fresh_for_the_servers_ttl(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    server = make_server(ttl_ms=400)
    async with make_llm() as llm:
        llm.add_mcp_server("rich", server)
        await llm.chat("one")
        await llm.chat("two")
        assert server.listed == 1
        await anyio.sleep(0.5)
        await llm.chat("three")
        assert server.listed == 2


def stdio(**settings: Any) -> dict[str, Any]:
    section = {"command": sys.executable, "args": [RICH], "timeout": 20, "protocol": "legacy"}
    return {"mcp.servers.rich": {**section, **settings}}


async def listed_by(llm: LLMCore, openai_server: FakeOpenAIServer) -> int:
    """Ask the stdio server how many tools/list requests it answered (in a turn of its own)."""
    openai_server.enqueue(Reply(tool_calls=[call("rich__tools_listed", {})]), Reply(text="ok"))
    await llm.chat("count")
    return int(json.loads(openai_server.last_request.json["messages"][-1]["content"]))


async def test_an_older_server_is_listed_once_and_again_after_it_says_its_tools_changed(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    async with make_llm(**stdio()) as llm:
        await llm.chat("one")
        await llm.chat("two")
        assert await listed_by(llm, openai_server) == 1
        seen = llm.services.mcp._connections["rich"].opening.tool_changes
        await grow(llm, openai_server)
        await wait_for_change(llm, seen)
        assert await listed_by(llm, openai_server) == 2
        assert "rich__sprout" in offered(openai_server)


async def test_tools_ttl_bounds_a_list_without_a_ttl_of_its_own(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    async with make_llm(**stdio(tools_ttl=0.3)) as llm:
        await llm.chat("one")
        assert await listed_by(llm, openai_server) == 1  # this turn reused the list
        await anyio.sleep(0.4)
        assert await listed_by(llm, openai_server) == 2
