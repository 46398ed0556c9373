"""MCP servers that ask the user for input mid-call: the on_elicit handler.

The same SDK server asks in both protocol eras: as a 2026-07-28
input-required result (in-process, and stdio by default) and as an
``elicitation/create`` request (``protocol = "legacy"``), including a tool
written the older way (``ctx.elicit``), which only older connections serve.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import anyio
import pytest
from fakes.openai_server import FakeOpenAIServer, Reply

from llmcore import InvalidRequestError, LLMCore, Role
from llmcore.mcp.handlers import Elicitation, ElicitationAnswer, ElicitationRecord, MCPHandlers

from .rich_server import make_server
from .test_mcp_client import call

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]
RICH = str(Path(__file__).with_name("rich_server.py"))


def stdio(protocol: str, timeout: float = 20) -> dict[str, Any]:
    return {
        "mcp.servers.rich": {
            "command": sys.executable,
            "args": [RICH],
            "timeout": timeout,
            "protocol": protocol,
        }
    }


def last_tool_result(openai_server: FakeOpenAIServer) -> dict[str, Any]:
    message: dict[str, Any] = openai_server.last_request.json["messages"][-1]
    assert message["role"] == "tool"
    return message


def book(tool: str = "book") -> list[Reply]:
    return [Reply(tool_calls=[call(f"rich__{tool}", {"table": "window"})]), Reply(text="Done.")]


async def test_the_handler_answers_an_input_required_result(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    asked: list[Elicitation] = []

    async def on_elicit(request: Elicitation) -> dict[str, Any]:
        asked.append(request)
        await anyio.sleep(0)  # runs in the caller's event loop, asyncio or trio
        return {"date": "2026-08-01", "guests": 4}

    openai_server.enqueue(*book())
    async with make_llm() as llm:
        llm.add_mcp_server("rich", make_server())
        turn = await llm.chat_turn(
            "Book the window table", session_id="s", mcp_handlers=MCPHandlers(on_elicit=on_elicit)
        )
    assert last_tool_result(openai_server)["content"] == "Booked window on 2026-08-01 for 4."
    (request,) = asked
    assert request.server == "rich" and request.tool == "book"
    assert request.message == "Which date, and for how many guests?"
    assert set(request.fields) == {"date", "guests"} and request.required == ["date", "guests"]
    assert turn.mcp_requests == [
        ElicitationRecord("rich", "Which date, and for how many guests?", "book", "accept")
    ]


@pytest.mark.parametrize("tool", ["book", "book_directly"])
async def test_the_handler_answers_elicitation_create_from_an_older_connection(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, tool: str
) -> None:
    seen: list[str | None] = []

    def on_elicit(request: Elicitation) -> ElicitationAnswer:  # sync: runs in a worker thread
        seen.append(request.tool)
        return ElicitationAnswer.accept({"date": "tomorrow", "guests": 2})

    openai_server.enqueue(*book(tool))
    async with make_llm(**stdio("legacy")) as llm:
        llm._mcp_handlers = MCPHandlers(on_elicit=on_elicit)  # as LLMCore(mcp_handlers=...)
        await llm.chat("Book the window table")
    assert last_tool_result(openai_server)["content"] == "Booked window on tomorrow for 2."
    assert seen == [tool]


@pytest.fixture(scope="module")
def rich_http() -> Iterator[str]:
    """rich_server.py over streamable HTTP; yields its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([sys.executable, RICH, "--http", str(port)])
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.mark.parametrize(("protocol", "tool"), [("auto", "book"), ("legacy", "book_directly")])
async def test_a_streamable_http_server_asks_too(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, rich_http: str, protocol: str, tool: str
) -> None:
    async def on_elicit(request: Elicitation) -> dict[str, Any]:
        return {"date": "sunday", "guests": 5}

    openai_server.enqueue(*book(tool))
    server = {"url": rich_http, "timeout": 20, "protocol": protocol}
    async with make_llm(**{"mcp.servers.rich": server}) as llm:
        turn = await llm.chat_turn("Book", mcp_handlers=MCPHandlers(on_elicit=on_elicit))
    assert last_tool_result(openai_server)["content"] == "Booked window on sunday for 5."
    assert [r.action for r in turn.mcp_requests] == ["accept"]  # type: ignore[union-attr]


