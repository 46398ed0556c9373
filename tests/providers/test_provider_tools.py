"""Tool calling on every provider: tools sent in its format, calls read back, results replayed."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from fakes._server import Reply as FakeReply
from fakes.openai_server import Reply as OpenAIReply

from llmcore import LLMCore, Role

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]


def get_weather(city: str) -> str:
    """Get the weather in a city.

    Args:
        city: The city.
    """
    return f"Sunny in {city}"


SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "The city."}},
    "required": ["city"],
    "additionalProperties": False,
}
CALL = {"id": "call_7", "name": "get_weather", "arguments": {"city": "Oslo"}}


def script(provider: str, server: Any) -> None:
    if provider == "openai":
        call = {
            "id": "call_7",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
        }
        server.enqueue(OpenAIReply(tool_calls=[call]), OpenAIReply(text="It is sunny."))
    else:
        server.enqueue(FakeReply(tool_calls=[CALL]), FakeReply(text="It is sunny."))


def tools_sent(provider: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    if provider == "anthropic":
        return [
            {
                "name": "get_weather",
                "description": "Get the weather in a city.",
                "input_schema": SCHEMA,
            }
        ]
    if provider == "gemini":
        # google-genai camel-cases the Tool's keys but sends this one as named.
        declaration = {
            "name": "get_weather",
            "description": "Get the weather in a city.",
            "parameters_json_schema": SCHEMA,
        }
        return [{"functionDeclarations": [declaration]}]
    return [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Get the weather in a city.",
                "parameters": SCHEMA,
            },
        }
    ]


def replayed(provider: str, body: dict[str, Any]) -> list[Any]:
    """The tool call and its result, as the second request carries them."""
    if provider == "anthropic":
        return body["messages"][-2:]
    if provider == "gemini":
        return body["contents"][-2:]
    return body["messages"][-2:]


EXPECTED_REPLAY = {
    "openai": [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_7",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_7", "content": "Sunny in Oslo"},
    ],
    "anthropic": [
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "call_7",
                    "name": "get_weather",
                    "input": {"city": "Oslo"},
                }
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_7", "content": "Sunny in Oslo"}
            ],
        },
    ],
    "gemini": [
        {
            "role": "model",
            "parts": [
                {"functionCall": {"id": "call_7", "name": "get_weather", "args": {"city": "Oslo"}}}
            ],
        },
        {
            "role": "user",
            "parts": [
                {
                    "functionResponse": {
                        "id": "call_7",
                        "name": "get_weather",
                        "response": {"result": "Sunny in Oslo"},
                    }
                }
            ],
        },
    ],
    "ollama": [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}],
        },
        {"role": "tool", "content": "Sunny in Oslo", "tool_name": "get_weather"},
    ],
}


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini", "ollama"])
async def test_tool_round_trip_per_provider(
    llm_for: MakeLLM, servers: dict[str, Any], provider: str, stream: bool
) -> None:
    server = servers[provider]
    script(provider, server)
    model = {"ollama": "llama3.2"}.get(provider)
    async with llm_for() as llm:
        if stream:
            chunks = await llm.chat(
                "Weather in Oslo?",
                session_id="s",
                provider_name=provider,
                model_name=model,
                tools=[get_weather],
                stream=True,
            )
            reply = "".join([c async for c in chunks])
        else:
            reply = await llm.chat(
                "Weather in Oslo?",
                session_id="s",
                provider_name=provider,
                model_name=model,
                tools=[get_weather],
            )
        session = await llm.get_session("s")
    assert reply == "It is sunny."
    first, second = server.chat_bodies()  # the tool call, then its result
    assert first["tools"] == tools_sent(provider, first)
    expected = EXPECTED_REPLAY[provider]
    if provider == "ollama":
        expected = [{**expected[0], "content": ""}, expected[1]]
    assert replayed(provider, second) == expected
    assert session is not None
    assert [m.role for m in session.messages] == [
        Role.USER,
        Role.ASSISTANT,
        Role.TOOL,
        Role.ASSISTANT,
    ]
    stored_call = session.messages[1].tool_calls[0]
    assert (stored_call.name, stored_call.arguments) == ("get_weather", {"city": "Oslo"})
