"""Reasoning asked of a model alias is that alias's own, whatever snapshot answered."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from fakes._server import Reply, sign

from llmcore import LLMCore
from llmcore.parts import ReasoningPart

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]
THOUGHT = "I should look the weather up."


def get_weather(city: str) -> str:
    """Get the weather in a city.

    Args:
        city: The city.
    """
    return f"Sunny in {city}"


@pytest.mark.parametrize("stream", [False, True])
async def test_a_latest_alias_keeps_its_signed_thinking_in_a_tool_loop(
    llm_for: MakeLLM, servers: dict[str, Any], stream: bool
) -> None:
    # The API answers claude-3-7-sonnet-latest as claude-3-7-sonnet-20250219: a name
    # no rule can derive from the alias. The thinking goes back all the same.
    server = servers["anthropic"]
    ask = {"id": "toolu_1", "name": "get_weather", "arguments": {"city": "Oslo"}}
    server.enqueue(Reply(tool_calls=[ask], thinking=THOUGHT), Reply(text="Sunny."))
    async with llm_for() as llm:
        turn = await llm.chat_turn(
            "Weather in Oslo?",
            session_id="s",
            provider_name="anthropic",
            model_name="claude-3-7-sonnet-latest",
            tools=[get_weather],
            reasoning="low",
            stream=stream,
        )
        assert (turn.chunks is not None) == stream
        if stream:
            assert turn.chunks is not None
            assert "".join([c async for c in turn.chunks]) == "Sunny."
        session = await llm.get_session("s")
    assert turn.response.text == "Sunny."
    bodies = [r.json for r in server.requests if r.path == "/v1/messages"]
    assert len(bodies) == 2
    asking = bodies[1]["messages"][1]["content"]
    assert asking[0] == {"type": "thinking", "thinking": THOUGHT,
                         "signature": sign("thinking", THOUGHT)}  # fmt: skip
    assert session is not None
    thought = session.messages[1].parts[0]
    assert isinstance(thought, ReasoningPart) and thought.model == "claude-3-7-sonnet-latest"
    # The stored reply still names the snapshot that answered.
    assert session.messages[-1].metadata["model"] == "claude-3-7-sonnet-20250219"