async def test_llmcore_handlers_serve_every_call_and_a_calls_own_win(
    base_overrides: dict[str, Any], openai_server: FakeOpenAIServer
) -> None:
    def everyone(request: Elicitation) -> dict[str, Any]:
        return {"date": "monday", "guests": 1}

    def this_call(request: Elicitation) -> dict[str, Any]:
        return {"date": "friday", "guests": 9}

    openai_server.enqueue(*book(), *book())
    handlers = MCPHandlers(on_elicit=everyone)
    async with LLMCore(base_overrides, env_prefix=None, mcp_handlers=handlers) as llm:
        llm.add_mcp_server("rich", make_server())
        await llm.chat("Book")
        assert last_tool_result(openai_server)["content"] == "Booked window on monday for 1."
        await llm.chat("Book", mcp_handlers=MCPHandlers(on_elicit=this_call))
        assert last_tool_result(openai_server)["content"] == "Booked window on friday for 9."


@pytest.mark.parametrize("protocol", ["auto", "legacy"])
async def test_without_a_handler_the_model_is_told_the_tool_needs_input(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, protocol: str
) -> None:
    openai_server.enqueue(*book())
    async with make_llm(**stdio(protocol)) as llm:
        turn = await llm.chat_turn("Book the window table", session_id="s")
    result = last_tool_result(openai_server)["content"]
    assert result.startswith("Needs input: rich__book asked the user")
    assert "'Which date, and for how many guests?'" in result and "fields: date, guests" in result
    assert "no on_elicit handler" in result
    stored = next(m for m in turn.new_messages if m.role is Role.TOOL).tool_result
    assert stored is not None and stored.is_error
    assert turn.mcp_requests == [
        ElicitationRecord("rich", "Which date, and for how many guests?", "book", "unanswered")
    ]
    assert turn.response.text == "Done."


@pytest.mark.parametrize(
    ("answer", "action"), [(None, "decline"), (ElicitationAnswer.cancel(), "cancel")]
)
async def test_a_declined_or_cancelled_question_goes_back_to_the_server(
    make_llm: MakeLLM,
    openai_server: FakeOpenAIServer,
    answer: ElicitationAnswer | None,
    action: str,
) -> None:
    openai_server.enqueue(*book())
    async with make_llm() as llm:
        llm.add_mcp_server("rich", make_server())
        turn = await llm.chat_turn(
            "Book", mcp_handlers=MCPHandlers(on_elicit=lambda request: answer)
        )
    assert last_tool_result(openai_server)["content"] == f"Not booked: the user chose {action}."
    assert [r.action for r in turn.mcp_requests] == [action]  # type: ignore[union-attr]


@pytest.mark.parametrize("protocol", ["auto", "legacy"])
async def test_an_answer_that_breaks_the_schema_is_not_sent_and_the_model_hears_why(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, protocol: str
) -> None:
    openai_server.enqueue(*book())
    handlers = MCPHandlers(on_elicit=lambda request: {"date": "today", "guests": "many"})
    async with make_llm(**stdio(protocol)) as llm:
        turn = await llm.chat_turn("Book", mcp_handlers=handlers)
    result = last_tool_result(openai_server)["content"]
    assert result.startswith("Error: rich__book could not go on: the on_elicit answer does not")
    assert "guests: 'many' is not of type 'integer'" in result
    assert turn.response.text == "Done."


