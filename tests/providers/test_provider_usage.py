"""Streamed text, usage on the Turn and on the stored reply, blocked replies, instances."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from fakes import _server
from fakes.anthropic_server import count_request_tokens
from fakes.openai_server import FakeOpenAIServer

from llmcore import LLMCore, ProviderError

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]
NETWORK = ["openai", "anthropic", "gemini", "ollama"]


@pytest.mark.parametrize("provider", NETWORK)
@pytest.mark.parametrize("stream", [False, True])
async def test_usage_on_the_turn_and_the_stored_reply(
    llm_for: MakeLLM, servers: dict[str, Any], provider: str, stream: bool
) -> None:
    text = "Paris is the capital of France."
    if provider == "openai":
        from fakes.openai_server import Reply

        servers[provider].enqueue(
            Reply(
                chunks=["Paris is ", "the capital ", "of France."],
                usage={"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
            )
        )
    else:
        servers[provider].enqueue(
            _server.Reply(chunks=["Paris is ", "the capital ", "of France."], usage=(11, 7))
        )
    async with llm_for() as llm:
        turn = await llm.chat_turn(
            "Capital of France?", session_id="s", provider_name=provider, stream=stream
        )
        if stream:
            assert turn.chunks is not None
            assert [c async for c in turn.chunks] == ["Paris is ", "the capital ", "of France."]
        session = await llm.get_session("s")
    assert turn.response.text == text
    assert turn.response.usage is not None
    assert (turn.response.usage.input_tokens, turn.response.usage.output_tokens) == (11, 7)
    assert turn.response.finish_reason == "stop"
    assert session is not None
    reply = session.messages[-1]
    assert reply.content == text
    assert reply.metadata["usage"] == {"input_tokens": 11, "output_tokens": 7}
    assert reply.metadata["provider"] == provider
    assert "interrupted" not in reply.metadata


async def test_anthropic_usage_is_the_servers_own(
    llm_for: MakeLLM, servers: dict[str, Any]
) -> None:
    async with llm_for() as llm:
        turn = await llm.chat_turn("one two three", provider_name="anthropic")
    body = servers["anthropic"].requests_to("/v1/messages")[-1].json
    assert turn.response.usage is not None
    assert turn.response.usage.input_tokens == count_request_tokens(body)


async def test_gemini_blocked_prompt_is_a_blocked_provider_error(
    llm_for: MakeLLM, servers: dict[str, Any]
) -> None:
    servers["gemini"].enqueue(_server.Reply(blocked="SAFETY"))
    async with llm_for() as llm:
        with pytest.raises(ProviderError, match="blocked") as info:
            await llm.chat("something bad", session_id="s", provider_name="gemini")
        session = await llm.get_session("s")
    assert (info.value.kind, info.value.retryable) == ("blocked", False)
    assert "safety_settings" in str(info.value)
    assert session is not None and [m.content for m in session.messages] == ["something bad"]


@pytest.mark.parametrize("stream", [False, True])
async def test_gemini_blocked_reply_is_a_blocked_provider_error(
    llm_for: MakeLLM, servers: dict[str, Any], stream: bool
) -> None:
    servers["gemini"].enqueue(_server.Reply(text="", finish_reason="SAFETY"))
    async with llm_for() as llm:
        with pytest.raises(ProviderError, match=r"blocked the response \(reply: SAFETY\)"):
            if stream:
                [c async for c in await llm.chat("x", provider_name="gemini", stream=True)]
            else:
                await llm.chat("x", provider_name="gemini")


async def test_several_openai_compatible_servers_side_by_side(
    llm_for: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    with FakeOpenAIServer() as second:
        async with llm_for(
            **{
                "providers.vllm": {
                    "type": "openai",
                    "base_url": openai_server.base_url,
                    "default_model": "llama-3-8b",
                    "context_length": 8192,
                },
                "providers.groq": {
                    "type": "openai",
                    "base_url": second.base_url,
                    "api_key": "gsk-test",
                    "default_model": "mixtral",
                    "context_lengths": {"mixtral": 32768},
                },
            }
        ) as llm:
            assert await llm.chat("a", provider_name="vllm") == "echo: a"
            assert await llm.chat("b", provider_name="groq") == "echo: b"
            vllm, groq = llm.services.provider("vllm"), llm.services.provider("groq")
            assert type(vllm) is type(groq)
            assert (vllm.get_max_context_length(), groq.get_max_context_length()) == (8192, 32768)
        assert openai_server.last_request is not None
        assert openai_server.last_request.json["model"] == "llama-3-8b"
        assert second.last_request is not None
        assert second.last_request.json["model"] == "mixtral"
        assert second.last_request.headers["authorization"] == "Bearer gsk-test"


async def test_unknown_gemini_option_is_an_invalid_request(llm_for: MakeLLM) -> None:
    from llmcore import InvalidRequestError

    async with llm_for() as llm:
        with pytest.raises(InvalidRequestError, match="does not take frobnicate"):
            await llm.chat("x", provider_name="gemini", frobnicate=1)
