"""Spans for a tool call (``execute_tool {name}``) and an embedding call (``embeddings {model}``).

Both are children of the current span: inside a traced turn, the stage
that makes the call (``call_provider``, ``embed_query``); outside one (an
application embedding documents itself), whatever its own code has made
current. They are made only when a tracer is set (see
:mod:`llmcore.observability.otel`); otherwise :func:`tool_span` and
:func:`embedding_span` return one shared object whose methods do nothing.

A tool's arguments and result are content: they are recorded only with
``[observability] capture_content = true``, secrets masked.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

from llmcore.observability.otel import current_tracer, end_span
from llmcore.observability.turn import current_turn_span

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer

    from llmcore.models import ToolCall
    from llmcore.tools.tool import Tool, ToolResult

__all__ = ["EmbeddingSpan", "ToolSpan", "embedding_span", "tool_span"]

#: Embedders that call a server (the rest run in this process).
_REMOTE_EMBEDDERS = frozenset({"openai", "google", "ollama"})


def _tracer() -> tuple[Tracer | None, bool]:
    """The tracer to use here, and whether content may be recorded."""
    turn = current_turn_span()
    if turn is not None:
        return turn.tracer, turn.capture_content
    return current_tracer(), False


class _Span:
    """A span made current for the duration of a ``with`` block."""

    __slots__ = ("_error", "_kind", "_token", "span")

    def __init__(self, span: Span | None):
        self.span = span
        self._token: object = None
        self._error: BaseException | None = None
        self._kind: str | None = None

    def __enter__(self) -> Any:
        if self.span is not None:
            from opentelemetry import context, trace

            self._token = context.attach(trace.set_span_in_context(self.span))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        span = self.span
        if span is None:
            return
        from opentelemetry import context

        context.detach(self._token)  # type: ignore[arg-type]
        end_span(span, exc or self._error, kind=None if exc else self._kind)

    def failed(self, error: BaseException | None = None, *, kind: str | None = None) -> None:
        """The call failed without raising (an error handed back, not thrown)."""
        if self.span is not None:
            self._error, self._kind = error, kind


class ToolSpan(_Span):
    """The span of one tool call; :meth:`finish` records its result."""

    __slots__ = ("_capture",)

    def __init__(self, span: Span | None, capture: bool):
        super().__init__(span)
        self._capture = capture

    def __enter__(self) -> ToolSpan:
        super().__enter__()
        return self

    def finish(self, result: ToolResult) -> None:
        """Record the result (its text only with ``capture_content``); an error fails the span."""
        span = self.span
        if span is None:
            return
        from llmcore.observability import genai

        if self._capture:
            span.set_attribute(genai.TOOL_CALL_RESULT, genai.content_json(result.content))
        if result.is_error and self._error is None and self._kind is None:
            self._kind = "tool_error"


class EmbeddingSpan(_Span):
    """The span of one ``generate_embeddings`` call."""

    __slots__ = ()

    def __enter__(self) -> EmbeddingSpan:
        super().__enter__()
        return self

    def dimension(self, size: int | None) -> None:
        """Record the length of the vectors."""
        if self.span is not None and size is not None:
            from llmcore.observability.genai import EMBEDDINGS_DIMENSION_COUNT

            self.span.set_attribute(EMBEDDINGS_DIMENSION_COUNT, size)


_NO_TOOL_SPAN = ToolSpan(None, False)
_NO_EMBEDDING_SPAN = EmbeddingSpan(None)


def tool_span(call: ToolCall, tool: Tool | None) -> ToolSpan:
    """A span for running ``call`` (``tool`` is None when no tool has its name)."""
    tracer, capture = _tracer()
    if tracer is None:
        return _NO_TOOL_SPAN
    from llmcore.observability import genai

    attributes: dict[str, Any] = {
        genai.OPERATION: "execute_tool",
        genai.TOOL_NAME: call.name,
        genai.TOOL_CALL_ID: call.id,
    }
    if tool is not None:
        attributes[genai.TOOL_DESCRIPTION] = tool.description
        server = getattr(tool, "server", None)
        # An MCP tool runs on its server: an "extension" in the conventions' words.
        attributes[genai.TOOL_TYPE] = "extension" if isinstance(server, str) else "function"
        if isinstance(server, str):
            attributes["llmcore.mcp.server"] = server
    if capture:
        attributes[genai.TOOL_CALL_ARGUMENTS] = genai.content_json(call.arguments)
    return ToolSpan(tracer.start_span(f"execute_tool {call.name}", attributes=attributes), capture)


def embedding_span(kind: str, model: str, inputs: int) -> EmbeddingSpan:
    """A span for embedding ``inputs`` texts with the ``kind`` embedder's ``model``."""
    tracer, _ = _tracer()
    if tracer is None:
        return _NO_EMBEDDING_SPAN
    from opentelemetry.trace import SpanKind

    from llmcore.observability import genai

    attributes: dict[str, Any] = {
        genai.OPERATION: "embeddings",
        genai.PROVIDER: genai.provider_name(kind, kind),
        genai.REQUEST_MODEL: model,
        "llmcore.embedding.inputs": inputs,
    }
    span = tracer.start_span(
        f"embeddings {model}",
        kind=SpanKind.CLIENT if kind in _REMOTE_EMBEDDERS else SpanKind.INTERNAL,
        attributes=attributes,
    )
    return EmbeddingSpan(span)
