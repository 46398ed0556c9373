"""Running a traced turn in a context of its own, across the stream's pause.

OpenTelemetry keeps the current span in a context variable, and making a
span current (``attach``) returns a token that must be given back
(``detach``) in the same context. A streamed turn breaks that if it runs in
the caller's context: the chain is suspended while the caller reads (its
attached spans would stay current in the caller's code), and it is resumed
by whichever task reads the stream to its end.

So a traced turn runs like a task of its own: every step of its coroutine,
and every step of reading its stream, runs inside one
:class:`contextvars.Context` (:func:`in_context`). Spans attached in it stay
current for the stages and the tool calls that follow, tokens are detached
where they were made, and the caller's context never sees them. An asyncio
or trio task does the same for its own coroutine; child tasks (the tool
calls) copy this context as they start.
"""

from __future__ import annotations

import contextvars
import types
from collections.abc import AsyncIterator, Awaitable, Generator
from typing import Any, TypeVar

from llmcore.pipeline.suspend import Handover

__all__ = ["ChunksInContext", "in_context"]

T = TypeVar("T")


@types.coroutine
def in_context(context: contextvars.Context, awaitable: Awaitable[T]) -> Generator[Any, Any, T]:
    """Await ``awaitable`` with each of its steps run inside ``context``.

    What it awaits passes through to the event loop untouched, and what the
    loop sends or throws back goes in. A stream handed over on the way
    (:class:`~llmcore.pipeline.suspend.Handover`) is read in ``context`` too.
    """
    steps: Any = awaitable.__await__()
    value: Any = None
    failure: BaseException | None = None
    while True:
        try:
            if failure is None:
                yielded = context.run(steps.send, value)
            else:
                yielded = context.run(steps.throw, failure)
        except StopIteration as stop:
            result: T = stop.value
            return result
        if type(yielded) is Handover:
            yielded.chunks = ChunksInContext(context, yielded.chunks)
        try:
            value, failure = (yield yielded), None
        except GeneratorExit:
            context.run(steps.close)
            raise
        except BaseException as exc:  # a cancellation, thrown in by the loop
            value, failure = None, exc


class ChunksInContext:
    """A stream's chunks, read (and closed) inside the turn's context."""

    __slots__ = ("_chunks", "_context")

    def __init__(self, context: contextvars.Context, chunks: AsyncIterator[str]):
        self._context = context
        self._chunks = chunks

    def __aiter__(self) -> ChunksInContext:
        return self

    async def __anext__(self) -> str:
        return await in_context(self._context, self._chunks.__anext__())

    async def aclose(self) -> None:
        """Close the underlying chunks (in the turn's context), if they can be closed."""
        closer = getattr(self._chunks, "aclose", None)
        if closer is not None:
            await in_context(self._context, closer())
