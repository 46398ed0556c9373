"""Running a pipeline: stages in order, traced, with the streaming rule.

Each stage's name and duration go into ``turn.trace``. An llmcore error from
a stage stops the turn and is re-raised as is; any other exception is
wrapped in :class:`~llmcore.exceptions.PipelineError` naming the stage and
the definition. Stages marked ``always_run`` (``persist``) still run after a
failure, so what can be saved is saved.

Streaming: when a stage hands the Turn a stream of chunks
(:meth:`~llmcore.turn.Turn.set_stream`), the runner stops there and gives the
caller an async generator over the chunks. When that generator is exhausted,
closed early or broken, the remaining stages run (shielded from
cancellation), so the session is saved either way; a reply that did not
finish is marked ``interrupted``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from time import perf_counter

import anyio

from llmcore.exceptions import LLMCoreError, PipelineError
from llmcore.pipeline.definition import PipelineDefinition
from llmcore.pipeline.stage import Stage
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

    async def run(self, turn: Turn) -> Turn:
        """Run ``turn`` through the stages.

        Returns the turn; if a stage started a stream, ``turn.chunks`` is the
        generator the caller must consume (the rest runs when it ends).

        Raises:
            LLMCoreError: what a stage raised, or PipelineError wrapping an
                unexpected exception.
        """
        await self._run_from(turn, 0)
        return turn

    async def _run_from(self, turn: Turn, start: int) -> None:
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
            finally:
                trace.duration = perf_counter() - began
            if turn.error is None:
                chunks = turn.take_stream()
                if chunks is not None:
                    turn.chunks = self._relay(turn, chunks, index + 1)
                    return
        if turn.error is not None:
            raise turn.error

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

    async def _relay(
        self, turn: Turn, chunks: AsyncIterator[str], resume_at: int
    ) -> AsyncGenerator[str, None]:
        try:
            async for chunk in chunks:
                yield chunk
        except Exception as exc:
            self._record_failure(turn, "stream", exc)
        finally:
            closer = getattr(chunks, "aclose", None)
            with anyio.CancelScope(shield=True):
                if closer is not None:
                    await closer()
                if not turn.response.complete:
                    turn.response.interrupted = True
                await self._run_from(turn, resume_at)
