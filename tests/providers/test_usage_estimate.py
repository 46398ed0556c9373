"""A server that reports no usage: llmcore stores its own count, estimated (issue 14, item 11)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fakes.openai_server import FakeOpenAIServer, Reply

from llmcore import LLMCore
from llmcore.tokens import get_counter

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]


async def test_a_stream_without_usage_stores_llmcores_count(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue(Reply(text="Paris is the capital of France.", no_usage=True))
    async with make_llm() as llm:
        turn = await llm.chat_turn("Capital of France?", session_id="s", stream=True)
        assert turn.chunks is not None
        text = "".join([c async for c in turn.chunks])
        session = await llm.get_session("s")
    sent = openai_server.last_request
    assert sent is not None and sent.json["stream_options"] == {"include_usage": True}
    usage = turn.response.usage
    assert usage is not None and usage.estimated
    assert usage.output_tokens == get_counter("o200k_base").count(text) > 0
    # The same count the context stages made of the prompt.
    assert usage.input_tokens == turn.budget.total_used
    assert session is not None
    stored = session.messages[-1].metadata["usage"]
    assert stored == {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "estimated": True,
    }


async def test_reported_usage_is_stored_as_reported(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue(Reply(text="Hi.", usage={"prompt_tokens": 11, "completion_tokens": 2}))
    async with make_llm() as llm:
        turn = await llm.chat_turn("Hello", session_id="s", stream=True)
        assert turn.chunks is not None
        _ = [c async for c in turn.chunks]
        session = await llm.get_session("s")
    usage = turn.response.usage
    assert usage is not None and not usage.estimated
    assert (usage.input_tokens, usage.output_tokens) == (11, 2)
    assert session is not None
    assert "estimated" not in session.messages[-1].metadata["usage"]


async def test_a_whole_reply_without_usage_is_estimated_too(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue(Reply(text="Four.", no_usage=True))
    async with make_llm() as llm:
        turn = await llm.chat_turn("Two plus two?")
    usage = turn.response.usage
    assert usage is not None and usage.estimated and usage.output_tokens == 2
