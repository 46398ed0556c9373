"""Streams left early, cancellation, failed first turns: nothing typed lost, nothing empty kept.

The idioms are the careless ones: ``break`` out of ``async for`` without
closing, a cancel scope or Ctrl-C while the model is thinking, a program that
closes llmcore right after breaking out. Every test runs on asyncio and trio.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import anyio
import msgspec
import pytest
from fakes.openai_server import FakeOpenAIServer, Reply

from llmcore import ChatSession, ChatStream, ConfigError, LLMCore, Message
from llmcore.config.schema import SessionStorageSettings
from llmcore.storage.sessions.sqlite import SqliteSessionStorage

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]


def rows(session: ChatSession | None) -> list[tuple[str, str, bool]]:
    assert session is not None
    return [(m.role, m.content, bool(m.metadata.get("interrupted"))) for m in session.messages]


@pytest.fixture
def no_error_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Fail the test if anything (llmcore, asyncio, trio) logged an error."""
    caplog.set_level(logging.WARNING)
    yield caplog
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]
    assert "already running" not in caplog.text


async def cancel_when_asked(server: FakeOpenAIServer, scope: anyio.CancelScope) -> None:
    """Cancel ``scope`` once the request has reached the model (like Ctrl-C while it thinks)."""
    with anyio.fail_after(10):
        while not server.requests:
            await anyio.sleep(0.01)
    scope.cancel()


async def test_break_then_the_next_turn_on_the_session_keeps_the_order(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, no_error_logs: Any
) -> None:
    openai_server.enqueue(Reply(chunks=["Once ", "upon ", "a time."]))
    async with make_llm() as llm:
        async for chunk in await llm.chat("first", session_id="s", stream=True):
            assert chunk == "Once "
            break
        assert await llm.chat("second", session_id="s") == "echo: second"
        session = await llm.get_session("s")
    assert rows(session) == [
        ("user", "first", False),
        ("assistant", "Once ", True),
        ("user", "second", False),
        ("assistant", "echo: second", False),
    ]
    # The second request already carried the interrupted first turn.
    assert [m["content"] for m in openai_server.last_request.json["messages"]] == [
        "first",
        "Once ",
        "second",
    ]


async def test_a_stream_still_held_is_closed_by_the_next_turn_on_its_session(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, no_error_logs: Any
) -> None:
    openai_server.enqueue(Reply(chunks=["Once ", "upon ", "a time."]))
    async with make_llm() as llm:
        stream = await llm.chat("first", session_id="s", stream=True)
        assert await stream.__anext__() == "Once "
        await llm.chat("second", session_id="s")
        assert stream.closed
        assert [c async for c in stream] == []  # reading on ends quietly
        session = await llm.get_session("s")
    assert [r[1] for r in rows(session)] == ["first", "Once ", "second", "echo: second"]


@pytest.mark.parametrize("collect", [False, True], ids=["refcount", "gc"])
async def test_break_then_close_saves_the_turn(
    base_overrides: dict[str, Any],
    openai_server: FakeOpenAIServer,
    no_error_logs: Any,
    collect: bool,
) -> None:
    openai_server.enqueue(Reply(chunks=["Once ", "upon ", "a time."]))
    llm = LLMCore(config_overrides=base_overrides, env_prefix=None)  # no async with
    async for _chunk in await llm.chat("first", session_id="s", stream=True):
        break
    if collect:
        gc.collect()
    await llm.close()
    async with LLMCore(config_overrides=base_overrides, env_prefix=None) as again:
        session = await again.get_session("s")
    assert rows(session) == [("user", "first", False), ("assistant", "Once ", True)]


async def test_break_inside_async_with_llmcore_saves_the_turn_on_exit(
    make_llm: MakeLLM, base_overrides: dict[str, Any], openai_server: FakeOpenAIServer,
    no_error_logs: Any,
) -> None:  # fmt: skip
    openai_server.enqueue(Reply(chunks=["Once ", "upon ", "a time."]))
    async with make_llm() as llm:
        async for _chunk in await llm.chat("first", session_id="s", stream=True):
            break
    async with LLMCore(config_overrides=base_overrides, env_prefix=None) as again:
        session = await again.get_session("s")
    assert rows(session) == [("user", "first", False), ("assistant", "Once ", True)]


