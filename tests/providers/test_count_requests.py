"""What a token count asks the count APIs: one valid user turn per distinct message."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from llmcore import LLMCore, Message, Role
from llmcore.parts import ImagePart, TextPart, ToolCallPart, ToolResultPart

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]
COUNT_PATH = {"anthropic": "/v1/messages/count_tokens", "gemini": ":countTokens"}
MODEL = {"anthropic": "claude-sonnet-4-6", "gemini": "gemini-2.5-flash"}
#: A 1x1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201e5270ede0000000049454e44ae426082"
)


def calling(arguments: dict[str, Any]) -> Message:
    call = ToolCallPart(id="call_1", name="search", arguments=arguments)
    return Message(role=Role.ASSISTANT, parts=[call])


def counts(server: Any, provider: str) -> list[dict[str, Any]]:
    return [r.json for r in server.requests if r.path.endswith(COUNT_PATH[provider])]


@pytest.mark.parametrize("provider", ["anthropic", "gemini"])
async def test_replies_with_other_tool_calls_are_counted_apart(
    llm_for: MakeLLM, servers: dict[str, Any], provider: str
) -> None:
    async with llm_for() as llm:
        counter = llm.services.provider(provider)
        small = await counter.amessage_tokens(calling({"q": "a"}), MODEL[provider])
        large = await counter.amessage_tokens(calling({"q": "word " * 400}), MODEL[provider])
    # Same (empty) text, other arguments: two API counts, the long one larger.
    assert large > small + 300
    sent = counts(servers[provider], provider)
    assert len(sent) == 2
    # A count request is one user turn (the APIs refuse a tool call outside an exchange).
    for body in sent:
        (turn,) = body["messages"] if provider == "anthropic" else body["contents"]
        assert turn["role"] == "user"
        assert "search(" in str(turn)


@pytest.mark.parametrize("provider", ["anthropic", "gemini"])
async def test_a_tool_results_image_is_counted_by_the_api(
    llm_for: MakeLLM, servers: dict[str, Any], provider: str
) -> None:
    image = ImagePart(media_type="image/png", data=PNG)
    with_image = ToolResultPart(call_id="call_1", content="[image: image/png]", parts=[image])
    text_only = ToolResultPart(call_id="call_1", content="[image: image/png]")
    async with llm_for() as llm:
        counter = llm.services.provider(provider)
        plain = await counter.amessage_tokens(
            Message(role=Role.TOOL, parts=[text_only]), MODEL[provider]
        )
        counted = await counter.amessage_tokens(
            Message(role=Role.TOOL, parts=[with_image]), MODEL[provider]
        )
    assert counted > plain  # the fakes count an image (Anthropic by size, Gemini 258)
    assert len(counts(servers[provider], provider)) == 2


def test_text_parts_alone_are_no_media() -> None:
    from llmcore.tokens.api_counter import countable

    assert countable(Message(role=Role.USER, parts=[TextPart("hi")])) == ("hi", [])
