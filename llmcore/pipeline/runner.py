"""Running a pipeline: stages in order, traced, with the streaming rule.

Each stage's name and duration go into ``turn.trace``. An llmcore error from
a stage stops the turn and is re-raised as is; any other exception is
wrapped in :class:`~llmcore.exceptions.PipelineError` naming the stage and
the definition. Stages marked ``always_run`` (``persist``) still run after a
failure, so what can be saved is saved.

A cancellation (a cancel scope, Ctrl-C) is not a failure to report, but
the ``always_run`` stages still run, shielded, before it goes on: once the
provider was called, the user's message is saved.

Streaming: when a stage hands the Turn a stream of chunks
(:meth:`~llmcore.turn.Turn.set_stream`), the runner stops there and gives the
caller a :class:`~llmcore.pipeline.stream.ChatStream` over the chunks. When
it is exhausted, closed early, broken or dropped, the remaining stages run
(shielded from cancellation), so the session is saved either way; a reply
that did not finish is marked ``interrupted``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from time import perf_counter

import anyio

from llmcore.exceptions import LLMCoreError, PipelineError
from llmcore.pipeline.definition import PipelineDefinition
from llmcore.pipeline.stage import Stage
from llmcore.pipeline.stream import ChatStream, StreamRegistry
from llmcore.turn import StageTrace, Turn

__all__ = ["Pipeline"]

logger = logging.getLogger("llmcore.pipeline")


class Pipeline:
    """A built pipeline: a definition and its stage objects, ready to run."""

    def __init__(self, definition: PipelineDefinition, stages: Sequence[tuple[str, Stage]]):
        self.definition = definition
        self.stages = list(stages)

    @property
    def name(self) -> str:
        """The definition's name."""
        return self.definition.name

    async def run(self, turn: Turn, streams: StreamRegistry | None = None) -> Turn:
        """Run ``turn`` through the stages.

        Returns the turn; if a stage started a stream, ``turn.chunks`` is the
        :class:`~llmcore.pipeline.stream.ChatStream` the caller reads (the
        rest runs when it ends), tracked in ``streams`` until then.

        Raises:
            LLMCoreError: what a stage raised, or PipelineError wrapping an
                unexpected exception.
        """
        found = await self._run_from(turn, 0)
        if turn.error is not None:
            raise turn.error
        if found is not None:
            chunks, resume_at = found

            async def finish(failure: BaseException | None) -> None:
                await self._finish_stream(turn, chunks, resume_at, failure)

            turn.chunks = ChatStream(turn, chunks, finish, streams)
        return turn

    async def _run_from(self, turn: Turn, start: int) -> tuple[AsyncIterator[str], int] | None:
        """Run the stages from ``start``; stop at a stream and return it with where to resume.

        A failure is kept in ``turn.error`` (the stages marked ``always_run``
        still run). A cancellation or Ctrl-C runs them too, shielded, and
        then goes on.
        """
        for index in range(start, len(self.stages)):
            name, stage = self.stages[index]
            if turn.error is not None and not getattr(stage, "always_run", False):
                continue
            trace = StageTrace(name)
            turn.trace.append(trace)
            began = perf_counter()
            try:
                await stage(turn)
            except Exception as exc:
                self._record_failure(turn, name, exc)
            except BaseException as exc:
                trace.duration = perf_counter() - began
                if turn.error is None:
                    turn.error = exc
                with anyio.CancelScope(shield=True):
                    await self._run_from(turn, index + 1)
                raise
            finally:
                trace.duration = perf_counter() - began
            if turn.error is None:
                chunks = turn.take_stream()
                if chunks is not None:
                    return chunks, index + 1
        return None

    def _record_failure(self, turn: Turn, name: str, exc: Exception) -> None:
        if turn.error is not None:
            # A cleanup stage failed after an earlier failure: keep the first.
            logger.error("Stage %r failed after an earlier error: %r", name, exc)
            return
        if isinstance(exc, LLMCoreError):
            turn.error = exc
            return
        error = PipelineError(
            f"Stage {name!r} of pipeline {self.name!r} failed: {type(exc).__name__}: {exc}",
            stage=name,
            definition=self.name,
        )
        error.__cause__ = exc
        turn.error = error

    async def _finish_stream(
        self,
        turn: Turn,
        chunks: AsyncIterator[str],
        resume_at: int,
        failure: BaseException | None,
    ) -> None:
        """Close the chunks and run the stages after the stream, shielded.

        Raises what ended the stream (a cancellation as is, an error as the
        turn's error), or the error of a later stage.
        """
        with anyio.CancelScope(shield=True):
            try:
                closer = getattr(chunks, "aclose", None)
                if closer is not None:
                    await closer()
            except Exception as exc:
                failure = failure or exc
            if isinstance(failure, Exception):
                self._record_failure(turn, "stream", failure)
            elif failure is not None and turn.error is None:
                turn.error = failure
            if not turn.response.complete:
                turn.response.interrupted = True
            await self._run_from(turn, resume_at)
        if turn.error is not None:
            raise turn.error
