"""Observability fixtures: the OpenTelemetry SDK with its in-memory exporter.

``spans`` sets a real SDK ``TracerProvider`` as the global one for one test
and takes it away after (as ``opentelemetry-test-utils`` does), so every
other test runs with no tracer provider set, the way an application without
OpenTelemetry does.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from otel_trees import Spans, reset_globals


@pytest.fixture
def spans() -> Iterator[Spans]:
    """A global SDK tracer provider for this test, exporting to memory."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    reset_globals()
    trace.set_tracer_provider(provider)
    try:
        yield Spans(exporter, provider)
    finally:
        reset_globals()
        provider.shutdown()
