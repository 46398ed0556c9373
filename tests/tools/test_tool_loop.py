"""Tool calling through the fake OpenAI server: the loop, storage, limits, failures."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import anyio
import pytest
from fakes.openai_server import FakeOpenAIServer, Reply

from llmcore import InvalidRequestError, LLMCore, Role, ToolRoundsError
from llmcore.tools import as_tool, tool

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]


def get_weather(city: str, unit: str = "celsius") -> dict[str, object]:
    """Get the current weather in a city.

    Args:
        city: The city's name.
        unit: celsius or fahrenheit.
    """
    return {"city": city, "temperature": 21, "unit": unit}


async def slow_lookup(key: str) -> str:
    """Look a key up slowly."""
    began = time.perf_counter()
    await anyio.sleep(0.3)
    return f"{key}:{began:.3f}"


def explode(reason: str) -> str:
    """Fail on purpose."""
    raise RuntimeError(f"exploded because {reason}")


def call(
    name: str, arguments: dict[str, object] | str, call_id: str = "call_1"
) -> dict[str, object]:
    args = arguments if isinstance(arguments, str) else json.dumps(arguments, separators=(",", ":"))
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}


def test_function_schema_from_hints_and_docstring() -> None:
    t = as_tool(get_weather)
    assert t.name == "get_weather"
    assert t.description == "Get the current weather in a city."
    assert t.parameters == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "The city's name."},
            "unit": {
                "type": "string",
                "default": "celsius",
                "description": "celsius or fahrenheit.",
            },
        },
        "required": ["city"],
        "additionalProperties": False,
    }
    renamed = tool(name="weather_now", description="Weather.")(get_weather)
    assert (renamed.name, renamed.description) == ("weather_now", "Weather.")
    with pytest.raises(InvalidRequestError):
        as_tool(42)


async def test_tool_round_trip_is_sent_and_stored(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue(
        Reply(tool_calls=[call("get_weather", {"city": "Paris"})]),
        Reply(text="It is 21 degrees in Paris."),
    )
    async with make_llm() as llm:
        turn = await llm.chat_turn("Weather in Paris?", session_id="s", tools=[get_weather])
        session = await llm.get_session("s")
    assert turn.response.text == "It is 21 degrees in Paris."
    first, second = (r.json for r in openai_server.requests)
    assert first["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Get the current weather in a city.",
                "parameters": as_tool(get_weather).parameters,
            },
        }
    ]
    assert second["messages"][-2] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [call("get_weather", {"city": "Paris"})],
    }
    assert second["messages"][-1] == {
        "role": "tool",
        "tool_call_id": "call_1",
        "content": '{"city":"Paris","temperature":21,"unit":"celsius"}',
    }
    assert session is not None
    roles = [m.role for m in session.messages]
    assert roles == [Role.USER, Role.ASSISTANT, Role.TOOL, Role.ASSISTANT]
    assert session.messages[1].tool_calls[0].arguments == {"city": "Paris"}
    result = session.messages[2].tool_result
    assert result is not None and result.call_id == "call_1"
    assert turn.response.usage is not None and turn.response.usage.input_tokens > 0


async def test_stored_tool_messages_replay_in_later_turns(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue(
        Reply(tool_calls=[call("get_weather", {"city": "Oslo"})]), Reply(text="Cold.")
    )
    async with make_llm() as llm:
        await llm.chat("Weather in Oslo?", session_id="s", tools=[get_weather])
        await llm.chat("Thanks!", session_id="s")  # no tools this time
    messages = openai_server.last_request.json["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant", "user"]
    assert messages[1]["tool_calls"][0]["id"] == messages[2]["tool_call_id"] == "call_1"


async def test_calls_in_one_round_run_concurrently(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue(
        Reply(
            tool_calls=[
                call("slow_lookup", {"key": "a"}, "c1"),
                call("slow_lookup", {"key": "b"}, "c2"),
            ]
        ),
        Reply(text="done"),
    )
    async with make_llm() as llm:
        began = time.perf_counter()
        await llm.chat("look up a and b", tools=[slow_lookup])
        elapsed = time.perf_counter() - began
    results = [m for m in openai_server.last_request.json["messages"] if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in results] == ["c1", "c2"]
    assert [m["content"].split(":")[0] for m in results] == ["a", "b"]
    assert elapsed < 0.55  # two 0.3 s calls overlapped


async def test_a_failing_tool_reports_to_the_model(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue(
        Reply(
            tool_calls=[
                call("explode", {"reason": "testing"}, "c1"),
                call("nope", {}, "c2"),
                call("explode", "{bad", "c3"),
            ]
        ),
        Reply(text="Sorry, that failed."),
    )
    async with make_llm() as llm:
        reply = await llm.chat("try it", session_id="s", tools=[explode])
        session = await llm.get_session("s")
    assert reply == "Sorry, that failed."
    results = [
        m["content"] for m in openai_server.last_request.json["messages"] if m["role"] == "tool"
    ]
    assert results[0] == "Error: RuntimeError: exploded because testing"
    assert results[1].startswith("Error: there is no tool named 'nope'")
    assert results[2].startswith("Error: the arguments were not valid JSON")
    assert session is not None
    results_stored = [m.tool_result for m in session.messages if m.role is Role.TOOL]
    assert [r.is_error for r in results_stored if r is not None] == [True] * 3


async def test_tool_rounds_are_limited(make_llm: MakeLLM, openai_server: FakeOpenAIServer) -> None:
    loop = Reply(text="checking", tool_calls=[call("get_weather", {"city": "Rome"})])
    openai_server.enqueue(loop, loop, loop, loop)
    async with make_llm() as llm:
        with pytest.raises(ToolRoundsError) as info:
            await llm.chat_turn("weather?", session_id="s", tools=[get_weather], max_tool_rounds=2)
        session = await llm.get_session("s")
    assert len(openai_server.requests) == 3
    assert (info.value.rounds, info.value.calls) == (2, ["get_weather"])
    assert "max_tool_rounds" in str(info.value)
    assert session is not None
    # Every call the model made is answered, the third one as not run, so the
    # stored conversation is one every provider accepts on the next turn.
    roles = [m.role for m in session.messages]
    assert roles == [Role.USER, *[Role.ASSISTANT, Role.TOOL] * 3]
    refused = session.messages[-1]
    assert refused.tool_result is not None and refused.tool_result.is_error is True
    assert "Not run" in refused.content
    assert session.messages[-2].content == "checking"


async def test_the_turn_after_the_tool_round_limit_is_valid(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue(Reply(tool_calls=[call("get_weather", {"city": "Rome"})]))
    async with make_llm() as llm:
        with pytest.raises(ToolRoundsError):
            await llm.chat("weather?", session_id="s", tools=[get_weather], max_tool_rounds=0)
        assert await llm.chat("and now?", session_id="s") == "echo: and now?"
    messages = openai_server.last_request.json["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "user"]
    assert messages[2]["tool_call_id"] == messages[1]["tool_calls"][0]["id"]


async def test_streamed_turn_at_the_tool_round_limit_raises_and_keeps_the_calls(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    loop = Reply(chunks=["Checking. "], tool_calls=[call("get_weather", {"city": "Rome"})])
    openai_server.enqueue(loop, loop)
    async with make_llm() as llm:
        received = []
        with pytest.raises(ToolRoundsError):
            async for chunk in await llm.chat(
                "weather?", session_id="s", stream=True, tools=[get_weather], max_tool_rounds=1
            ):
                received.append(chunk)
        session = await llm.get_session("s")
    assert received == ["Checking. ", "Checking. "]
    assert session is not None
    assert [m.role for m in session.messages].count(Role.TOOL) == 2
    assert not [m for m in session.messages if m.role is Role.ASSISTANT and not m.parts]


async def test_streaming_streams_the_text_of_every_round(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue(
        Reply(chunks=["Let me ", "check. "], tool_calls=[call("get_weather", {"city": "Lima"})]),
        Reply(chunks=["It is ", "21."]),
    )
    async with make_llm() as llm:
        chunks = [
            c
            async for c in await llm.chat("Lima?", session_id="s", stream=True, tools=[get_weather])
        ]
        session = await llm.get_session("s")
    assert chunks == ["Let me ", "check. ", "It is ", "21."]
    assert session is not None
    assert [m.content for m in session.messages if m.role is Role.ASSISTANT] == [
        "Let me check. ",
        "It is 21.",
    ]
    assert session.messages[1].tool_calls[0].name == "get_weather"


async def test_global_tools_from_config(make_llm: MakeLLM, openai_server: FakeOpenAIServer) -> None:
    async with make_llm(**{"llmcore.tools": ["tools.test_tool_loop:get_weather"]}) as llm:
        await llm.chat("hi")
    assert openai_server.last_request.json["tools"][0]["function"]["name"] == "get_weather"


async def test_duplicate_tool_names_are_refused(make_llm: MakeLLM) -> None:
    async with make_llm() as llm:
        with pytest.raises(InvalidRequestError, match="get_weather"):
            await llm.chat("hi", tools=[get_weather, get_weather])
