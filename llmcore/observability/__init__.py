"""Observability: OpenTelemetry spans for turns, stages, tools and embeddings; the turn log line.

Nothing here imports OpenTelemetry until the application has set a tracer
provider (:mod:`llmcore.observability.otel`); until then a turn costs what
it did without this package, plus one dictionary lookup.

- :mod:`~llmcore.observability.turn`: the turn's span and its stages' spans
  (what the pipeline runner calls);
- :mod:`~llmcore.observability.spans`: ``execute_tool`` and ``embeddings`` spans;
- :mod:`~llmcore.observability.genai`: the GenAI semantic conventions
  (names and values);
- :mod:`~llmcore.observability.context`: a traced turn's own context, which
  keeps spans right across a stream's pause;
- :mod:`~llmcore.observability.logs`: the DEBUG line per turn.

See ``docs/concepts/observability.md``.
"""

from __future__ import annotations

from llmcore.observability.otel import current_tracer
from llmcore.observability.turn import Telemetry, observe_turn, stage_span

__all__ = ["Telemetry", "current_tracer", "observe_turn", "stage_span"]