async def test_a_dropped_stream_is_finished_by_the_next_turn_of_any_session(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, no_error_logs: Any
) -> None:
    openai_server.enqueue(Reply(chunks=["Once ", "upon ", "a time."]))
    async with make_llm() as llm:
        async for _chunk in await llm.chat("first", session_id="a", stream=True):
            break
        gc.collect()
        await llm.chat("other", session_id="b")
        # Saved before close(), by an unrelated turn.
        session = await llm.get_session("a")
        assert rows(session) == [("user", "first", False), ("assistant", "Once ", True)]


async def test_a_chat_turn_stream_left_open_is_finished_by_the_next_turn_on_its_session(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, no_error_logs: Any
) -> None:
    openai_server.enqueue(Reply(chunks=["Once ", "upon ", "a time."]))
    async with make_llm() as llm:
        turn = await llm.chat_turn("first", session_id="a", stream=True)
        assert turn.chunks is not None
        async for _chunk in turn.chunks:
            break
        del turn
        gc.collect()
        await llm.chat("other", session_id="b")
        # As documented: llmcore holds the Turn, the Turn its stream, so the drop
        # is not seen and another session's turn leaves it open.
        assert await llm.get_session("a") is None
        await llm.chat("second", session_id="a")
        session = await llm.get_session("a")
    assert rows(session) == [
        ("user", "first", False),
        ("assistant", "Once ", True),
        ("user", "second", False),
        ("assistant", "echo: second", False),
    ]


async def test_a_stream_never_read_keeps_the_user_message(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, no_error_logs: Any
) -> None:
    async with make_llm() as llm:
        await llm.chat("first", session_id="s", stream=True)  # the result is dropped unread
        session_before_close = await llm.get_session("s")
    assert rows(session_before_close) == [("user", "first", False)]


async def test_the_explicit_form_closes_at_the_end_of_the_block(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, no_error_logs: Any
) -> None:
    openai_server.enqueue(Reply(chunks=["Once ", "upon ", "a time."]))
    async with make_llm() as llm:
        async with await llm.chat("first", session_id="s", stream=True) as chunks:
            assert isinstance(chunks, ChatStream)
            async for _chunk in chunks:
                break
            assert await llm.get_session("s") is None  # still open inside the block
        assert chunks.closed
        session = await llm.get_session("s")
        assert rows(session) == [("user", "first", False), ("assistant", "Once ", True)]
        # Read to the end inside the block: the whole reply, not interrupted.
        async with await llm.chat("second", session_id="s", stream=True) as chunks:
            text = "".join([c async for c in chunks])
        session = await llm.get_session("s")
    assert text == "echo: second"
    assert rows(session)[-1] == ("assistant", "echo: second", False)


async def test_an_exception_in_the_block_is_the_callers_and_the_turn_is_saved(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, no_error_logs: Any
) -> None:
    async with make_llm() as llm:
        with pytest.raises(KeyError):
            async with await llm.chat("first", session_id="s", stream=True) as chunks:
                async for _chunk in chunks:
                    raise KeyError("the caller's own bug")
        session = await llm.get_session("s")
    assert rows(session) == [("user", "first", False), ("assistant", "echo: ", True)]


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
async def test_cancelled_while_the_model_thinks_keeps_the_user_message(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, no_error_logs: Any, stream: bool
) -> None:
    openai_server.enqueue(Reply(text="too late", delay=3))
    async with make_llm() as llm:
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as tg:
                tg.start_soon(cancel_when_asked, openai_server, scope)
                await llm.chat("hello", session_id="s", stream=stream)
        assert scope.cancelled_caught
        session = await llm.get_session("s")
        # The session goes on: the next turn carries the unanswered message.
        await llm.chat("again", session_id="s")
    assert rows(session) == [("user", "hello", False)]
    assert [m["content"] for m in openai_server.last_request.json["messages"]] == [
        "hello",
        "again",
    ]


