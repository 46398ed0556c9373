"""A streamed reply: its chunks for the caller, and the rest of the turn after them.

:class:`ChatStream` is what ``chat(..., stream=True)`` returns. The stages
after the provider (``persist`` among them) run once, when the stream is
exhausted, closed (``aclose()``, ``async with``), breaks, or is cancelled.

The usual idiom, ``break`` out of ``async for``, closes nothing, so an
unfinished stream is also kept in its :class:`StreamRegistry`, which
finishes it (the reply saved, marked interrupted) before the next turn on
its session starts, and at the latest when ``LLMCore.close()`` runs. A
stream the caller dropped altogether is finished by the next turn of any
session. ``ChatStream`` is an iterator class, not an async generator, so no
garbage-collector hook ever closes it (or its provider's connection) behind
the caller's back, in another task and in a random order.

"Dropped" is seen by the stream's ``__del__``, so it needs the stream to be
collectable. The stream of ``chat()`` is; the one of ``chat_turn()`` is not:
it is ``turn.chunks``, and the registry holds the turn (the suspended stages
need it). A Turn cannot be left out of what the registry holds, so that
stream is finished by the next turn on its session or by ``close()`` only,
and ``chat_turn`` callers should close it (see :class:`ChatStream`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio

from llmcore.exchange import StreamEvent, TextDelta

if TYPE_CHECKING:
    from llmcore.turn import Turn

__all__ = ["ChatStream", "StreamRegistry"]

logger = logging.getLogger("llmcore.pipeline")

#: Runs the stages after the stream: called once with the failure that ended
#: the stream (None when it ended or was closed normally); raises what the
#: caller should see.
Finisher = Callable[[BaseException | None], Awaitable[None]]


class _OpenStream:
    """The state of one unfinished stream (what the registry keeps alive)."""

    __slots__ = ("abandoned", "chunks", "done", "finisher", "idle", "registry", "running", "turn")

    def __init__(
        self,
        turn: Turn,
        chunks: AsyncIterator[Any],
        finisher: Finisher,
        registry: StreamRegistry | None,
    ):
        self.turn = turn
        self.chunks = chunks
        self.finisher = finisher
        self.registry = registry
        self.running = False  # a task is waiting for the next chunk
        self.idle: anyio.Event | None = None
        self.done = False
        self.abandoned = False

    async def next(self, typed: bool = False) -> Any:
        """The next text chunk (or, ``typed``, the next event of any kind)."""
        if self.done:
            raise StopAsyncIteration
        self.running = True
        try:
            while True:
                item = await self.chunks.__anext__()
                if type(item) is str:  # a stage that delivers text, not events
                    if item or typed:
                        return TextDelta(item) if typed else item
                elif typed:
                    return item
                elif type(item) is TextDelta and item.text:
                    return item.text
        except StopAsyncIteration:
            failure: BaseException | None = None
        except BaseException as exc:  # a broken stream, or the reader was cancelled
            failure = exc
        finally:
            self.running = False
            if self.idle is not None:
                self.idle.set()
        await self.finish(failure)
        raise StopAsyncIteration

    async def finish(self, failure: BaseException | None = None) -> None:
        """Close the chunks and run the rest of the turn, once."""
        while self.running:  # another task is reading a chunk: let it have it first
            self.idle = anyio.Event()
            await self.idle.wait()
        if self.done:
            return
        self.done = True
        if self.registry is not None:
            self.registry.discard(self)
        await self.finisher(failure)


class ChatStream:
    """The text chunks of a streamed reply (``chat(..., stream=True)``).

    Iterate it with ``async for``; the turn's remaining stages (saving the
    session among them) run when it ends. Leaving early is safe: ``break``,
    an exception or a cancellation keeps the part received so far, marked
    ``interrupted``. To close it at a point of your choosing, use it as an
    async context manager or call :meth:`aclose`::

        async with await llm.chat("Hi", session_id="s", stream=True) as chunks:
            async for chunk in chunks:
                print(chunk, end="")

    An unfinished stream is closed at the latest before the next turn on its
    session starts, and by ``LLMCore.close()``. The stream of ``chat()``,
    dropped after ``break``, is also closed by the next turn of any session;
    the stream of ``chat_turn()`` (``turn.chunks``) is not, because its Turn
    keeps it alive: close it yourself (``async with turn.chunks``, or
    ``await turn.chunks.aclose()``), or read it to the end, so the
    provider's connection is not held until then.
    """

    __slots__ = ("__weakref__", "_state")

    def __init__(
        self,
        turn: Turn,
        chunks: AsyncIterator[Any],
        finisher: Finisher,
        registry: StreamRegistry | None = None,
    ):
        self._state = _OpenStream(turn, chunks, finisher, registry)
        if registry is not None:
            registry.add(self._state)

    @property
    def turn(self) -> Turn:
        """The turn being streamed (complete once the stream has ended)."""
        return self._state.turn

    @property
    def closed(self) -> bool:
        """True once the stream has ended and the rest of the turn has run."""
        return self._state.done

    def __aiter__(self) -> ChatStream:
        return self

    async def __anext__(self) -> str:
        text: str = await self._state.next()
        return text

    def events(self) -> AsyncIterator[StreamEvent]:
        """Iterate the reply as typed events instead of text.

        :class:`~llmcore.exchange.TextDelta` (the answer),
        :class:`~llmcore.exchange.ReasoningDelta` (what a reasoning model
        shows of its thinking) and :class:`~llmcore.exchange.ToolCallDelta`
        (the tool calls it makes, in pieces), in the order they arrive;
        for a UI that shows the thinking apart from the answer. Read the
        stream either way, not both.
        """
        return _Events(self._state)

    async def aclose(self) -> None:
        """Stop reading: close the provider's stream and finish the turn.

        The part received so far is saved (marked ``interrupted`` if the
        reply had not ended). Closing a finished stream does nothing.

        Raises:
            LLMCoreError: a stage after the provider failed (e.g. the session
                could not be saved).
        """
        await self._state.finish(None)

    async def __aenter__(self) -> ChatStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # The block's own exception is the caller's, not the turn's: close as aclose() does.
        await self._state.finish(None)

    def __del__(self) -> None:
        state = self._state
        if not state.done and state.registry is not None:
            # Dropped unfinished (``break``): the registry finishes it soon.
            state.abandoned = True
            state.registry.has_abandoned = True

    def __repr__(self) -> str:
        state = "closed" if self._state.done else "open"
        return f"<ChatStream {state} session={self._state.turn.session_id!r}>"


class _Events:
    """A ChatStream read as typed events."""

    __slots__ = ("_state",)

    def __init__(self, state: _OpenStream):
        self._state = state

    def __aiter__(self) -> _Events:
        return self

    async def __anext__(self) -> StreamEvent:
        event: StreamEvent = await self._state.next(typed=True)
        return event


class StreamRegistry:
    """The unfinished streams of one ``LLMCore``, so none is lost or left open."""

    def __init__(self) -> None:
        self._open: dict[str | None, list[_OpenStream]] = {}
        self.has_abandoned = False

    def add(self, state: _OpenStream) -> None:
        """Track a new stream."""
        self._open.setdefault(state.turn.session_id, []).append(state)

    def discard(self, state: _OpenStream) -> None:
        """Forget a finished stream."""
        streams = self._open.get(state.turn.session_id)
        if streams is not None and state in streams:
            streams.remove(state)
            if not streams:
                del self._open[state.turn.session_id]

    async def settle(self, session_id: str | None, *, close_open: bool = True) -> None:
        """Finish every dropped stream, and the open streams of ``session_id``.

        Called before a turn starts, so an earlier turn on the same session
        is saved first and turns stay in order. With ``close_open=False``
        (reading a session) a stream still being read is left alone.
        """
        if not self._open:
            return
        pending = []
        if session_id is not None and close_open:
            pending = list(self._open.get(session_id, ()))
        if self.has_abandoned:
            self.has_abandoned = False
            dropped = [s for streams in self._open.values() for s in streams if s.abandoned]
            pending += [s for s in dropped if s not in pending]
        await self._finish(pending)

    async def aclose(self) -> None:
        """Finish every open stream (what ``LLMCore.close()`` calls first)."""
        await self._finish([s for streams in self._open.values() for s in streams])

    @staticmethod
    async def _finish(states: list[_OpenStream]) -> None:
        from llmcore.exceptions import LLMCoreError

        for state in states:
            try:
                await state.finish(None)
            except LLMCoreError as exc:
                # Its reader is gone, so there is no one else to tell.
                logger.error(
                    "Finishing the unfinished stream of session %r failed: %s",
                    state.turn.session_id,
                    exc,
                )
