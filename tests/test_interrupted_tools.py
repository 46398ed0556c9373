"""A turn stopped mid tool round leaves a session every provider still accepts.

The careless paths: ``break`` out of ``chunks.events()`` at the first tool
call, a cancel scope while a slow tool runs (streamed and not). A call stored
without its result makes OpenAI and Anthropic (and their fakes) refuse every
later request on the session, so ``persist`` stores each such call with an
error result saying it was not run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import anyio
import pytest
from fakes._server import Reply
from fakes.anthropic_server import FakeAnthropicServer
from fakes.openai_server import FakeOpenAIServer
from fakes.openai_server import Reply as OpenAIReply

from llmcore import ChatSession, LLMCore, Role
from llmcore.exchange import ToolCallDelta

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]
NOT_RUN = "Not run: the turn was interrupted before the tool ran."


@pytest.fixture(scope="module")
def _anthropic() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer() as server:
        yield server


@pytest.fixture
def anthropic_server(_anthropic: FakeAnthropicServer) -> Iterator[FakeAnthropicServer]:
    """The fake Anthropic server, reset."""
    _anthropic.reset()
    yield _anthropic
    _anthropic.reset()


@pytest.fixture
def anthropic_overrides(anthropic_server: FakeAnthropicServer) -> dict[str, Any]:
    """Config pointing the Anthropic provider at its fake."""
    return {
        "providers.anthropic.api_key": "sk-ant-test-secret",
        "providers.anthropic.base_url": anthropic_server.url,
        "providers.anthropic.max_retries": 0,
    }


class Weather:
    """A weather tool that records its calls; ``slow`` ones wait until cancelled."""

    def __init__(self, *, slow: bool = False):
        self.slow = slow
        self.calls: list[str] = []
        self.started = anyio.Event()

    async def get_weather(self, city: str) -> str:
        """Get the weather in a city.

        Args:
            city: The city.
        """
        self.calls.append(city)
        self.started.set()
        if self.slow:
            await anyio.sleep(30)
        return f"Sunny in {city}"


async def cancel_when_started(tool: Weather, scope: anyio.CancelScope) -> None:
    with anyio.fail_after(10):
        await tool.started.wait()
    scope.cancel()


def assert_answered_as_not_run(session: ChatSession | None, call_id: str) -> None:
    """The stored turn: user, the assistant's call (interrupted), its not-run result."""
    assert session is not None
    user, asking, result = session.messages[:3]
    assert (user.role, asking.role, result.role) == (Role.USER, Role.ASSISTANT, Role.TOOL)
    assert [c.id for c in asking.tool_calls] == [call_id]
    assert asking.metadata["interrupted"] is True
    assert result.tool_result is not None
    assert result.tool_result.call_id == call_id
    assert result.tool_result.is_error is True
    assert result.content == NOT_RUN


async def test_breaking_out_at_the_first_tool_call_keeps_the_session_usable(
    make_llm: MakeLLM, anthropic_server: FakeAnthropicServer, anthropic_overrides: dict[str, Any]
) -> None:
    tool = Weather()
    call = {"id": "toolu_01A", "name": "get_weather", "arguments": {"city": "Oslo"}}
    anthropic_server.enqueue(Reply(tool_calls=[call]))
    options: dict[str, Any] = {"provider_name": "anthropic", "tools": [tool.get_weather]}
    async with make_llm(**anthropic_overrides) as llm:
        chunks = await llm.chat("Weather?", session_id="s", stream=True, **options)
        async for event in chunks.events():
            if type(event) is ToolCallDelta:
                break  # no aclose(): the next turn on the session finishes it
        again = await llm.chat("Never mind. Hi!", session_id="s", **options)
        session = await llm.get_session("s")
    assert tool.calls == []
    assert again.startswith("echo:") and again.endswith("Never mind. Hi!")
    assert_answered_as_not_run(session, "toolu_01A")
    assert session is not None
    assert [m.role for m in session.messages[3:]] == [Role.USER, Role.ASSISTANT]
    # The second request replayed the call with its result, as the API requires
    # (the result and the new message share the user turn).
    chats = [r for r in anthropic_server.requests if r.path == "/v1/messages"]
    sent = chats[-1].json["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert [b["type"] for b in sent[1]["content"]] == ["tool_use"]
    result, text = sent[2]["content"]
    assert (result["type"], result["tool_use_id"], result["is_error"]) == (
        "tool_result",
        "toolu_01A",
        True,
    )
    assert text == {"type": "text", "text": "Never mind. Hi!"}


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_cancelled_while_a_tool_runs_keeps_the_session_usable(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, stream: bool
) -> None:
    tool = Weather(slow=True)
    call = {
        "id": "call_7",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
    }
    openai_server.enqueue(OpenAIReply(tool_calls=[call]))
    async with make_llm() as llm:
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as tg:
                tg.start_soon(cancel_when_started, tool, scope)
                reply = await llm.chat(
                    "Weather?", session_id="s", tools=[tool.get_weather], stream=stream
                )
                if stream:
                    async for _chunk in reply:  # type: ignore[union-attr]
                        pass
        assert scope.cancelled_caught
        session = await llm.get_session("s")
        again = await llm.chat("Never mind. Hi!", session_id="s", tools=[tool.get_weather])
    assert tool.calls == ["Oslo"]
    assert_answered_as_not_run(session, "call_7")
    assert again == "echo: Never mind. Hi!"
    sent = openai_server.last_request.json["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "user"]
    assert (sent[2]["tool_call_id"], sent[2]["content"]) == ("call_7", NOT_RUN)
