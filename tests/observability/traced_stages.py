"""Stages the observability tests insert by ``observability.traced_stages:Name``."""

from __future__ import annotations

from opentelemetry import trace

from llmcore import Turn
from llmcore.pipeline.stage import CallNext


class AppSpan:
    """Traces the rest of the turn the way application code does: a span made current."""

    async def __call__(self, turn: Turn, call_next: CallNext) -> None:
        with trace.get_tracer("app").start_as_current_span("app.around"):
            await call_next(turn)


class Leak:
    """Fails with a credential in its message (which no span may show)."""

    async def __call__(self, turn: Turn) -> None:
        raise RuntimeError("upstream said token=sk-live-abcdef1234567890 was refused")


class Noted:
    """Leaves two notes on its trace."""

    async def __call__(self, turn: Turn) -> None:
        turn.note("first note")
        turn.note("second note")
