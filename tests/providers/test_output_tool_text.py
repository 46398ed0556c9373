"""The output tool's call is the answer: a preamble beside it is not, and its name is kept."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import msgspec
import pytest
from fakes._server import Reply

from llmcore import LLMCore

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]


class City(msgspec.Struct):
    name: str
    population: int


ANSWER = {"name": "Oslo", "population": 709000}


@pytest.mark.parametrize("stream", [False, True])
async def test_a_preamble_beside_the_answer_tool_is_left_out(
    llm_for: MakeLLM, anthropic_server: Any, stream: bool
) -> None:
    # With thinking on, Claude Sonnet 4 gets final_answer offered, not forced, and may
    # write a sentence before calling it.
    call = {"id": "toolu_1", "name": "final_answer", "arguments": ANSWER}
    anthropic_server.enqueue(Reply(text="Let me answer that.", tool_calls=[call]))
    async with llm_for() as llm:
        turn = await llm.chat_turn(
            "The capital of Norway?",
            output_type=City,
            session_id="s",
            provider_name="anthropic",
            model_name="claude-sonnet-4-20250514",
            reasoning="low",
            max_tokens=4096,
            stream=stream,
        )
        assert (turn.chunks is not None) == stream
        if stream:
            assert turn.chunks is not None
            streamed = "".join([c async for c in turn.chunks])
            assert json.loads(streamed) == ANSWER
        session = await llm.get_session("s")
    assert turn.response.output == City("Oslo", 709000)
    assert json.loads(turn.response.text) == ANSWER
    assert session is not None and json.loads(session.messages[-1].content) == ANSWER


@pytest.mark.parametrize("stream", [False, True])
async def test_text_without_the_answer_tool_is_the_reply(
    llm_for: MakeLLM, anthropic_server: Any, stream: bool
) -> None:
    anthropic_server.enqueue(Reply(text=json.dumps(ANSWER)))
    async with llm_for() as llm:
        turn = await llm.chat_turn(
            "The capital of Norway?",
            output_type=City,
            provider_name="anthropic",
            model_name="claude-3-5-haiku-latest",
            stream=stream,
        )
        if stream:
            assert turn.chunks is not None
            assert json.loads("".join([c async for c in turn.chunks])) == ANSWER
    assert turn.response.output == City("Oslo", 709000)


async def test_the_repair_names_the_answer_tool_as_it_was_offered(
    llm_for: MakeLLM, anthropic_server: Any
) -> None:
    def final_answer(text: str) -> str:
        """The user's own tool of that name."""
        return text

    wrong = {"id": "toolu_1", "name": "final_answer_", "arguments": {"name": "Oslo"}}
    right = {"id": "toolu_2", "name": "final_answer_", "arguments": ANSWER}
    anthropic_server.enqueue(Reply(tool_calls=[wrong]), Reply(tool_calls=[right]))
    async with llm_for() as llm:
        result = await llm.chat(
            "The capital of Norway?",
            output_type=City,
            tools=[final_answer],
            provider_name="anthropic",
            model_name="claude-3-5-haiku-latest",
        )
    assert result == City("Oslo", 709000)
    first, second = [r.json for r in anthropic_server.requests if r.path == "/v1/messages"]
    assert [t["name"] for t in first["tools"]] == ["final_answer", "final_answer_"]
    assert "Call final_answer_ again with corrected arguments" in json.dumps(second)
