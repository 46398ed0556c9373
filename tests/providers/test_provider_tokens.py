"""Provider-accurate token counts (cached), offline estimates, and context windows."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from llmcore import ConfigError, LLMCore, Message, Role
from llmcore.config.schema import ProviderSettings
from llmcore.providers.anthropic import AnthropicProvider
from llmcore.providers.gemini import GeminiProvider
from llmcore.providers.ollama import OllamaProvider
from llmcore.tokens.api_counter import scaled_estimate
from llmcore.tokens.estimate import text_counter

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]
COUNT_PATH = {"anthropic": "/v1/messages/count_tokens", "gemini": ":countTokens"}


@pytest.mark.parametrize("provider", ["anthropic", "gemini"])
async def test_api_counts_are_exact_and_asked_once_per_message(
    llm_for: MakeLLM, servers: dict[str, Any], provider: str
) -> None:
    server = servers[provider]
    async with llm_for() as llm:
        for i in range(3):
            await llm.chat(f"question number {i}", session_id="s", provider_name=provider)
        session = await llm.get_session("s")
    assert session is not None
    user = session.messages[0]
    # The fakes count words + 3 (Anthropic: + 1 for the request) / words + 2 (Gemini).
    expected = 3 + 3 + 1 if provider == "anthropic" else 3 + 2
    assert (user.tokens, user.tokens_by) == (expected, f"{provider}:{llm_model(provider)}")
    counted = [r for r in server.requests if r.path.endswith(COUNT_PATH[provider])]
    # Each of the 3 user messages and 3 replies is counted once, never again.
    assert len(counted) == 6


def llm_model(provider: str) -> str:
    return {"anthropic": "claude-sonnet-4-6", "gemini": "gemini-2.5-flash"}[provider]


@pytest.mark.parametrize("provider", ["anthropic", "gemini"])
async def test_unreachable_count_api_falls_back_to_the_estimate(
    llm_for: MakeLLM, servers: dict[str, Any], provider: str, caplog: pytest.LogCaptureFixture
) -> None:
    servers[provider].count_status = 503
    with caplog.at_level(logging.WARNING, logger="llmcore.tokens"):
        async with llm_for() as llm:
            turn = await llm.chat_turn("a message to count", session_id="s", provider_name=provider)
            prov = llm.services.provider(provider)
            assert not prov.token_api.available  # type: ignore[attr-defined]
    assert turn.response.text == "echo: a message to count"
    assert turn.user_message is not None
    assert turn.user_message.tokens == prov.message_tokens(turn.user_message)
    assert turn.user_message.tokens_by == f"{provider}-estimate:{llm_model(provider)}"
    assert "offline estimate" in caplog.text
    # One failed attempt, then the cool-down: the reply is estimated without asking.
    counted = [r for r in servers[provider].requests if r.path.endswith(COUNT_PATH[provider])]
    assert len(counted) == 1


def test_offline_estimates_err_high_of_cl100k() -> None:
    anthropic = AnthropicProvider("anthropic", ProviderSettings(default_model="claude-x"))
    text = "The quick brown fox jumps over the lazy dog. " * 10
    base = text_counter("tiktoken_cl100k_base").count(text)
    assert anthropic.count_tokens(text) == scaled_estimate(text, 1.2) > base
    message = Message(role=Role.USER, content=text)
    assert anthropic.message_tokens(message) == 3 + anthropic.count_tokens(text)
    gemini = GeminiProvider("gemini", ProviderSettings(default_model="gemini-x"))
    assert gemini.count_tokens(text) == scaled_estimate(text, 1.1)


@pytest.mark.parametrize(
    ("tokenizer", "expected"),
    [
        ("tiktoken_cl100k_base", 10),
        ("char_div_4", 11),  # ceil(44 / 4)
    ],
)
def test_ollama_tokenizers(tokenizer: str, expected: int) -> None:
    settings = ProviderSettings(default_model="llama3.2", tokenizer=tokenizer)
    provider = OllamaProvider("ollama", settings)
    text = "The quick brown fox jumps over the lazy dog."
    assert provider.count_tokens(text) == expected
    message = Message(role=Role.USER, content=text)
    assert provider.message_tokens(message) == 4 + 1 + expected
    assert provider.token_counter_name() == f"ollama:{provider.counter.name}"


def test_ollama_unknown_tokenizer_is_a_config_error() -> None:
    with pytest.raises(
        ConfigError,
        match="tiktoken_cl100k_base, tiktoken_o200k_base, tiktoken_p50k_base, char_div_4",
    ):
        OllamaProvider("ollama", ProviderSettings(tokenizer="sentencepiece"))


async def test_ollama_context_length_from_show_and_config(
    llm_for: MakeLLM, servers: dict[str, Any]
) -> None:
    async with llm_for() as llm:
        ollama = llm.services.provider("ollama")
        assert await ollama.aget_max_context_length("llama3.2") == 131072  # model_info
        assert await ollama.aget_max_context_length("qwen2.5:0.5b") == 8192  # Modelfile num_ctx
        assert await ollama.aget_max_context_length("missing") == 8192  # default_context_length
        assert await ollama.aget_max_context_length("mistral-nemo") == 32768  # table prefix
        shows = [r.json["model"] for r in servers["ollama"].requests_to("/api/show")]
        await ollama.aget_max_context_length("llama3.2")
        assert len(servers["ollama"].requests_to("/api/show")) == len(shows)  # cached
        # A turn looks the window up before it is needed again.
        turn = await llm.chat_turn("hi", provider_name="ollama", model_name="qwen2.5:0.5b")
        assert turn.budget.limit == 8192
    async with llm_for(**{"providers.ollama.options": {"num_ctx": 2048}}) as llm:
        ollama = llm.services.provider("ollama")
        assert await ollama.aget_max_context_length("llama3.2") == 2048  # what the server uses


@pytest.mark.parametrize(
    ("provider", "model", "window"),
    [
        ("anthropic", "claude-sonnet-4-6", 200_000),
        ("anthropic", "claude-2.0", 100_000),
        ("gemini", "gemini-1.5-pro-002", 2_097_152),
        ("gemini", "gemini-2.5-flash", 1_048_576),
        ("ollama", "llama3:8b", 8_192),
    ],
)
def test_known_context_lengths_and_overrides(provider: str, model: str, window: int) -> None:
    from llmcore.providers import BUILTIN_PROVIDERS
    from llmcore.providers import create_provider as create

    assert provider in BUILTIN_PROVIDERS
    assert create(provider, ProviderSettings()).get_max_context_length(model) == window
    every = create(provider, ProviderSettings(context_length=1000))
    assert every.get_max_context_length(model) == 1000
    one = create(provider, ProviderSettings(context_length=1000, context_lengths={model: 77}))
    assert one.get_max_context_length(model) == 77
    unknown = create(provider, ProviderSettings(default_context_length=4321))
    assert unknown.get_max_context_length("never-heard-of-it") == 4321


async def test_an_unknown_window_is_guessed_once_with_a_warning(
    llm_for: Any, caplog: pytest.LogCaptureFixture
) -> None:
    async with llm_for() as llm:
        with caplog.at_level(logging.WARNING, logger="llmcore.providers"):
            first = await llm.chat_turn("Hi", model_name="my-finetune-7b")
            await llm.chat_turn("Hi again", model_name="my-finetune-7b")
            known = await llm.chat_turn("Hi", model_name="gpt-4o")
    assert first.budget.limit == 8192 and known.budget.limit == 128_000
    warnings = [r.getMessage() for r in caplog.records if "context window" in r.getMessage()]
    assert warnings == [
        "Provider 'openai' does not know the context window of model 'my-finetune-7b'; fitting "
        "history to default_context_length = 8192 tokens. Set [providers.openai] "
        'context_lengths = {"my-finetune-7b" = N} to use the real window.'
    ]
