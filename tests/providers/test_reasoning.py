"""Reasoning on every provider: mapped, streamed apart from the answer, stored, replayed.

The fakes give a reasoning reply only when the request asks for one, sign it
as the real APIs do (Anthropic's thinking signature, Gemini's thought
signatures) and refuse a history that lost or altered it, so a replay that
reaches a fake and is answered was valid for that provider.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import msgspec
import pytest
from _wire import notes
from fakes._server import Reply, sign
from fakes.gemini_checks import call_fingerprint, field
from fakes.openai_server import Reply as OpenAIReply

from llmcore import InvalidRequestError, LLMCore, ProviderError
from llmcore.exchange import ReasoningDelta, TextDelta, ToolCallDelta
from llmcore.models import Message, Role
from llmcore.parts import ReasoningPart, ToolCallPart, ToolResultPart
from llmcore.tools.tool import as_tool

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]
THINKER = "qwen3:4b"  # an Ollama model whose /api/show lists "thinking"
MODEL = {"ollama": THINKER}
THOUGHT = "The user wants the weather; I should call the tool first."


def get_weather(city: str) -> str:
    """Get the weather in a city.

    Args:
        city: The city.
    """
    return f"Sunny in {city}"


def call(provider: str, call_id: str = "toolu_01A") -> Any:
    """A scripted reply that calls get_weather(Oslo), thinking first."""
    arguments = {"city": "Oslo"}
    if provider == "openai":
        function = {"name": "get_weather", "arguments": '{"city": "Oslo"}'}
        return OpenAIReply(tool_calls=[{"id": call_id, "type": "function", "function": function}])
    return Reply(tool_calls=[{"id": call_id, "name": "get_weather", "arguments": arguments}],
                 thinking=THOUGHT)  # fmt: skip


@pytest.fixture
def thinker(servers: dict[str, Any]) -> None:
    servers["ollama"].add_model(THINKER, ["thinking", "tools"])


@pytest.mark.parametrize("provider", ["anthropic", "gemini", "ollama", "openai"])
async def test_reasoning_is_streamed_apart_from_the_answer(
    llm_for: MakeLLM, servers: dict[str, Any], thinker: None, provider: str
) -> None:
    answer = "It is sunny in Oslo today."
    if provider == "openai":  # an OpenAI-compatible server that shows its reasoning (DeepSeek)
        servers[provider].enqueue(OpenAIReply(text=answer, reasoning=THOUGHT))
        servers[provider].enqueue(OpenAIReply(text=answer, reasoning=THOUGHT))
        options: dict[str, Any] = {}
    else:
        servers[provider].enqueue(Reply(text=answer, thinking=THOUGHT))
        servers[provider].enqueue(Reply(text=answer, thinking=THOUGHT))
        options = {"reasoning": "low", "model_name": MODEL.get(provider)}
    async with llm_for() as llm:
        turn = await llm.chat_turn("Weather?", session_id="s", provider_name=provider,
                                   stream=True, **options)  # fmt: skip
        assert turn.chunks is not None
        events = [e async for e in turn.chunks.events()]
        chunks = await llm.chat("Weather?", provider_name=provider, stream=True, **options)
        texts = [c async for c in chunks]
    kinds = [type(e) for e in events]
    assert ReasoningDelta in kinds and TextDelta in kinds
    assert kinds.index(ReasoningDelta) < kinds.index(TextDelta)  # thinking comes first
    thought = "".join(e.text for e in events if type(e) is ReasoningDelta)
    assert thought == THOUGHT
    assert "".join(e.text for e in events if type(e) is TextDelta) == answer
    assert "".join(texts) == answer  # chat(stream=True) yields the answer only
    assert all(isinstance(t, str) for t in texts)
    stored = [p for p in turn.response.parts if type(p) is ReasoningPart]
    assert "".join(p.text for p in stored) == THOUGHT


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("provider", ["anthropic", "gemini", "ollama"])
async def test_reasoning_is_stored_with_its_signature_and_replayed_next_turn(
    llm_for: MakeLLM, servers: dict[str, Any], thinker: None, provider: str, stream: bool
) -> None:
    answer = "Sunny."
    servers[provider].enqueue(Reply(text=answer, thinking=THOUGHT))
    model = MODEL.get(provider)
    async with llm_for() as llm:
        turn = await llm.chat_turn("Weather?", session_id="s", provider_name=provider,
                                   model_name=model, reasoning="low", stream=stream)  # fmt: skip
        assert (turn.chunks is not None) == stream  # a stream exactly when asked for
        if turn.chunks is not None:
            assert "".join([c async for c in turn.chunks]) == answer
        await llm.chat("Thanks.", session_id="s", provider_name=provider, model_name=model,
                       reasoning="low")  # fmt: skip
        session = await llm.get_session("s")
    assert session is not None
    reply = session.messages[1]
    # One reasoning part (a Gemini stream: its summary, then the closing signature).
    parts = [p for p in reply.parts if type(p) is ReasoningPart]
    assert "".join(p.text for p in parts) == THOUGHT
    assert len(parts) == (2 if provider == "gemini" and stream else 1)
    (signature,) = {p.signature for p in parts if p.signature} or {None}
    reasoning = msgspec.structs.replace(parts[0], text=THOUGHT, signature=signature)
    assert {(p.provider, p.model) for p in parts} == {
        (provider, model or llm.config.providers[provider].default_model)
    }
    replay = servers[provider].chat_bodies()[-1]
    if provider == "anthropic":
        assert reasoning.signature == sign("thinking", THOUGHT)
        assert replay["messages"][1]["content"][0] == {
            "type": "thinking",
            "thinking": THOUGHT,
            "signature": reasoning.signature,
        }
    elif provider == "gemini":
        # No function call: Gemini signs the answer's last part; it goes back on it.
        assert reasoning.summary and reasoning.signature == sign("thought-text", answer)
        (part,) = field(replay["contents"][1], "parts")
        assert field(part, "text") == answer
        signature = base64.urlsafe_b64decode(field(part, "thoughtSignature") + "==")
        assert signature == base64.b64decode(reasoning.signature)
    else:
        assert reasoning.signature is None  # Ollama signs nothing
        assert replay["messages"][1] == {"role": "assistant", "content": answer,
                                         "thinking": THOUGHT}  # fmt: skip


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("model", ["claude-sonnet-4-6", "claude-sonnet-4-5"])
async def test_anthropic_tool_loop_replays_the_signed_thinking_before_the_tool_result(
    llm_for: MakeLLM, servers: dict[str, Any], model: str, stream: bool
) -> None:
    # claude-sonnet-4-5 is an alias: the API answers as claude-sonnet-4-5-20250929,
    # and the thinking that snapshot signed is still the requested model's own.
    server = servers["anthropic"]
    server.enqueue(call("anthropic"), Reply(text="It is sunny.", thinking="Done."))
    async with llm_for() as llm:
        turn = await llm.chat_turn("Weather in Oslo?", session_id="s", provider_name="anthropic",
                                   model_name=model, tools=[get_weather], reasoning="low",
                                   stream=stream)  # fmt: skip
        assert (turn.chunks is not None) == stream  # a stream exactly when asked for
        if turn.chunks is not None:
            assert "".join([c async for c in turn.chunks]) == "It is sunny."
        session = await llm.get_session("s")
    assert turn.response.text == "It is sunny."
    first, second = server.chat_bodies()
    assert first["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    asking = second["messages"][1]["content"]
    assert [b["type"] for b in asking] == ["thinking", "tool_use"]
    assert asking[0] == {"type": "thinking", "thinking": THOUGHT,
                         "signature": sign("thinking", THOUGHT)}  # fmt: skip
    assert second["messages"][2]["content"][0]["type"] == "tool_result"
    assert session is not None
    stored = session.messages[1].parts
    assert [type(p) for p in stored] == [ReasoningPart, ToolCallPart]
    assert not any("dropped" in n for n in notes(turn))


async def test_anthropic_redacted_thinking_is_replayed_in_its_place(
    llm_for: MakeLLM, servers: dict[str, Any]
) -> None:
    server = servers["anthropic"]
    asking = call("anthropic")
    asking.redacted_thinking = True
    server.enqueue(asking, Reply(text="It is sunny."))
    async with llm_for() as llm:
        await llm.chat("Weather?", session_id="s", provider_name="anthropic",
                       tools=[get_weather], reasoning="low")  # fmt: skip
        session = await llm.get_session("s")
    replayed = server.chat_bodies()[1]["messages"][1]["content"]
    assert [b["type"] for b in replayed] == ["thinking", "redacted_thinking", "tool_use"]
    assert replayed[1] == {"type": "redacted_thinking", "data": sign("redacted", "")}
    assert session is not None
    encrypted = [p.encrypted for p in session.messages[1].parts if type(p) is ReasoningPart]
    assert encrypted == [None, sign("redacted", "")]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("model", ["gemini-2.5-flash", "gemini-3-pro-preview"])
async def test_gemini_tool_loop_replays_the_thought_signature_on_the_function_call(
    llm_for: MakeLLM, servers: dict[str, Any], model: str, stream: bool
) -> None:
    server = servers["gemini"]
    server.enqueue(call("gemini"), Reply(text="It is sunny."))
    async with llm_for() as llm:
        turn = await llm.chat_turn("Weather in Oslo?", session_id="s", provider_name="gemini",
                                   model_name=model, tools=[get_weather], reasoning="low",
                                   stream=stream)  # fmt: skip
        assert (turn.chunks is not None) == stream  # a stream exactly when asked for
        if turn.chunks is not None:
            assert "".join([c async for c in turn.chunks]) == "It is sunny."
    first, second = server.chat_bodies()
    config = field(field(first, "generationConfig"), "thinkingConfig")
    assert (field(config, "includeThoughts"), field(config, "thinkingBudget")) == (True, 2048)
    (part,) = field(second["contents"][1], "parts")  # the thought summary is not sent back
    expected = sign("thought", call_fingerprint(field(part, "functionCall")))
    signature = base64.urlsafe_b64decode(field(part, "thoughtSignature") + "==")
    assert signature == base64.b64decode(expected)
    assert turn.response.text == "It is sunny."


async def test_the_fakes_refuse_a_tool_loop_that_lost_or_altered_its_reasoning(
    llm_for: MakeLLM, servers: dict[str, Any]
) -> None:
    """What the replay tests rely on: the fakes refuse what the real APIs refuse."""
    asked = Message(role=Role.USER, content="Weather in Oslo?")
    the_call = ToolCallPart(id="toolu_01A", name="get_weather", arguments={"city": "Oslo"})
    result = Message(role=Role.TOOL, parts=[ToolResultPart(call_id="toolu_01A",
                     content="Sunny in Oslo", name="get_weather")])  # fmt: skip

    def history(*parts: Any) -> list[Message]:
        return [asked, Message(role=Role.ASSISTANT, parts=list(parts)), result]

    signed = ReasoningPart(text=THOUGHT, signature=sign("thinking", THOUGHT),
                           provider="anthropic", model="claude-sonnet-4-6")  # fmt: skip
    altered = ReasoningPart(text=THOUGHT + " (edited)", signature=signed.signature,
                            provider="anthropic", model="claude-sonnet-4-6")  # fmt: skip
    options = {"reasoning": "low", "tools": [as_tool(get_weather)]}
    async with llm_for() as llm:
        anthropic = llm.services.provider("anthropic")
        assert (await anthropic.chat_completion(history(signed, the_call), **options)).text
        with pytest.raises(ProviderError, match="Expected `thinking` or `redacted_thinking`"):
            await anthropic.chat_completion(history(the_call), **options)
        with pytest.raises(ProviderError, match="Invalid `signature` in `thinking` block"):
            await anthropic.chat_completion(history(altered, the_call), **options)

        gemini = llm.services.provider("gemini")
        servers["gemini"].enqueue(call("gemini"))
        reply = await gemini.chat_completion([asked], **options)
        (own,) = [p for p in reply.parts if type(p) is ReasoningPart]
        assert own.signature is not None
        other = ReasoningPart(signature=base64.b64encode(b"another").decode(), provider="gemini",
                              model="gemini-2.5-flash")  # fmt: skip
        with pytest.raises(ProviderError, match="Function call is missing a thought_signature"):
            await gemini.chat_completion(history(the_call), **options)
        with pytest.raises(ProviderError, match="Corrupted thought signature"):
            await gemini.chat_completion(history(other, the_call), **options)
        assert (await gemini.chat_completion(history(own, the_call), **options)).text


@pytest.mark.parametrize(
    ("provider", "model", "sent"),
    [
        ("openai", "gpt-4o-mini", "reasoning_effort"),
        ("anthropic", "claude-3-5-haiku-20241022", "thinking"),
        ("gemini", "gemini-2.0-flash", "generationConfig"),
        ("ollama", "llama3.2", "think"),
    ],
)
async def test_a_model_that_cannot_reason_ignores_it_with_one_note(
    llm_for: MakeLLM, servers: dict[str, Any], provider: str, model: str, sent: str
) -> None:
    server = servers[provider]
    final = OpenAIReply(text="Sunny.") if provider == "openai" else Reply(text="Sunny.")
    server.enqueue(call(provider, "call_1"), call(provider, "call_2"), final)
    async with llm_for() as llm:
        turn = await llm.chat_turn("Weather?", provider_name=provider, model_name=model,
                                   tools=[get_weather], reasoning="high")  # fmt: skip
    assert turn.response.text == "Sunny."
    bodies = server.chat_bodies()
    assert len(bodies) == 3  # three rounds, one note
    if sent == "generationConfig":
        assert all(field(b.get(sent), "thinkingConfig") is None for b in bodies)
    else:
        assert all(sent not in b for b in bodies)
    ignored = [n for n in notes(turn) if n.startswith("reasoning ignored")]
    assert ignored == [f"reasoning ignored: {provider} model {model!r} does not reason"]
    assert not any(type(p) is ReasoningPart for p in turn.response.parts)


async def test_usage_reports_reasoning_tokens_over_the_rounds(
    llm_for: MakeLLM, servers: dict[str, Any]
) -> None:
    servers["openai"].enqueue(call("openai", "call_1"), OpenAIReply(text="Sunny."))
    servers["gemini"].enqueue(Reply(text="Sunny.", reasoning_tokens=40))
    async with llm_for() as llm:
        openai = await llm.chat_turn("Weather?", provider_name="openai", model_name="o4-mini",
                                     tools=[get_weather], reasoning="high")  # fmt: skip
        gemini = await llm.chat_turn("Weather?", provider_name="gemini", reasoning="low")
        plain = await llm.chat_turn("Weather?", provider_name="openai")
    assert openai.response.usage is not None and gemini.response.usage is not None
    assert openai.response.usage.reasoning_tokens == 2 * 64  # the fake's count for "high"
    assert [b["reasoning_effort"] for b in servers["openai"].chat_bodies()[:2]] == ["high"] * 2
    assert gemini.response.usage.reasoning_tokens == 40
    assert gemini.response.usage.output_tokens == 1 + 40  # thoughts are output tokens too
    assert plain.response.usage is not None and plain.response.usage.reasoning_tokens == 0


@pytest.mark.parametrize(
    ("reasoning", "effort", "anthropic", "gemini"),
    [
        ("low", "low", 1024, 2048),
        ("medium", "medium", 4096, 8192),
        ("high", "high", 16384, 24576),  # Gemini Flash's largest budget
        ({"budget_tokens": 3000}, "medium", 3000, 3000),
    ],
)
async def test_one_reasoning_setting_maps_to_each_providers_own(
    llm_for: MakeLLM,
    servers: dict[str, Any],
    thinker: None,
    reasoning: Any,
    effort: str,
    anthropic: int,
    gemini: int,
) -> None:
    servers["ollama"].add_model("gpt-oss:20b", ["thinking", "tools"])
    async with llm_for(**{"providers.anthropic.max_tokens": 32000}) as llm:
        for provider, model in [("openai", "o3"), ("anthropic", None), ("gemini", None),
                                ("ollama", THINKER), ("ollama", "gpt-oss:20b")]:  # fmt: skip
            await llm.chat("Think.", provider_name=provider, model_name=model, reasoning=reasoning)
    assert servers["openai"].chat_bodies()[0]["reasoning_effort"] == effort
    thinking = servers["anthropic"].chat_bodies()[0]["thinking"]
    assert thinking == {"type": "enabled", "budget_tokens": anthropic}
    config = field(field(servers["gemini"].chat_bodies()[0], "generationConfig"), "thinkingConfig")
    assert field(config, "thinkingBudget") == gemini
    qwen, gpt_oss = servers["ollama"].chat_bodies()
    assert (qwen["think"], gpt_oss["think"]) == (True, effort)


async def test_the_providers_reasoning_setting_is_the_default(
    llm_for: MakeLLM, servers: dict[str, Any]
) -> None:
    async with llm_for(**{"providers.anthropic.reasoning": "low"}) as llm:
        await llm.chat("Think.", provider_name="anthropic")
        await llm.chat("Think harder.", provider_name="anthropic", reasoning="medium")
    first, second = servers["anthropic"].chat_bodies()
    assert first["thinking"]["budget_tokens"] == 1024
    assert second["thinking"]["budget_tokens"] == 2048  # 4096 is max_tokens: half is left


async def test_anthropic_thinking_leaves_out_what_the_api_refuses_with_notes(
    llm_for: MakeLLM, servers: dict[str, Any]
) -> None:
    async with llm_for() as llm:
        turn = await llm.chat_turn("Think.", provider_name="anthropic", reasoning="high",
                                   temperature=0.2, provider_options={"top_k": 5})  # fmt: skip
        small = await llm.chat_turn("Think.", provider_name="anthropic", reasoning="medium",
                                    max_tokens=1500)  # fmt: skip
    body, small_body = servers["anthropic"].chat_bodies()
    assert body["thinking"]["budget_tokens"] == 2048 and "temperature" not in body
    assert "top_k" not in body and "top_k" not in body.get("extra_body", {})
    assert "thinking budget lowered to 2048 to leave room for the answer (max_tokens 4096)" in (
        notes(turn)
    )
    assert "temperature left out: Anthropic does not take it with thinking" in notes(turn)
    assert "thinking" not in small_body  # half of 1500 is below the smallest budget (1024)
    assert any(n.startswith("reasoning ignored: max_tokens 1500") for n in notes(small))


@pytest.mark.parametrize("bad", ["extreme", {"budget_tokens": 0}, {"tokens": 5}, 3])
async def test_a_bad_reasoning_value_is_refused_before_anything_is_sent(
    llm_for: MakeLLM, servers: dict[str, Any], bad: Any
) -> None:
    async with llm_for() as llm:
        with pytest.raises(InvalidRequestError, match="reasoning must be 'low', 'medium'"):
            await llm.chat("Think.", session_id="s", provider_name="anthropic", reasoning=bad)
        assert await llm.get_session("s") is None
    assert servers["anthropic"].chat_bodies() == []


async def test_stream_events_show_tool_calls_too(llm_for: MakeLLM, servers: dict[str, Any]) -> None:
    servers["anthropic"].enqueue(call("anthropic"), Reply(text="Sunny.", thinking="Done."))
    async with llm_for() as llm:
        chunks = await llm.chat("Weather?", provider_name="anthropic", tools=[get_weather],
                                reasoning="low", stream=True)  # fmt: skip
        events = [e async for e in chunks.events()]
    calls = [e for e in events if type(e) is ToolCallDelta]
    assert calls[0].name == "get_weather" and calls[0].id == "toolu_01A"
    kinds = [type(e).__name__ for e in events]
    # Round 1: thinking, then the call; round 2: thinking, then the answer.
    assert kinds.index("ToolCallDelta") < kinds.index("TextDelta")
    assert "".join(e.text for e in events if type(e) is ReasoningDelta) == THOUGHT + "Done."
    assert "".join(e.text for e in events if type(e) is TextDelta) == "Sunny."


@pytest.mark.parametrize("provider", ["anthropic", "gemini", "ollama"])
async def test_leaving_a_stream_while_the_model_thinks_keeps_the_session_usable(
    llm_for: MakeLLM, servers: dict[str, Any], thinker: None, provider: str
) -> None:
    # The careless path: break out of the events at the first thought, no aclose().
    servers[provider].enqueue(Reply(text="A long answer.", thinking="one two three four five"))
    model = MODEL.get(provider)
    async with llm_for() as llm:
        chunks = await llm.chat("Q?", session_id="s", provider_name=provider, model_name=model,
                                reasoning="low", stream=True)  # fmt: skip
        async for event in chunks.events():
            if type(event) is ReasoningDelta:
                break
        # The unfinished reply is saved first; the next turns must still be valid requests
        # (Anthropic refuses an empty assistant message, and unsigned thinking is not sent).
        again = await llm.chat("Next?", session_id="s", provider_name=provider, model_name=model,
                               reasoning="low")  # fmt: skip
        elsewhere = await llm.chat("And you?", session_id="s", provider_name="openai")
        session = await llm.get_session("s")
    assert again.startswith("echo: ") and elsewhere == "echo: And you?"
    assert session is not None
    cut = session.messages[1]
    assert cut.metadata.get("interrupted") is True
    assert [type(p) for p in cut.parts] == [ReasoningPart] and cut.content == ""
