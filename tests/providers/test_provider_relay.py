"""A conversation that changes provider: OpenAI -> Anthropic -> Gemini -> Ollama -> OpenAI.

One session, with an image, tool calls and reasoning in its history, moves
through every provider. Each fake refuses what its real API refuses (a
tool-call id of the wrong form, another model's signed thinking, a function
call without its thought signature, an image it cannot read), so a relay
whose every turn is answered sent a valid request each time. The history is
compiled for each target without changing the stored session, and each
turn's notes say what was compiled.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import msgspec
import pytest
from _media import png
from _wire import notes
from fakes._server import Reply
from fakes.gemini_checks import field
from fakes.openai_server import Reply as OpenAIReply

from llmcore import LLMCore, Turn
from llmcore.parts import ImagePart, ReasoningPart, ToolCallPart

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]
#: An OpenAI-compatible server's tool-call id (Kimi's form): Anthropic refuses its "." and ":".
FOREIGN_ID = "functions.get_weather:0"
#: An Ollama model that sees, calls tools and thinks.
OLLAMA = "qwen3-vl:8b"
PHOTO = png(64, 48)


def get_weather(city: str) -> str:
    """Get the weather in a city.

    Args:
        city: The city.
    """
    return f"Sunny in {city}"


def openai_call(call_id: str, city: str) -> OpenAIReply:
    function = {"name": "get_weather", "arguments": f'{{"city": "{city}"}}'}
    return OpenAIReply(tool_calls=[{"id": call_id, "type": "function", "function": function}])


def calls(city: str, call_id: str | None = None) -> Reply:
    """A reply that thinks, then calls get_weather (with no id, as Gemini and Ollama do)."""
    call: dict[str, Any] = {"name": "get_weather", "arguments": {"city": city}}
    if call_id is not None:
        call["id"] = call_id
    return Reply(tool_calls=[call], thinking=f"I need the weather in {city}.")


def images_sent(provider: str, body: dict[str, Any]) -> list[bytes]:
    """Every image a request carries, decoded."""
    found: list[bytes] = []
    for turn in body["contents"] if provider == "gemini" else body["messages"]:
        if provider == "openai" and isinstance(turn.get("content"), list):
            found += [base64.b64decode(p["image_url"]["url"].split(",", 1)[1])
                      for p in turn["content"] if p["type"] == "image_url"]  # fmt: skip
        elif provider == "anthropic" and isinstance(turn.get("content"), list):
            found += [base64.b64decode(b["source"]["data"])
                      for b in turn["content"] if b["type"] == "image"]  # fmt: skip
        elif provider == "gemini":
            found += [base64.urlsafe_b64decode(field(field(p, "inlineData"), "data") + "==")
                      for p in turn["parts"] if field(p, "inlineData")]  # fmt: skip
        elif provider == "ollama":
            found += [base64.b64decode(i) for i in turn.get("images") or []]
    return found


@pytest.mark.parametrize("stream", [False, True])
async def test_one_session_through_every_provider_and_back(
    llm_for: MakeLLM, servers: dict[str, Any], stream: bool
) -> None:
    servers["ollama"].add_model(OLLAMA, ["vision", "tools", "thinking"])
    servers["openai"].enqueue(
        openai_call(FOREIGN_ID, "Oslo"), OpenAIReply(text="A harbour; sunny in Oslo.")
    )
    servers["anthropic"].enqueue(
        calls("Bergen", "toolu_01Bergen"), Reply(text="Sunny in Bergen.", thinking="Done.")
    )
    servers["gemini"].enqueue(calls("Paris"), Reply(text="Sunny in Paris.", thinking="Done."))
    servers["ollama"].enqueue(calls("Rome"), Reply(text="Sunny in Rome.", thinking="Done."))
    servers["openai"].enqueue(OpenAIReply(text="Sunny everywhere."))
    legs = [
        ("openai", None, "What is in this photo, and the weather in Oslo?", [PHOTO]),
        ("anthropic", None, "And in Bergen?", []),
        ("gemini", None, "And in Paris?", []),
        ("ollama", OLLAMA, "And in Rome?", []),
        ("openai", None, "Sum it up.", []),
    ]
    turns: list[Turn] = []
    stored: list[list[Any]] = []  # the session's messages after each leg
    async with llm_for() as llm:
        for provider, model, question, attachments in legs:
            turn = await llm.chat_turn(question, session_id="trip", provider_name=provider,
                                       model_name=model, tools=[get_weather], reasoning="low",
                                       attachments=attachments, stream=stream)  # fmt: skip
            assert (turn.chunks is not None) == stream  # a stream exactly when asked for
            if turn.chunks is not None:
                async for _ in turn.chunks:
                    pass
            turns.append(turn)
            session = await llm.get_session("trip")
            assert session is not None
            stored.append([msgspec.to_builtins(m.parts) for m in session.messages])
    assert [t.response.text for t in turns] == [
        "A harbour; sunny in Oslo.",
        "Sunny in Bergen.",
        "Sunny in Paris.",
        "Sunny in Rome.",
        "Sunny everywhere.",
    ]
    # The stored session is never changed by compiling it for another provider.
    for before, after in itertools.pairwise(stored):
        assert after[: len(before)] == before
    messages = session.messages
    assert next(c.id for m in messages for c in m.parts if type(c) is ToolCallPart) == FOREIGN_ID
    thinking = [p for m in messages for p in m.parts if type(p) is ReasoningPart]
    assert {p.provider for p in thinking} == {"anthropic", "gemini", "ollama"}
    assert all(p.signature for p in thinking if p.provider == "anthropic")

    # What was compiled, and why, is on each turn.
    assert "tool-call ids rewritten for anthropic" in notes(turns[1])
    dropped = "reasoning by {} dropped (it is only valid there)"
    assert dropped.format("anthropic/claude-sonnet-4-6") in notes(turns[2])
    assert dropped.format("anthropic/claude-sonnet-4-6") in notes(turns[3])
    assert dropped.format("gemini/gemini-2.5-flash") in notes(turns[3])
    assert dropped.format(f"ollama/{OLLAMA}") in notes(turns[4])
    assert not any("dropped" in n for n in notes(turns[1]))  # nothing foreign to drop yet

    # Each provider was sent the photo from the first turn, in its own form.
    for provider in ("openai", "anthropic", "gemini", "ollama"):
        assert images_sent(provider, servers[provider].chat_bodies()[-1]) == [PHOTO]
    # Anthropic got the foreign id rewritten, the same in the call and its result.
    body = servers["anthropic"].chat_bodies()[0]
    uses = [b["id"] for m in body["messages"] if isinstance(m["content"], list)
            for b in m["content"] if b["type"] == "tool_use"]  # fmt: skip
    results = [b["tool_use_id"] for m in body["messages"] if isinstance(m["content"], list)
               for b in m["content"] if b["type"] == "tool_result"]  # fmt: skip
    assert uses == results and FOREIGN_ID not in uses
    # And OpenAI, back at the end, got no reasoning from anyone.
    last = servers["openai"].chat_bodies()[-1]
    assert "Thinking" not in str(last) and "I need the weather" not in str(last)
    assert [type(p) for p in messages[0].parts] == [type(messages[0].parts[0]), ImagePart]


async def test_foreign_reasoning_can_travel_as_text(
    llm_for: MakeLLM, servers: dict[str, Any]
) -> None:
    servers["anthropic"].enqueue(Reply(text="Sunny.", thinking="Oslo is usually rainy."))
    async with llm_for(**{"context_management.foreign_reasoning": "text"}) as llm:
        await llm.chat("Weather?", session_id="s", provider_name="anthropic", reasoning="low")
        turn = await llm.chat_turn("And tomorrow?", session_id="s", provider_name="gemini")
    assert "reasoning by anthropic/claude-sonnet-4-6 sent as text" in notes(turn)
    body = servers["gemini"].chat_bodies()[-1]
    texts = [field(p, "text") for c in body["contents"] for p in field(c, "parts")]
    assert "(Reasoning by anthropic/claude-sonnet-4-6: Oslo is usually rainy.)" in texts


async def test_calls_without_ids_from_several_turns_can_go_to_anthropic(
    llm_for: MakeLLM, servers: dict[str, Any]
) -> None:
    # Gemini and Ollama give their calls no ids; llmcore names them. Two turns of
    # such calls, then Anthropic, which refuses a request whose tool_use ids repeat.
    servers["ollama"].add_model(OLLAMA, ["vision", "tools", "thinking"])
    servers["gemini"].enqueue(calls("Paris"), Reply(text="Sunny in Paris."))
    servers["ollama"].enqueue(calls("Rome"), Reply(text="Sunny in Rome."))
    servers["ollama"].enqueue(calls("Milan"), Reply(text="Sunny in Milan."))
    async with llm_for() as llm:
        for provider, model, question in [("gemini", None, "Paris?"), ("ollama", OLLAMA, "Rome?"),
                                          ("ollama", OLLAMA, "Milan?")]:  # fmt: skip
            await llm.chat(question, session_id="s", provider_name=provider, model_name=model,
                           tools=[get_weather])  # fmt: skip
        reply = await llm.chat("And all three?", session_id="s", provider_name="anthropic",
                               tools=[get_weather])  # fmt: skip
    assert reply.startswith("echo: And all three?")
    body = servers["anthropic"].chat_bodies()[-1]
    uses = [b["id"] for m in body["messages"] if isinstance(m["content"], list)
            for b in m["content"] if b["type"] == "tool_use"]  # fmt: skip
    assert len(uses) == len(set(uses)) == 3


async def test_an_id_too_long_for_openai_is_rewritten_for_it_alone(
    llm_for: MakeLLM, servers: dict[str, Any]
) -> None:
    long_id = "toolu_" + "0123456789" * 5  # 56 characters: OpenAI takes 40 at most
    servers["anthropic"].enqueue(calls("Oslo", long_id), Reply(text="Sunny in Oslo."))
    async with llm_for() as llm:
        await llm.chat("Oslo?", session_id="s", provider_name="anthropic", tools=[get_weather])
        turn = await llm.chat_turn("Thanks!", session_id="s", provider_name="openai")
        session = await llm.get_session("s")
    assert turn.response.text == "echo: Thanks!"
    assert "tool-call ids rewritten for openai" in notes(turn)
    body = servers["openai"].chat_bodies()[-1]
    (sent,) = [c["id"] for m in body["messages"] for c in m.get("tool_calls") or []]
    assert len(sent) <= 40 and [m.get("tool_call_id") for m in body["messages"]
                                if m["role"] == "tool"] == [sent]  # fmt: skip
    assert session is not None
    assert [c.id for m in session.messages for c in m.tool_calls] == [long_id]  # stored as sent
