"""Pausing a running pipeline while the caller reads a stream, and resuming it after.

A streamed turn's stages, wrapping ones included, are one chain of plain
coroutines. When the provider stage hands the reply's chunks to the caller
(``await turn.deliver(chunks)``), the whole chain must wait, mid-``await``,
until the caller has read them, and then go on: the code after
``call_next`` in every wrapping stage runs when the stream ends.

:class:`Driver` runs the chain's coroutine itself, forwarding everything it
awaits to the event loop (asyncio futures and trio traps alike pass through
untouched), until it meets a :class:`Handover`. It then returns the handover
and keeps the coroutine suspended; :meth:`Driver.resume` continues it later,
normally in the same task (the task that reads the stream), with the
stream's outcome as the result of ``turn.deliver``. This is what ``yield``
would do if a coroutine could yield through the coroutines that await it.

The one rule this imposes on wrapping stages: a cancel scope (``fail_after``,
a task group) must not stay open across ``call_next`` in a streamed turn,
because the caller's own code runs in between.
"""

from __future__ import annotations

import types
from collections.abc import AsyncIterator, Coroutine, Generator
from typing import Any

__all__ = ["Driver", "Handover", "handover"]


class Handover:
    """What a paused pipeline hands its caller: the reply's chunks."""

    __slots__ = ("chunks",)

    def __init__(self, chunks: AsyncIterator[Any]):
        self.chunks = chunks


@types.coroutine
def handover(chunks: AsyncIterator[Any]) -> Generator[Any, Any, None]:
    """Suspend the running pipeline until its :class:`Driver` resumes it."""
    yield Handover(chunks)


class Driver:
    """Runs a coroutine until it hands over a stream, and resumes it on demand."""

    __slots__ = ("_coro", "done")

    def __init__(self, coro: Coroutine[Any, Any, None]):
        self._coro = coro
        self.done = False

    @types.coroutine
    def _step(self, failure: BaseException | None = None) -> Generator[Any, Any, Handover | None]:
        coro, value = self._coro, None
        while True:
            try:
                if failure is not None:
                    yielded = coro.throw(failure)
                    failure = None
                else:
                    yielded = coro.send(value)
            except StopIteration:
                self.done = True
                return None
            except BaseException:
                self.done = True
                raise
            if type(yielded) is Handover:
                return yielded
            try:
                value = yield yielded  # to the event loop, and its answer back in
            except BaseException as exc:  # a cancellation, thrown in by the loop
                failure, value = exc, None

    async def start(self) -> Handover | None:
        """Run until the coroutine ends (None) or hands over a stream (returned)."""
        return await self._step()

    async def resume(self, failure: BaseException | None = None) -> Handover | None:
        """Continue after a handover; ``failure`` is raised where the stream was handed over."""
        return await self._step(failure)

    def close(self) -> None:
        """Discard a coroutine that will not be resumed (no await left to run)."""
        if not self.done:
            self.done = True
            self._coro.close()
