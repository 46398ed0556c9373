"""Faults on every network provider, through LLMCore.chat with SQLite sessions.

For each fault: how many requests were sent (the retries), the error type,
and that the session is intact (the user's message kept once, nothing
duplicated by a retry, a partial reply kept and marked).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from fakes import _server, openai_server

from llmcore import LLMCore, ProviderError

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]
NETWORK = ["openai", "anthropic", "gemini", "ollama"]
_CHAT_PATHS = {
    "openai": ("/v1/chat/completions",),
    "anthropic": ("/v1/messages",),
    "gemini": (":generateContent", ":streamGenerateContent"),
    "ollama": ("/api/chat",),
}


def reply(provider: str, **fields: Any) -> Any:
    """A scripted reply for the fake ``provider`` talks to."""
    if provider == "openai":
        fields.pop("error_event", None)
        return openai_server.Reply(**fields)
    return _server.Reply(**fields)


def chat_requests(provider: str, server: Any) -> int:
    """How many chat requests the fake received (token counting excluded)."""
    return sum(r.path.endswith(_CHAT_PATHS[provider]) for r in server.requests)


async def contents(llm: LLMCore, sid: str) -> list[str]:
    session = await llm.get_session(sid)
    assert session is not None
    return [m.content for m in session.messages]


@pytest.mark.parametrize("provider", NETWORK)
@pytest.mark.parametrize("stream", [False, True])
async def test_429_with_retry_after_is_retried_once(
    llm_for: MakeLLM, servers: dict[str, Any], provider: str, stream: bool
) -> None:
    server = servers[provider]
    server.enqueue(reply(provider, status=429, headers={"retry-after": "0"}))
    async with llm_for() as llm:
        if stream:
            chunks = await llm.chat("hello", session_id="s", provider_name=provider, stream=True)
            text = "".join([c async for c in chunks])
        else:
            text = await llm.chat("hello", session_id="s", provider_name=provider)
        assert text == "echo: hello"
        assert chat_requests(provider, server) == 2
        assert await contents(llm, "s") == ["hello", "echo: hello"]


@pytest.mark.parametrize("provider", NETWORK)
async def test_retry_after_is_honoured(
    llm_for: MakeLLM, servers: dict[str, Any], provider: str
) -> None:
    servers[provider].enqueue(reply(provider, status=503, headers={"retry-after": "0.4"}))
    async with llm_for() as llm:
        start = time.monotonic()
        assert await llm.chat("hello", provider_name=provider) == "echo: hello"
        assert time.monotonic() - start >= 0.4


@pytest.mark.parametrize("provider", NETWORK)
async def test_server_errors_exhaust_the_retries_and_keep_the_user_message(
    llm_for: MakeLLM, servers: dict[str, Any], provider: str
) -> None:
    server = servers[provider]
    server.enqueue(*[reply(provider, status=500) for _ in range(3)])
    async with llm_for() as llm:
        with pytest.raises(ProviderError) as info:
            await llm.chat("hello", session_id="s", provider_name=provider)
        assert (info.value.kind, info.value.status_code, info.value.retryable) == (
            "server",
            500,
            True,
        )
        assert info.value.provider == provider
        assert provider in str(info.value)
        assert "secret" not in str(info.value)
        assert chat_requests(provider, server) == 3  # max_retries = 2
        assert await contents(llm, "s") == ["hello"]
        # The next turn works and nothing was duplicated (Anthropic and Gemini
        # merge the two user messages in a row, so their echo has both).
        answer = await llm.chat("again", session_id="s", provider_name=provider)
        assert answer.startswith("echo: ") and answer.endswith("again")
        assert await contents(llm, "s") == ["hello", "again", answer]


@pytest.mark.parametrize("provider", NETWORK)
@pytest.mark.parametrize(
    ("status", "kind"), [(401, "authentication"), (404, "not_found"), (400, "bad_request")]
)
async def test_client_errors_are_not_retried(
    llm_for: MakeLLM, servers: dict[str, Any], provider: str, status: int, kind: str
) -> None:
    server = servers[provider]
    server.enqueue(reply(provider, status=status, error_body={"error": {"message": "nope"}}))
    async with llm_for() as llm:
        with pytest.raises(ProviderError) as info:
            await llm.chat("hello", session_id="s", provider_name=provider)
        assert (info.value.kind, info.value.retryable) == (kind, False)
        assert chat_requests(provider, server) == 1
        assert await contents(llm, "s") == ["hello"]


@pytest.mark.parametrize("provider", NETWORK)
async def test_a_delay_beyond_the_timeout_is_a_timeout_error(
    llm_for: MakeLLM, servers: dict[str, Any], provider: str
) -> None:
    server = servers[provider]
    server.enqueue(*[reply(provider, delay=1.5) for _ in range(2)])
    overrides = {f"providers.{provider}.timeout": 0.5, f"providers.{provider}.max_retries": 1}
    async with llm_for(**overrides) as llm:
        with pytest.raises(ProviderError) as info:
            await llm.chat("hello", session_id="s", provider_name=provider)
        assert (info.value.kind, info.value.retryable) == ("timeout", True)
        assert "timeout" in str(info.value)
        assert chat_requests(provider, server) == 2
        assert await contents(llm, "s") == ["hello"]


@pytest.mark.parametrize("provider", NETWORK)
async def test_a_stream_cut_after_text_is_not_retried_and_the_part_is_kept(
    llm_for: MakeLLM, servers: dict[str, Any], provider: str
) -> None:
    server = servers[provider]
    server.enqueue(reply(provider, chunks=["one ", "two ", "three"], cut_after=2))
    async with llm_for() as llm:
        received = []
        with pytest.raises(ProviderError) as info:
            async for chunk in await llm.chat(
                "count", session_id="s", provider_name=provider, stream=True
            ):
                received.append(chunk)
        assert info.value.kind == "stream_interrupted"
        assert received == ["one ", "two "]
        assert chat_requests(provider, server) == 1
        session = await llm.get_session("s")
    assert session is not None
    assert [m.content for m in session.messages] == ["count", "one two "]
    assert session.messages[-1].metadata["interrupted"] is True


@pytest.mark.parametrize("provider", ["anthropic", "ollama"])
async def test_an_error_event_before_any_text_is_retried(
    llm_for: MakeLLM, servers: dict[str, Any], provider: str
) -> None:
    server = servers[provider]
    event = "overloaded_error" if provider == "anthropic" else "server busy"
    server.enqueue(reply(provider, error_event=event))
    async with llm_for() as llm:
        chunks = await llm.chat("hello", session_id="s", provider_name=provider, stream=True)
        assert "".join([c async for c in chunks]) == "echo: hello"
        assert chat_requests(provider, server) == 2
        assert await contents(llm, "s") == ["hello", "echo: hello"]


@pytest.mark.parametrize("provider", NETWORK)
@pytest.mark.parametrize("stream", [False, True])
async def test_a_malformed_body_is_reported_not_retried(
    llm_for: MakeLLM, servers: dict[str, Any], provider: str, stream: bool
) -> None:
    server = servers[provider]
    server.enqueue(reply(provider, malformed=True))
    async with llm_for() as llm:
        with pytest.raises(ProviderError) as info:
            if stream:
                chunks = await llm.chat("hi", session_id="s", provider_name=provider, stream=True)
                [c async for c in chunks]
            else:
                await llm.chat("hi", session_id="s", provider_name=provider)
        assert info.value.kind == "malformed"
        assert chat_requests(provider, server) == 1
        assert (await contents(llm, "s"))[0] == "hi"


@pytest.mark.parametrize("provider", NETWORK)
async def test_an_unreachable_server_is_a_connection_error(llm_for: MakeLLM, provider: str) -> None:
    url = "http://127.0.0.1:9" + ("/v1" if provider == "openai" else "")
    overrides = {f"providers.{provider}.base_url": url, f"providers.{provider}.max_retries": 1}
    async with llm_for(**overrides) as llm:
        with pytest.raises(ProviderError) as info:
            await llm.chat("hello", provider_name=provider)
    assert (info.value.kind, info.value.retryable) == ("connection", True)
    assert "base_url" in str(info.value)
