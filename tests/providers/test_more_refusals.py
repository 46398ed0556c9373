"""What the real APIs refuse, llmcore does not send: sampling options to OpenAI's
reasoning models, unanswered tool calls, tools to an Ollama model that cannot
call them, empty text in an Anthropic tool result.

The fakes refuse each of these as the APIs do (tests/fakes/test_fake_checks.py),
so a request a fake answers here was valid for its provider.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from _media import png
from _wire import notes
from fakes._server import Reply
from fakes.openai_server import Reply as OpenAIReply

from llmcore import InvalidRequestError, LLMCore, ProviderError, ToolRoundsError
from llmcore.models import Message, Role, ToolCall
from llmcore.parts import ImagePart, ToolResultPart
from llmcore.tools.tool import ToolResult, as_tool, tool

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]
#: An Ollama model whose /api/show lists vision but not tools (as gemma3's does).
NO_TOOLS = "gemma3:4b"


def get_weather(city: str) -> str:
    """Get the weather in a city.

    Args:
        city: The city.
    """
    return f"Sunny in {city}"


def openai_call(call_id: str = "call_1") -> OpenAIReply:
    function = {"name": "get_weather", "arguments": '{"city": "Oslo"}'}
    return OpenAIReply(tool_calls=[{"id": call_id, "type": "function", "function": function}])


# -- OpenAI: sampling options and reasoning models ---------------------------


@pytest.mark.parametrize("model", ["o3", "o4-mini", "gpt-5"])
async def test_a_reasoning_model_gets_no_temperature_or_top_p_but_a_note(
    llm_for: MakeLLM, servers: dict[str, Any], model: str
) -> None:
    async with llm_for() as llm:
        turn = await llm.chat_turn("Hi", provider_name="openai", model_name=model,
                                   temperature=0.2, top_p=0.5)  # fmt: skip
    assert turn.response.text == "echo: Hi"  # the fake refuses either option
    (body,) = servers["openai"].chat_bodies()
    assert "temperature" not in body and "top_p" not in body
    note = f"temperature 0.2 and top_p 0.5 left out: {model!r} takes only the default (1)"
    assert notes(turn).count(note) == 1


async def test_the_providers_default_temperature_does_not_break_a_switch_to_a_reasoning_model(
    llm_for: MakeLLM, servers: dict[str, Any]
) -> None:
    async with llm_for(**{"providers.openai.options": {"temperature": 0.3}}) as llm:
        await llm.chat("Hi", session_id="s", provider_name="openai", model_name="gpt-4o-mini")
        turn = await llm.chat_turn("Think.", session_id="s", provider_name="openai",
                                   model_name="o3", reasoning="low")  # fmt: skip
        kept = await llm.chat_turn("Once more.", provider_name="openai", model_name="o3",
                                   temperature=1)  # fmt: skip
    plain, reasoning, default = servers["openai"].chat_bodies()
    assert plain["temperature"] == 0.3  # other models keep it
    assert "temperature" not in reasoning and reasoning["reasoning_effort"] == "low"
    assert "temperature 0.3 left out: 'o3' takes only the default (1)" in notes(turn)
    assert default["temperature"] == 1 and not any("left out" in n for n in notes(kept))


# -- OpenAI: every tool call answered -----------------------------------------


async def test_every_request_of_a_tool_loop_answers_its_calls(
    llm_for: MakeLLM, servers: dict[str, Any]
) -> None:
    servers["openai"].enqueue(openai_call("call_1"))
    async with llm_for() as llm:
        reply = await llm.chat("Weather?", session_id="s", tools=[get_weather])
        servers["openai"].enqueue(openai_call("call_2"), openai_call("call_3"))
        # The round limit stops the loop: the calls it did not run are answered as not run,
        # so the next turn's request is valid too.
        with pytest.raises(ToolRoundsError):
            await llm.chat("Again?", session_id="s", tools=[get_weather], max_tool_rounds=1)
        again = await llm.chat("And now?", session_id="s")
    assert reply == "echo: Weather?" and again == "echo: And now?"
    bodies = servers["openai"].chat_bodies()
    assert len(bodies) == 5  # call_1 + answer, call_2 + call_3 (stopped), the last turn
    last = bodies[-1]["messages"]
    asked = [c["id"] for m in last if m["role"] == "assistant" for c in m.get("tool_calls", [])]
    answered = [m["tool_call_id"] for m in last if m["role"] == "tool"]
    assert asked == answered == ["call_1", "call_2", "call_3"]


async def test_a_history_ending_in_an_unanswered_call_is_refused_with_the_apis_reason(
    llm_for: MakeLLM, servers: dict[str, Any]
) -> None:
    # The spec's chat_completion takes any history; OpenAI's refusal is passed on, named.
    history = [
        Message(role=Role.USER, content="Weather?"),
        Message(
            role=Role.ASSISTANT,
            parts=[ToolCall(id="call_1", name="get_weather", arguments={"city": "Oslo"})],
        ),
    ]
    async with llm_for() as llm:
        with pytest.raises(ProviderError) as info:
            await llm.services.provider("openai").chat_completion(history)
    message = str(info.value)
    assert "'openai'" in message and "400" in message
    assert "The following tool_call_ids did not have response messages: call_1" in message
    assert len(servers["openai"].chat_bodies()) == 1  # a 400 is not retried


# -- Ollama: tools only to a model that calls them --------------------------------


async def test_ollama_refuses_tools_to_a_model_without_the_capability_before_sending(
    llm_for: MakeLLM, servers: dict[str, Any]
) -> None:
    servers["ollama"].add_model(NO_TOOLS, ["vision"])
    async with llm_for() as llm:
        with pytest.raises(InvalidRequestError) as info:
            await llm.chat("Weather?", session_id="s", provider_name="ollama",
                           model_name=NO_TOOLS, tools=[get_weather])  # fmt: skip
        assert await llm.get_session("s") is None  # nothing stored
        plain = await llm.chat("Hi", provider_name="ollama", model_name=NO_TOOLS)
    message = str(info.value)
    assert "'ollama'" in message and f"{NO_TOOLS!r}" in message
    assert "lists no 'tools' among its capabilities (completion, vision)" in message
    assert "or call without tools=" in message
    assert plain == "echo: Hi"
    (sent,) = servers["ollama"].chat_bodies()  # only the turn without tools
    assert "tools" not in sent


async def test_ollama_says_how_to_do_without_the_output_tool(
    llm_for: MakeLLM, servers: dict[str, Any]
) -> None:
    servers["ollama"].add_model(NO_TOOLS, ["vision"])
    async with llm_for(**{"providers.ollama.structured_output": "tool"}) as llm:
        with pytest.raises(InvalidRequestError) as info:
            await llm.chat("A city?", provider_name="ollama", model_name=NO_TOOLS,
                           output_type={"type": "object", "properties": {}})  # fmt: skip
    message = str(info.value)
    assert 'or set providers.ollama.structured_output = "native".' in message
    assert "tools=" not in message  # the caller offered none
    assert servers["ollama"].chat_bodies() == []


async def test_ollama_sends_tools_to_a_model_that_lists_them(
    llm_for: MakeLLM, servers: dict[str, Any]
) -> None:
    call = {"id": "call_1", "name": "get_weather", "arguments": {"city": "Oslo"}}
    servers["ollama"].enqueue(Reply(tool_calls=[call]), Reply(text="Sunny."))
    async with llm_for() as llm:
        reply = await llm.chat("Weather?", provider_name="ollama", tools=[get_weather])
    assert reply == "Sunny."
    assert [len(b["tools"]) for b in servers["ollama"].chat_bodies()] == [1, 1]


async def test_ollama_unknown_capabilities_leave_the_servers_refusal_to_say_why(
    llm_for: MakeLLM, servers: dict[str, Any]
) -> None:
    # chat_completion does not look the model up first: the server's 400 is passed on.
    servers["ollama"].add_model(NO_TOOLS, ["vision"])
    async with llm_for() as llm:
        provider = llm.services.provider("ollama")
        with pytest.raises(ProviderError) as info:
            asked = [Message(role=Role.USER, content="Weather?")]
            await provider.chat_completion(asked, model=NO_TOOLS, tools=[as_tool(get_weather)])
    assert "registry.ollama.ai/library/gemma3:4b does not support tools" in str(info.value)


# -- Anthropic: a tool result of images only ------------------------------------


@tool()
def snapshot() -> ToolResult:
    """Take a picture of the screen."""
    return ToolResult("", parts=[ImagePart(media_type="image/png", data=png(8, 8))])


async def test_anthropic_a_tool_result_of_an_image_only_has_no_empty_text_block(
    llm_for: MakeLLM, servers: dict[str, Any]
) -> None:
    call = {"id": "toolu_1", "name": "snapshot", "arguments": {}}
    servers["anthropic"].enqueue(Reply(tool_calls=[call]), Reply(text="A screen."))
    async with llm_for() as llm:
        reply = await llm.chat("Look.", session_id="s", provider_name="anthropic",
                               tools=[snapshot])  # fmt: skip
        again = await llm.chat("And?", session_id="s", provider_name="anthropic")
        session = await llm.get_session("s")
    assert (reply, again) == ("A screen.", "echo: And?")  # the fake refuses an empty block
    result = servers["anthropic"].chat_bodies()[1]["messages"][-1]["content"][0]
    assert result["type"] == "tool_result"
    assert [b["type"] for b in result["content"]] == ["image"]
    assert session is not None
    (stored,) = [p for m in session.messages for p in m.parts if type(p) is ToolResultPart]
    assert stored.content == "" and len(stored.parts) == 1  # the session keeps it as it was
