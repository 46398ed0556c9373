"""A turn's span and its stages' spans: what the pipeline runner calls.

The runner hands every turn to :func:`observe_turn` and every stage's
awaitable to :func:`stage_span`. Without a tracer (see
:mod:`llmcore.observability.otel`) the first only adds the turn's DEBUG log
line and completes a :class:`~llmcore.exceptions.ContextLengthError`'s
``dropped``, and the second returns the stage's awaitable untouched.

With one, the turn is a span ``chat {model}`` (kind CLIENT), a child of the
caller's current span, with the GenAI attributes of
:mod:`llmcore.observability.genai`; each stage is a child span named after
it (a wrapping stage's span holds the spans of the stages it wraps), with
its notes as events; tool calls and embedding calls are children of the
stage that makes them. The turn runs in a context of its own
(:mod:`llmcore.observability.context`), so a streamed turn's span ends when
its stream ends, is closed, or is finished after a ``break``, in whichever
task that happens.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Coroutine
from typing import TYPE_CHECKING, Any

from llmcore.context.report import explain_context_error, left_out
from llmcore.exceptions import ContextLengthError
from llmcore.observability.logs import log_turn
from llmcore.observability.otel import current_tracer, end_span

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer

    from llmcore.config.schema import LLMCoreConfig
    from llmcore.turn import StageTrace, Turn

__all__ = ["Telemetry", "TurnSpan", "current_turn_span", "observe_turn", "stage_span"]

#: The traced turn whose context this is (set only inside that context).
_TURN: contextvars.ContextVar[TurnSpan | None] = contextvars.ContextVar(
    "llmcore_turn_span", default=None
)


class Telemetry:
    """What observing turns needs from the configuration.

    Args:
        config: the resolved configuration; None for the defaults (no
            content captured, provider sections named by their type).
    """

    __slots__ = ("_kinds", "capture_content")

    def __init__(self, config: LLMCoreConfig | None = None):
        self.capture_content = bool(config and config.observability.capture_content)
        providers = config.providers if config is not None else {}
        self._kinds = {name: settings.type or name for name, settings in providers.items()}

    def provider_name(self, section: str) -> str:
        """``gen_ai.provider.name`` of the ``[providers.NAME]`` section ``section``."""
        from llmcore.observability.genai import provider_name

        return provider_name(section, self._kinds.get(section, section))


def current_turn_span() -> TurnSpan | None:
    """The traced turn running in this context, if any (for tool and embedding spans)."""
    return _TURN.get()


def observe_turn(
    turn: Turn, run: Coroutine[Any, Any, None], telemetry: Telemetry
) -> Coroutine[Any, Any, None]:
    """Wrap the coroutine that runs ``turn``'s stages: its span, its log line, its report."""
    tracer = current_tracer()
    if tracer is None:
        return _untraced(turn, run)
    return _traced(TurnSpan(tracer, turn, telemetry), run)


async def _untraced(turn: Turn, run: Coroutine[Any, Any, None]) -> None:
    try:
        await run
    except ContextLengthError as exc:
        explain_context_error(exc, turn)
        raise
    finally:
        log_turn(turn)


async def _traced(span: TurnSpan, run: Coroutine[Any, Any, None]) -> None:
    # Loaded only once something traces, like everything OpenTelemetry.
    from llmcore.observability.context import in_context

    turn = span.turn
    context = contextvars.copy_context()
    context.run(span.make_current)
    failure: BaseException | None = None
    try:
        await in_context(context, run)
    except BaseException as exc:
        failure = exc
        if isinstance(exc, ContextLengthError):
            explain_context_error(exc, turn)
        raise
    finally:
        span.end(failure)
        log_turn(turn)


class TurnSpan:
    """The span of one traced turn, and the stage spans under it."""

    __slots__ = ("capture_content", "span", "tracer", "turn")

    def __init__(self, tracer: Tracer, turn: Turn, telemetry: Telemetry):
        from opentelemetry.trace import SpanKind

        from llmcore.observability.genai import request_attributes

        self.tracer = tracer
        self.turn = turn
        self.capture_content = telemetry.capture_content
        attributes = request_attributes(turn, telemetry.provider_name(turn.provider_name))
        # The caller's current span (if any) is the parent.
        self.span: Span = tracer.start_span(
            f"chat {turn.model}", kind=SpanKind.CLIENT, attributes=attributes
        )

    def make_current(self) -> None:
        """Make this turn's span current (called inside the turn's own context)."""
        from opentelemetry import context, trace

        _TURN.set(self)
        context.attach(trace.set_span_in_context(self.span))

    def end(self, failure: BaseException | None) -> None:
        """Record what came back, then end the span."""
        from llmcore.observability.genai import content_attributes, response_attributes

        span, turn = self.span, self.turn
        if span.is_recording():
            span.set_attributes(response_attributes(turn, left_out(turn)))
            if self.capture_content:
                span.set_attributes(content_attributes(turn))
        end_span(span, failure)

    async def stage(self, trace: StageTrace, step: Awaitable[None]) -> None:
        """Run one stage's ``step`` as a child span of the current one."""
        from opentelemetry import context
        from opentelemetry import trace as otel

        span = self.tracer.start_span(
            trace.name,
            attributes={"llmcore.stage.name": trace.name, "llmcore.stage.wraps": trace.wraps},
        )
        token = context.attach(otel.set_span_in_context(span))
        failure: BaseException | None = None
        try:
            await step
        except BaseException as exc:
            failure = exc
            raise
        finally:
            context.detach(token)
            for note in trace.notes:
                span.add_event("llmcore.stage.note", {"llmcore.note": note})
            end_span(span, failure)


def stage_span(trace: StageTrace, step: Awaitable[None]) -> Awaitable[None]:
    """The stage's ``step`` as a child span of the turn, or ``step`` itself when not traced."""
    turn_span = _TURN.get()
    if turn_span is None:
        return step
    return turn_span.stage(trace, step)
