"""The shared retry policy: backoff with jitter, Retry-After, never after the first text."""

from __future__ import annotations

import email.utils
import time
from collections.abc import AsyncIterator

import pytest

from llmcore import ProviderError
from llmcore.config.schema import ProviderSettings
from llmcore.providers.retry import (
    RetryPolicy,
    call_with_retries,
    open_stream_with_retries,
    parse_retry_after,
    retry_after_of,
    set_retry_after,
)


def test_backoff_doubles_with_jitter_and_a_cap() -> None:
    policy = RetryPolicy(max_retries=10, backoff=1.0, max_backoff=5.0, jitter=0.5)
    for attempt, base in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 5.0), (9, 5.0)]:
        delays = [policy.delay(attempt) for _ in range(200)]
        assert all(d is not None and base * 0.5 <= d <= base for d in delays)
        assert len(set(delays)) > 1  # jittered
    assert policy.delay(10) is None
    exact = RetryPolicy(max_retries=1, backoff=0.3, jitter=0.0)
    assert exact.delay(0) == 0.3


def test_retry_after_wins_unless_too_long() -> None:
    policy = RetryPolicy(max_retries=3, backoff=1.0, max_backoff=10.0)
    assert policy.delay(0, retry_after=7.0) == 7.0
    assert policy.delay(0, retry_after=60.0) is None  # raise rather than hang for a minute
    assert policy.delay(3, retry_after=0.0) is None  # retries spent


def test_parse_retry_after() -> None:
    assert parse_retry_after({"Retry-After": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after(None) is None
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    seconds = parse_retry_after({"retry-after": when})
    assert seconds is not None and 28 <= seconds <= 31


def test_policy_from_settings() -> None:
    settings = ProviderSettings(
        max_retries=4, retry_backoff=0.1, retry_max_backoff=2, retry_jitter=0
    )
    assert RetryPolicy.from_settings(settings) == RetryPolicy(4, 0.1, 2.0, 0.0)


def _error(retryable: bool = True, retry_after: float | None = None) -> ProviderError:
    error = ProviderError("boom", provider="p", retryable=retryable, kind="server")
    return set_retry_after(error, retry_after)


async def test_call_with_retries_counts_attempts() -> None:
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise _error(retry_after=0)
        return "ok"

    assert await call_with_retries(flaky, RetryPolicy(max_retries=2)) == "ok"
    assert calls == 3
    calls = -10
    with pytest.raises(ProviderError) as info:
        await call_with_retries(flaky, RetryPolicy(max_retries=2))
    assert retry_after_of(info.value) == 0
    assert calls == -7


async def test_not_retryable_errors_raise_at_once() -> None:
    calls = 0

    async def bad() -> None:
        nonlocal calls
        calls += 1
        raise _error(retryable=False)

    with pytest.raises(ProviderError):
        await call_with_retries(bad, RetryPolicy(max_retries=5))
    assert calls == 1


async def test_streams_retry_until_the_first_text_only() -> None:
    opened = 0

    async def events(fail_at: int | None) -> AsyncIterator[str]:
        for i, text in enumerate(["", "a", "b"]):  # "" stands for a start event
            if i == fail_at:
                raise _error(retry_after=0)
            yield text

    async def open_stream() -> AsyncIterator[str]:
        nonlocal opened
        opened += 1
        # Fails before any text the first time, after text the second time.
        return events({1: 1, 2: 2}.get(opened))

    stream = await open_stream_with_retries(open_stream, bool, RetryPolicy(max_retries=5))
    received = []
    with pytest.raises(ProviderError):
        async for event in stream:
            received.append(event)
    assert opened == 2
    assert received == ["", "a"]
