"""Logs a person can read: a DEBUG line per turn, exact INFO counts of what was dropped, WARNINGs.

No OpenTelemetry here: these are the logs every application gets.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from fakes.openai_server import FakeOpenAIServer, Reply

from llmcore import ContextLengthError, LLMCore, ProviderError

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]

#: A 150-token window holds the new message and 6 of the stored history messages.
SMALL_WINDOW = {
    "providers.openai.context_lengths": {"gpt-4o-mini": 150},
    "context_management.reserved_response_tokens": 20,
}


def records(caplog: pytest.LogCaptureFixture, logger: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == logger]


async def fill(llm: LLMCore, turns: int, session_id: str = "s") -> None:
    for i in range(turns):
        await llm.chat(f"message {i} " + "filler " * 8, session_id=session_id)


async def test_one_debug_line_per_turn_with_provider_model_session_tokens_and_stages(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    openai_server.enqueue(Reply(text="Hello.", usage={"prompt_tokens": 9, "completion_tokens": 2}))
    async with make_llm(**{"llmcore.log_level": "DEBUG"}) as llm:
        with caplog.at_level(logging.DEBUG, logger="llmcore"):
            turn = await llm.chat_turn("hi", session_id="notes")
    (line,) = records(caplog, "llmcore.turn")
    assert line.levelno == logging.DEBUG
    text = line.getMessage()
    assert text.startswith("Turn openai/gpt-4o-mini, session 'notes': 9 in / 2 out tokens, ")
    for trace in turn.trace:
        assert re.search(rf"\b{trace.name} \d+\.\d\b", text), trace.name
    assert "\n" not in text


async def test_the_debug_line_is_off_at_info(
    make_llm: MakeLLM, caplog: pytest.LogCaptureFixture
) -> None:
    async with make_llm() as llm:  # log_level = "INFO", the default
        with caplog.at_level(logging.DEBUG):  # the root logger lets everything through
            await llm.chat("hi")
    assert records(caplog, "llmcore.turn") == []


async def test_a_streamed_turn_logs_when_its_stream_ends(
    make_llm: MakeLLM, caplog: pytest.LogCaptureFixture
) -> None:
    async with make_llm(**{"llmcore.log_level": "DEBUG"}) as llm:
        with caplog.at_level(logging.DEBUG, logger="llmcore"):
            chunks = await llm.chat("hi there", session_id="s", stream=True)
            assert records(caplog, "llmcore.turn") == []
            async for _ in chunks:
                break
            await chunks.aclose()
    (line,) = records(caplog, "llmcore.turn")
    assert "session 's'" in line.getMessage()
    assert ", interrupted, " in line.getMessage()


async def test_a_failed_turn_logs_its_error_type(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    openai_server.enqueue(Reply(status=500))
    async with make_llm(**{"llmcore.log_level": "DEBUG"}) as llm:
        with caplog.at_level(logging.DEBUG, logger="llmcore"), pytest.raises(ProviderError):
            await llm.chat("hi")
    (line,) = records(caplog, "llmcore.turn")
    assert "no session: no usage reported, failed with ProviderError" in line.getMessage()
    assert "sk-test-secret" not in caplog.text


async def test_the_dropped_count_is_exact_although_the_oldest_were_never_read(
    make_llm: MakeLLM, caplog: pytest.LogCaptureFixture
) -> None:
    async with make_llm(**SMALL_WINDOW) as llm:
        await fill(llm, 6)  # 12 messages stored
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="llmcore.context"):
            turn = await llm.chat_turn("last", session_id="s")
        stored = await llm.get_session("s")
    assert stored is not None
    sent = len(turn.history)
    left_out = 12 - sent
    assert sent == 6 and left_out == 6
    # Only the unit that did not fit was read (and is listed); the count covers them all.
    assert len(turn.context.dropped) < left_out
    assert turn.context.history_stored == 12
    (line,) = records(caplog, "llmcore.context")
    assert line.levelno == logging.INFO
    assert line.getMessage() == (
        f"Session s: sent 6 of 12 history messages, dropped the 6 older ones to fit "
        f"{turn.budget.available} tokens"
    )
    notes = {t.name: t.notes for t in turn.trace}
    assert any("dropped 6 older ones" in n for n in notes["select_history"])


async def test_nothing_dropped_logs_nothing(
    make_llm: MakeLLM, caplog: pytest.LogCaptureFixture
) -> None:
    async with make_llm() as llm:
        await fill(llm, 3)
        with caplog.at_level(logging.INFO, logger="llmcore.context"):
            turn = await llm.chat_turn("last", session_id="s")
    assert len(turn.history) == 6
    assert records(caplog, "llmcore.context") == []


async def test_a_summary_is_counted_apart_from_what_was_dropped(
    make_llm: MakeLLM, caplog: pytest.LogCaptureFixture
) -> None:
    overrides: dict[str, Any] = {
        "providers.openai.context_lengths": {"gpt-4o-mini": 400},
        "context_management.reserved_response_tokens": 40,
        "context_management.history_selection_strategy": "summarize",
        "context_management.summary_keep_share": 0.5,
    }
    async with make_llm(**overrides) as llm:
        await fill(llm, 12)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="llmcore.context"):
            turn = await llm.chat_turn("last", session_id="s")
    assert turn.summary is not None
    covered = turn.session.metadata["summary"]["covers"]  # type: ignore[union-attr]
    (line,) = records(caplog, "llmcore.context")
    message = line.getMessage()
    assert f"the summary stands for {covered} older messages" in message
    # Each of the 24 stored messages is sent, in the summary, or counted as dropped.
    dropped = 24 - len(turn.history) - covered
    assert covered > 0 and dropped > 0
    assert (
        f"sent {len(turn.history)} of 24 history messages, dropped the {dropped} older" in message
    )
    assert turn.context.summarized  # this turn extended the summary
    assert f"{len(turn.context.summarized)} of them summarised in this turn" in message


async def test_context_length_error_lists_what_was_already_dropped(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    async with make_llm(**SMALL_WINDOW) as llm:
        await fill(llm, 6)
        openai_server.enqueue(Reply(status=400))  # code: context_length_exceeded
        with pytest.raises(ContextLengthError) as info:
            await llm.chat("last", session_id="s")
    assert info.value.dropped == ["6 older history messages"]


async def test_context_length_error_before_anything_was_dropped_lists_nothing(
    make_llm: MakeLLM,
) -> None:
    async with make_llm(**SMALL_WINDOW) as llm:
        with pytest.raises(ContextLengthError) as info:
            await llm.chat("word " * 300, session_id="s")
    assert info.value.dropped == []


async def test_retries_are_warnings(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    openai_server.enqueue(Reply(status=429, headers={"retry-after": "0"}), Reply(text="ok"))
    async with make_llm(**{"providers.openai.max_retries": 1}) as llm:
        with caplog.at_level(logging.INFO, logger="llmcore"):
            assert await llm.chat("hi") == "ok"
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.name == "llmcore.retry"
    assert "rate_limit, attempt 1 of 2" in warning.getMessage()
    assert "retrying in" in warning.getMessage()