async def test_cancelled_while_reading_keeps_the_part_received(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, no_error_logs: Any
) -> None:
    openai_server.enqueue(Reply(chunks=["Once ", "upon ", "a time."], chunk_delay=0.5))
    async with make_llm() as llm:
        stream = await llm.chat("first", session_id="s", stream=True)
        received = []
        with anyio.CancelScope() as scope:
            async for chunk in stream:
                received.append(chunk)
                scope.cancel()  # the next chunk is half a second away: cancelled waiting for it
        assert scope.cancelled_caught
        assert stream.closed
        session = await llm.get_session("s")
    assert received == ["Once "]
    assert rows(session) == [("user", "first", False), ("assistant", "Once ", True)]


async def test_a_first_turn_that_fails_before_the_model_stores_nothing(
    openai_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    overrides = {
        "providers.openai.api_key": None,
        "storage.session.path": str(tmp_path / "sessions.db"),
    }
    async with LLMCore(config_overrides=overrides, env_prefix=None) as llm:
        with pytest.raises(ConfigError, match="No API key"):
            await llm.chat("hello", session_id="s")
        assert await llm.get_session("s") is None
        assert await llm.list_sessions() == []


class SlowSqliteStore(SqliteSessionStorage):
    """A SQLite store whose writes take a while, so a cancel can land in the middle of one."""

    #: Set when a write starts (the test makes a new one on its own event loop).
    writing: anyio.Event | None = None

    def __init__(self, settings: SessionStorageSettings):
        super().__init__(settings.path)

    async def append_turn(
        self,
        session_id: str,
        messages: Sequence[Message],
        *,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if SlowSqliteStore.writing is not None:
            SlowSqliteStore.writing.set()
        await anyio.sleep(0.2)
        await super().append_turn(session_id, messages, metadata=metadata)


async def test_cancelled_while_the_turn_is_being_saved_keeps_the_turn(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, no_error_logs: Any
) -> None:
    SlowSqliteStore.writing = writing = anyio.Event()

    async def cancel_when_writing(scope: anyio.CancelScope) -> None:
        with anyio.fail_after(10):
            await writing.wait()
        scope.cancel()

    async with make_llm(**{"storage.session.type": f"{__name__}:SlowSqliteStore"}) as llm:
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as tg:
                tg.start_soon(cancel_when_writing, scope)
                await llm.chat("hello", session_id="s")
        assert scope.cancel_called  # while the write slept: it finished all the same
        session = await llm.get_session("s")
    assert rows(session) == [("user", "hello", False), ("assistant", "echo: hello", False)]


class Verdict(msgspec.Struct):
    ok: bool
    reason: str


async def test_a_structured_reply_cut_short_is_stored_as_not_valid(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, no_error_logs: Any
) -> None:
    openai_server.enqueue(Reply(chunks=['{"ok": true, ', '"reason": "fine"}']))
    async with make_llm() as llm:
        turn = await llm.chat_turn("judge", session_id="s", stream=True, output_type=Verdict)
        assert turn.chunks is not None
        async for _chunk in turn.chunks:
            break
        await turn.chunks.aclose()
        session = await llm.get_session("s")
    assert turn.response.output is None
    assert session is not None
    reply = session.messages[-1]
    assert reply.content == '{"ok": true, '
    assert reply.metadata["interrupted"] is True
    assert reply.metadata["structured"] is True
    assert reply.metadata["output_valid"] is False


async def test_a_whole_structured_reply_is_stored_without_an_invalid_mark(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, no_error_logs: Any
) -> None:
    openai_server.enqueue(Reply(chunks=['{"ok": true, ', '"reason": "fine"}']))
    async with make_llm() as llm:
        turn = await llm.chat_turn("judge", session_id="s", stream=True, output_type=Verdict)
        assert turn.chunks is not None
        async with turn.chunks as chunks:
            assert "".join([c async for c in chunks]) == '{"ok": true, "reason": "fine"}'
        session = await llm.get_session("s")
    assert turn.response.output == Verdict(ok=True, reason="fine")
    assert session is not None
    assert "output_valid" not in session.messages[-1].metadata
    assert "interrupted" not in session.messages[-1].metadata
