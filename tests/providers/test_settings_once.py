"""Settings are resolved once: the budget reserves exactly the max_tokens each request carries."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from llmcore import InvalidRequestError, LLMCore
from llmcore.exchange import ModelResponse, ResponseInfo, TextDelta, UsageEvent
from llmcore.providers.base import ResponseStream

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]
PROVIDERS = ["openai", "anthropic", "gemini", "ollama"]


def sent_max_tokens(provider: str, body: dict[str, Any]) -> int | None:
    if provider == "gemini":
        value = body.get("generationConfig", {}).get("maxOutputTokens")
    elif provider == "ollama":
        value = body.get("options", {}).get("num_predict")
    else:
        value = body.get("max_tokens", body.get("max_completion_tokens"))
    return None if value is None else int(value)


# (overrides, call kwargs, expected): the precedence, highest first.
CASES = [
    ({}, {"max_tokens": 77}, 77),  # the call's
    ({"options": {"max_tokens": 66}, "max_tokens": 55}, {}, 66),  # the provider's options
    ({"max_tokens": 55}, {}, 55),  # the provider's max_tokens
    ({"max_tokens": None}, {}, 321),  # else reserved_response_tokens (set below)
]


@pytest.mark.parametrize(
    ("settings", "call", "expected"), CASES, ids=["call", "options", "provider", "reserved"]
)
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_budget_and_request_agree_on_max_tokens(
    llm_for: MakeLLM,
    servers: dict[str, Any],
    provider: str,
    settings: dict[str, Any],
    call: dict[str, Any],
    expected: int,
) -> None:
    overrides: dict[str, Any] = {"context_management.reserved_response_tokens": 321}
    for key, value in settings.items():
        overrides[f"providers.{provider}.{key}"] = value
    model = {"ollama": "llama3.2"}.get(provider)
    async with llm_for(**overrides) as llm:
        turn = await llm.chat_turn("Hi", provider_name=provider, model_name=model, **call)
    assert turn.budget.reserved == expected
    assert turn.settings is not None and turn.settings.max_tokens == expected
    assert sent_max_tokens(provider, servers[provider].chat_bodies()[-1]) == expected


async def test_a_context_override_is_checked_by_the_config_schema(make_llm: MakeLLM) -> None:
    async with make_llm() as llm:
        with pytest.raises(InvalidRequestError, match="truncation_priority"):
            await llm.chat("Hi", context_overrides={"truncation_priority": "bogus"})
        with pytest.raises(InvalidRequestError, match="reserved_response_tokens"):
            await llm.chat("Hi", context_overrides={"reserved_response_tokens": -1})
        with pytest.raises(InvalidRequestError, match="Unknown context_overrides"):
            await llm.chat("Hi", context_overrides={"truncation_priorty": "rag"})
        turn = await llm.chat_turn("Hi", context_overrides={"reserved_response_tokens": 42})
    assert turn.budget.reserved == 42


async def test_a_bad_max_tokens_is_refused_before_sending(
    make_llm: MakeLLM, openai_server: Any
) -> None:
    async with make_llm() as llm:
        with pytest.raises(InvalidRequestError, match="max_tokens must be a positive integer"):
            await llm.chat("Hi", max_tokens=0)
    assert openai_server.requests == []


async def test_openai_reasoning_models_get_max_completion_tokens(
    make_llm: MakeLLM, openai_server: Any
) -> None:
    async with make_llm() as llm:
        # The fake refuses max_tokens for these models, as the real API does.
        assert await llm.chat("Hi", model_name="o4-mini") == "echo: Hi"
        await llm.chat("Hi", model_name="gpt-4o")
    first, second = (r.json for r in openai_server.requests)
    assert first["max_completion_tokens"] == 500 and "max_tokens" not in first
    assert second["max_tokens"] == 500


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_one_response_type_for_streamed_and_whole_replies(
    llm_for: MakeLLM, provider: str
) -> None:
    model = {"ollama": "llama3.2"}.get(provider)
    async with llm_for() as llm:
        backend = llm.services.provider(provider)
        from llmcore import Message, Role

        messages = [Message(role=Role.USER, content="Name a colour.")]
        whole = await backend.chat_completion(messages, model=model)
        stream = await backend.chat_completion(messages, model=model, stream=True)
        assert isinstance(stream, ResponseStream)
        events = [event async for event in stream]
    assert isinstance(whole, ModelResponse)
    streamed = stream.response
    assert isinstance(streamed, ModelResponse)
    assert streamed.text == whole.text == "echo: Name a colour."
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == whole.text
    assert any(isinstance(e, UsageEvent) for e in events)
    assert any(isinstance(e, ResponseInfo) and e.finish_reason for e in events)
    assert streamed.usage is not None and whole.usage is not None
    assert streamed.finish_reason == whole.finish_reason == "stop"
    assert streamed.provider == whole.provider == provider
