"""The exact request bodies each provider sends for one conversation, pinned.

A session with a system message, a plain turn, a tool round and a turn
after it: every chat request body (streamed and not) must equal the
snapshot in ``snapshots/<provider>.json``. A change to the wire format is
then a deliberate one: rerun with ``LLMCORE_UPDATE_SNAPSHOTS=1`` and review
the diff of the snapshot file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from fakes._server import Reply as FakeReply
from fakes.openai_server import Reply as OpenAIReply

from llmcore import LLMCore

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]
SNAPSHOTS = Path(__file__).parent / "snapshots"
PROVIDERS = ["openai", "anthropic", "gemini", "ollama"]


def get_weather(city: str) -> str:
    """Get the weather in a city.

    Args:
        city: The city.
    """
    return f"Sunny in {city}"


def script(provider: str, server: Any) -> None:
    """Replies for: a plain turn, a tool call, the answer after it, and a last turn."""
    if provider == "openai":
        call = {
            "id": "call_7",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
        }
        reply: Any = OpenAIReply
        server.enqueue(
            reply(text="Hello Alex."),
            reply(text="Let me check.", tool_calls=[call]),
            reply(text="It is sunny."),
            reply(text="Also sunny."),
        )
        return
    call7 = {"id": "call_7", "name": "get_weather", "arguments": {"city": "Oslo"}}
    server.enqueue(
        FakeReply(text="Hello Alex."),
        FakeReply(text="Let me check.", tool_calls=[call7]),
        FakeReply(text="It is sunny."),
        FakeReply(text="Also sunny."),
    )


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_request_bodies_match_the_snapshot(
    llm_for: MakeLLM, servers: dict[str, Any], provider: str, stream: bool, anyio_backend: str
) -> None:
    server = servers[provider]
    script(provider, server)
    model = {"ollama": "llama3.2"}.get(provider)
    common: dict[str, Any] = {"session_id": "s", "provider_name": provider, "model_name": model}
    async with llm_for() as llm:
        turns = [
            ("My name is Alex.", {"system_message": "You are terse."}),
            ("Weather in Oslo?", {"tools": [get_weather], "temperature": 0.2}),
            ("And tomorrow?", {}),
        ]
        for message, extra in turns:
            if stream:
                async for _chunk in await llm.chat(message, stream=True, **common, **extra):
                    pass
            else:
                await llm.chat(message, **common, **extra)
    bodies = server.chat_bodies()
    snapshot = SNAPSHOTS / f"{provider}-{'stream' if stream else 'whole'}.json"
    if os.environ.get("LLMCORE_UPDATE_SNAPSHOTS") and anyio_backend == "asyncio":
        SNAPSHOTS.mkdir(exist_ok=True)
        snapshot.write_text(json.dumps(bodies, indent=2, sort_keys=True) + "\n")
    assert bodies == json.loads(snapshot.read_text())
    if provider == "ollama":  # and one lookup of the model (its window), before the first chat
        posts = [(r.path, r.json) for r in server.requests if r.method == "POST"]
        assert posts == [("/api/show", {"model": "llama3.2"}), *(("/api/chat", b) for b in bodies)]
