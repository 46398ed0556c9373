"""A streamed turn's span ends when its stream does: read to the end, closed, or left with break.

The stream is read in another task than the one that started the turn, as
an application that hands a stream to a response writer does, and a custom
wrapping stage keeps a span current across ``call_next`` the usual way
(``start_as_current_span``): neither may leave a span current in the
caller's context, and OpenTelemetry must not log a failed detach.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import anyio
import pytest
from fakes.openai_server import FakeOpenAIServer, Reply
from opentelemetry import trace
from opentelemetry.trace import StatusCode
from otel_trees import Spans

from llmcore import LLMCore
from llmcore.pipeline.stream import ChatStream

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]

TURN = "chat gpt-4o-mini"
WITH_APP_SPAN = (
    'extends = "default"\n[[insert]]\nname = "app_span"\n'
    'stage = "observability.traced_stages:AppSpan"\nafter = "persist"\n'
)


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def read_in_another_task(chunks: ChatStream, how: str) -> str:
    text = ""

    async def reader() -> None:
        nonlocal text
        if how == "read":
            async for chunk in chunks:
                text += chunk
        elif how == "aclose":
            async for chunk in chunks:
                text += chunk
                await chunks.aclose()  # stop early, at a point of our choosing
        elif how == "break":
            async for chunk in chunks:
                text += chunk
                break

    async with anyio.create_task_group() as group:
        group.start_soon(reader)
    return text


@pytest.mark.parametrize("how", ["read", "aclose", "break"])
async def test_the_turn_span_ends_with_the_stream(
    make_llm: MakeLLM,
    openai_server: FakeOpenAIServer,
    spans: Spans,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    how: str,
) -> None:
    (tmp_path / "traced.toml").write_text(WITH_APP_SPAN)
    openai_server.enqueue(Reply(chunks=["Once ", "upon ", "a ", "time."]))
    async with make_llm(**{"pipelines.paths": [str(tmp_path)]}) as llm:
        caller = trace.get_current_span()
        chunks = await llm.chat("Tell a story", session_id="s", stream=True, pipeline="traced")
        # The chain is paused: the stages before the provider are done, the turn is not.
        assert TURN not in spans.names() and "call_provider" not in spans.names()
        assert "load_session" in spans.names()
        assert trace.get_current_span() is caller  # nothing of the turn's is current here
        text = await read_in_another_task(chunks, how)
        if how == "break":
            assert TURN not in spans.names()  # left open: finished by the next turn
            await llm.chat("next", session_id="s")
        assert trace.get_current_span() is caller
    assert text == ("Once upon a time." if how == "read" else "Once ")
    first = next(r for r in spans.roots() if r.name == TURN)
    inner = ["embed_query", "retrieve", "select_history", "truncate", "format_mcp", "call_provider"]
    # The stage's span, then the span it made current, then the stages it wraps.
    app_span = ("app_span", [("app.around", inner)])
    assert first.shape() == (TURN, ["load_session", ("persist", [app_span])])
    attributes = first.attributes
    assert attributes["gen_ai.request.stream"] is True
    assert first.span.status.status_code is StatusCode.UNSET
    if how == "read":
        assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
        assert "llmcore.response.interrupted" not in attributes
    else:
        assert attributes["llmcore.response.interrupted"] is True
    assert errors(caplog) == []


async def test_a_stream_broken_midway_ends_the_span_with_its_error(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, spans: Spans
) -> None:
    openai_server.enqueue(Reply(chunks=["a ", "b ", "c"], cut_after=1))
    async with make_llm() as llm:
        chunks = await llm.chat("hi", session_id="s", stream=True)
        with pytest.raises(Exception):  # noqa: B017 - the provider's error, whatever its kind
            async for _ in chunks:
                pass
    root = spans.turn()
    assert root.span.status.status_code is StatusCode.ERROR
    assert root.attributes["error.type"].startswith("llmcore.exceptions.")
    assert root.attributes["llmcore.response.interrupted"] is True


async def test_a_cancelled_reader_ends_the_span(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, spans: Spans
) -> None:
    openai_server.enqueue(Reply(chunks=["a ", "b ", "c"], chunk_delay=0.5))
    async with make_llm() as llm:
        chunks = await llm.chat("hi", session_id="s", stream=True)
        with anyio.move_on_after(0.2):
            async for _ in chunks:
                pass
        assert chunks.closed
        session = await llm.get_session("s")
    root = spans.turn()
    assert root.span.end_time is not None
    assert root.attributes["llmcore.response.interrupted"] is True
    assert session is not None and len(session.messages) == 2  # saved, marked interrupted


async def test_a_turn_that_streams_nothing_still_ends(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, spans: Spans
) -> None:
    openai_server.enqueue(Reply(status=500))
    async with make_llm() as llm:
        with pytest.raises(Exception):  # noqa: B017 - the first request fails before any chunk
            await llm.chat("hi", session_id="s", stream=True)
    assert spans.turn().span.status.status_code is StatusCode.ERROR
