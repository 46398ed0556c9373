"""The application's OpenTelemetry tracer, found without importing OpenTelemetry.

llmcore traces only when the application has set OpenTelemetry up: the
``otel`` extra (``opentelemetry-api``) installed and a tracer provider set
(the SDK's, a vendor's, or ``opentelemetry-instrument``'s). Setting one
imports ``opentelemetry.trace``, so llmcore looks in ``sys.modules`` first:
when it is not there, nothing of OpenTelemetry is imported and no span is
made, at the cost of one dictionary lookup per turn. The default provider
(a ``ProxyTracerProvider``: none set yet) and a ``NoOpTracerProvider`` mean
no spans either. The provider is looked up on every turn, so one set after
``LLMCore`` was built is used from the next turn on.

The span helpers here are the few things every llmcore span does: start as
a child of the current span, and end with the status of what happened,
never with an exception's text unless llmcore wrote (and redacted) it.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from llmcore.exceptions import LLMCoreError

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer

__all__ = ["current_tracer", "end_span", "error_type"]

# (provider, its tracer): the provider rarely changes, so get_tracer runs once.
_cached: tuple[object, Tracer | None] | None = None


def current_tracer() -> Tracer | None:
    """llmcore's tracer from the global tracer provider, or None when nothing traces."""
    global _cached
    trace: Any = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return None
    provider = trace.get_tracer_provider()
    cached = _cached
    if cached is not None and cached[0] is provider:
        return cached[1]
    tracer: Tracer | None = None
    if not isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
        from llmcore import __version__
        from llmcore.observability.genai import SCHEMA_URL

        tracer = provider.get_tracer("llmcore", __version__, schema_url=SCHEMA_URL)
    _cached = (provider, tracer)
    return tracer


def error_type(error: BaseException) -> str:
    """``error.type``: the error's qualified class name (never its message)."""
    kind = type(error)
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


def end_span(span: Span, error: BaseException | None = None, *, kind: str | None = None) -> None:
    """End ``span``: status ERROR with ``error.type`` when ``error`` (or ``kind``) is given.

    An llmcore error's message is already redacted, so it becomes the
    status description and the message of the exception event; any other
    exception (an SDK's, a tool's) is recorded by its type alone: its text
    may hold a URL, a key or a user's data.
    """
    if error is not None or kind is not None:
        from opentelemetry.trace import Status, StatusCode

        from llmcore.observability.genai import ERROR_TYPE

        name = kind or error_type(error)  # type: ignore[arg-type]
        message = str(error) if isinstance(error, LLMCoreError) else None
        span.set_attribute(ERROR_TYPE, name)
        if error is not None:
            event: dict[str, str] = {"exception.type": name}
            if message:
                event["exception.message"] = message
            span.add_event("exception", event)
        span.set_status(Status(StatusCode.ERROR, message))
    span.end()