async def test_a_failing_handler_is_an_error_result_not_a_failed_turn(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    def on_elicit(request: Elicitation) -> dict[str, Any]:
        raise ValueError("the form crashed")

    openai_server.enqueue(*book())
    async with make_llm() as llm:
        llm.add_mcp_server("rich", make_server())
        turn = await llm.chat_turn("Book", mcp_handlers=MCPHandlers(on_elicit=on_elicit))
    result = last_tool_result(openai_server)["content"]
    assert "the on_elicit handler failed: ValueError: the form crashed" in result
    assert turn.response.text == "Done."


@pytest.mark.parametrize("protocol", ["auto", "legacy"])
async def test_the_servers_timeout_waits_for_the_person(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, protocol: str
) -> None:
    async def slow_person(request: Elicitation) -> dict[str, Any]:
        await anyio.sleep(2.5)  # longer than the server's timeout
        return {"date": "later", "guests": 3}

    async with make_llm(**stdio(protocol, timeout=8)) as llm:
        # Start the server with a generous timeout, then tighten it for the call.
        await llm.services.mcp.list_tools("rich")
        llm.services.mcp._timeouts["rich"] = 1.5
        openai_server.enqueue(*book())
        started = time.monotonic()
        await llm.chat("Book", mcp_handlers=MCPHandlers(on_elicit=slow_person))
    assert time.monotonic() - started >= 2.5
    assert last_tool_result(openai_server)["content"] == "Booked window on later for 3."


async def test_a_caller_that_gives_up_while_the_person_thinks_leaves_the_server_usable(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    gate = anyio.Event()

    async def never_answers(request: Elicitation) -> dict[str, Any]:
        gate.set()
        await anyio.sleep(60)
        return {}

    async with make_llm(**stdio("legacy")) as llm:
        openai_server.enqueue(Reply(tool_calls=[call("rich__book", {"table": "window"})]))
        with anyio.move_on_after(20) as scope:
            async with anyio.create_task_group() as group:

                async def chat() -> None:
                    await llm.chat("Book", mcp_handlers=MCPHandlers(on_elicit=never_answers))

                group.start_soon(chat)
                await gate.wait()
                group.cancel_scope.cancel()
        assert not scope.cancelled_caught
        # The next turn on the same server works.
        openai_server.enqueue(Reply(tool_calls=[call("rich__forecast", {"city": "Oslo"})]))
        openai_server.enqueue(Reply(text="Sunny."))
        with anyio.fail_after(20):
            assert await llm.chat("Weather?") == "Sunny."


async def test_a_server_that_dies_mid_question_does_not_wait_for_the_answer(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    async def never_answers(request: Elicitation) -> dict[str, Any]:
        await anyio.sleep(60)
        return {}

    openai_server.enqueue(
        Reply(tool_calls=[call("rich__book_then_crash", {})]), Reply(text="It crashed.")
    )
    async with make_llm(**stdio("legacy")) as llm:
        with anyio.fail_after(30):  # not the handler's 60 s
            reply = await llm.chat("Book", mcp_handlers=MCPHandlers(on_elicit=never_answers))
    assert reply == "It crashed."
    result = last_tool_result(openai_server)["content"]
    assert result.startswith("Error: MCPError: MCP server 'rich' failed during tools/call")


async def test_an_answer_that_does_not_fit_is_recorded_as_invalid(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue(*book())
    async with make_llm() as llm:
        llm.add_mcp_server("rich", make_server())
        handlers = MCPHandlers(on_elicit=lambda request: {"date": 1})
        turn = await llm.chat_turn("Book", mcp_handlers=handlers)
    assert [r.action for r in turn.mcp_requests] == ["invalid"]  # type: ignore[union-attr]


async def test_mcp_handlers_must_be_mcp_handlers(make_llm: MakeLLM) -> None:
    async with make_llm() as llm:
        with pytest.raises(InvalidRequestError, match="MCPHandlers"):
            await llm.chat("hi", mcp_handlers={"on_elicit": print})  # type: ignore[typeddict-item]
    with pytest.raises(InvalidRequestError, match="on_elicit must be a function"):
        MCPHandlers(on_elicit="ask")  # type: ignore[arg-type]
