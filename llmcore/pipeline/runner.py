"""Running a pipeline: the stages composed into one chain, traced, streaming included.

A stage is plain, ``async def __call__(self, turn)``, or wrapping,
``async def __call__(self, turn, call_next)``: a wrapping stage runs the rest
of the pipeline by awaiting ``call_next(turn)``, so it can act before and
after it, catch what it raises, or not call it at all (Starlette's
middleware around an app). The runner composes the list into that chain:
plain stages run one after the other, and each wrapping stage wraps all the
stages after it.

Each stage's name and own duration (a wrapping stage's time without the
stages inside it) go into ``turn.trace``. An llmcore error from a stage is
raised as is; any other exception is wrapped in
:class:`~llmcore.exceptions.PipelineError` naming the stage and the
definition. ``persist`` is a wrapping stage: its ``try`` around the rest of
the turn saves what can be saved after a failure or a cancellation.

Streaming: when the provider stage hands the caller its chunks
(:meth:`~llmcore.turn.Turn.deliver`), the chain is suspended there (see
:mod:`llmcore.pipeline.suspend`) and the caller gets a
:class:`~llmcore.pipeline.stream.ChatStream`. When that stream is exhausted,
closed, broken or dropped, the chain resumes (shielded from cancellation):
the rest of the provider stage, the stages after it and the code after
``call_next`` of every wrapping stage run then, in the reading task.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Sequence
from time import perf_counter

import anyio

from llmcore.exceptions import LLMCoreError, PipelineError
from llmcore.observability import Telemetry, observe_turn, stage_span
from llmcore.pipeline.contracts import check_contracts
from llmcore.pipeline.definition import PipelineDefinition
from llmcore.pipeline.stage import AnyStage
from llmcore.pipeline.stream import ChatStream, StreamRegistry
from llmcore.pipeline.suspend import Driver, Handover
from llmcore.turn import Turn

__all__ = ["Pipeline", "is_wrapping"]

logger = logging.getLogger("llmcore.pipeline")


def is_wrapping(stage: object) -> bool:
    """Whether ``stage`` (a stage, a stage class or a stage function) takes ``call_next``."""
    if inspect.isclass(stage):
        call, own = getattr(stage, "__call__", None), 1  # noqa: B004 - the method itself
    elif inspect.isfunction(stage):
        call, own = stage, 0
    else:
        call, own = getattr(stage, "__call__", None), 0  # noqa: B004
    try:
        params = inspect.signature(call).parameters  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    positional = [
        p for p in params.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return len(positional) - own >= 2


class Pipeline:
    """A built pipeline: a definition and its stage objects, ready to run."""

    def __init__(
        self,
        definition: PipelineDefinition,
        stages: Sequence[tuple[str, AnyStage]],
        *,
        telemetry: Telemetry | None = None,
    ):
        self.definition = definition
        self.stages = list(stages)
        self.telemetry = telemetry or Telemetry()
        self.wrapping = [is_wrapping(stage) for _, stage in self.stages]
        check_contracts(definition.name, self.stages, self.wrapping)

    @property
    def name(self) -> str:
        """The definition's name."""
        return self.definition.name

    async def run(self, turn: Turn, streams: StreamRegistry | None = None) -> Turn:
        """Run ``turn`` through the stages.

        Returns the turn; if the provider stage started a stream,
        ``turn.chunks`` is the :class:`~llmcore.pipeline.stream.ChatStream`
        the caller reads (the rest runs when it ends), tracked in
        ``streams`` until then.

        Raises:
            LLMCoreError: what a stage raised, or PipelineError wrapping an
                unexpected exception.
        """
        # Spans, the turn's DEBUG line (see llmcore.observability.turn).
        driver = Driver(observe_turn(turn, self._run(turn), self.telemetry))
        handed = await driver.start()
        if handed is not None:
            turn.chunks = ChatStream(turn, handed.chunks, _Finisher(turn, driver, handed), streams)
        elif turn.stream:
            # The turn ended without streaming (a wrapping stage answered in its
            # place): the caller still gets a stream, of the one finished reply.
            turn.chunks = ChatStream(turn, _once(turn.response.text), _finished)
        return turn

    async def _run(self, turn: Turn) -> None:
        ran: set[int] = set()
        try:
            await self._from(turn, 0, ran)
        except BaseException as exc:
            if turn.error is None:
                turn.error = exc
            await self._run_always(turn, ran)
            raise

    async def _from(self, turn: Turn, index: int, ran: set[int]) -> None:
        stages, wrapping = self.stages, self.wrapping
        while index < len(stages):
            ran.add(index)
            if wrapping[index]:
                await self._wrap(turn, index, ran)
                return
            name, stage = stages[index]
            trace = turn.enter_stage(name)
            began = perf_counter()
            try:
                await stage_span(trace, stage(turn))  # type: ignore[call-arg]  # a plain Stage
            except LLMCoreError:
                raise
            except Exception as exc:
                raise self._error(name, exc) from exc
            finally:
                trace.duration = perf_counter() - began
            chunks = turn.take_stream()  # a stage written against the older set_stream()
            if chunks is not None:
                await turn.deliver(chunks)
            index += 1

    async def _wrap(self, turn: Turn, index: int, ran: set[int]) -> None:
        name, stage = self.stages[index]
        trace = turn.enter_stage(name, wraps=True)
        inner = 0.0

        async def call_next(t: Turn) -> None:
            nonlocal inner
            began = perf_counter()
            try:
                await self._from(t, index + 1, ran)
            finally:
                inner += perf_counter() - began
                t.resume_stage(trace)  # notes after call_next are the wrapper's own

        began = perf_counter()
        try:
            await stage_span(trace, stage(turn, call_next))  # type: ignore[call-arg]  # wrapping
        except LLMCoreError:
            raise
        except Exception as exc:
            raise self._error(name, exc) from exc
        finally:
            trace.duration = perf_counter() - began - inner

    def _error(self, name: str, exc: Exception) -> PipelineError:
        error = PipelineError(
            f"Stage {name!r} of pipeline {self.name!r} failed: {type(exc).__name__}: {exc}",
            stage=name,
            definition=self.name,
        )
        return error

    async def _run_always(self, turn: Turn, ran: set[int]) -> None:
        """Run the plain ``always_run`` stages the failure skipped (the older cleanup form)."""
        pending = [
            (i, stage)
            for i, (_, stage) in enumerate(self.stages)
            if i not in ran and not self.wrapping[i] and getattr(stage, "always_run", False)
        ]
        if not pending:
            return
        with anyio.CancelScope(shield=True):
            for index, stage in pending:
                name = self.stages[index][0]
                trace = turn.enter_stage(name)
                began = perf_counter()
                try:
                    await stage_span(trace, stage(turn))  # type: ignore[call-arg]  # plain
                except Exception as exc:
                    logger.error("Stage %r failed after an earlier error: %r", name, exc)
                finally:
                    trace.duration = perf_counter() - began


class _Finisher:
    """Resumes a paused pipeline once its stream has ended (what ChatStream calls)."""

    __slots__ = ("driver", "handed", "turn")

    def __init__(self, turn: Turn, driver: Driver, handed: Handover):
        self.turn = turn
        self.driver = driver
        self.handed = handed

    async def __call__(self, failure: BaseException | None) -> None:
        turn = self.turn
        with anyio.CancelScope(shield=True):
            try:
                closer = getattr(self.handed.chunks, "aclose", None)
                if closer is not None:
                    await closer()
            except Exception as exc:
                failure = failure or exc
            if not turn.response.complete:
                turn.response.interrupted = True
            again = await self.driver.resume(failure)
        if again is not None:  # a second handover: no caller is reading any more
            self.driver.close()
            raise PipelineError(
                "A stage handed over a second stream in one turn; only the provider stage "
                "may stream, once.",
                definition=None,
            )


async def _once(text: str) -> AsyncIterator[str]:
    if text:
        yield text


async def _finished(failure: BaseException | None) -> None:
    if failure is not None:
        raise failure
