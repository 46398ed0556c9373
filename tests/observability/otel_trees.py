"""Span trees from the SDK's in-memory exporter, for the observability tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once

__all__ = ["Node", "Spans", "everything", "reset_globals"]


def reset_globals() -> None:
    """Forget the global tracer provider (as opentelemetry-test-utils does)."""
    trace._TRACER_PROVIDER_SET_ONCE = Once()  # type: ignore[attr-defined]
    trace._TRACER_PROVIDER = None  # type: ignore[attr-defined]


@dataclass
class Node:
    """A finished span and its children, in start order."""

    span: ReadableSpan
    children: list[Node] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.span.name

    @property
    def attributes(self) -> dict[str, Any]:
        return dict(self.span.attributes or {})

    def child(self, name: str) -> Node:
        """The one child called ``name``."""
        found = [c for c in self.children if c.name == name]
        assert len(found) == 1, f"{name!r} among {[c.name for c in self.children]}"
        return found[0]

    def find(self, name: str) -> list[Node]:
        """Every span called ``name`` in this subtree."""
        out = [self] if self.name == name else []
        for c in self.children:
            out += c.find(name)
        return out

    def shape(self) -> Any:
        """The tree as nested (name, [children]) pairs, leaves as bare names."""
        if not self.children:
            return self.name
        return (self.name, [c.shape() for c in self.children])


class Spans:
    """The spans finished during a test."""

    def __init__(self, exporter: InMemorySpanExporter, provider: TracerProvider):
        self.exporter = exporter
        self.provider = provider

    @property
    def finished(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def names(self) -> list[str]:
        return [s.name for s in self.finished]

    def roots(self) -> list[Node]:
        """Finished spans as trees (a span whose parent did not finish here is a root)."""
        spans = sorted(self.finished, key=lambda s: s.start_time or 0)
        nodes = {s.context.span_id: Node(s) for s in spans}  # type: ignore[union-attr]
        roots = []
        for span in spans:
            node = nodes[span.context.span_id]  # type: ignore[union-attr]
            parent = span.parent.span_id if span.parent is not None else None
            if parent in nodes:
                nodes[parent].children.append(node)
            else:
                roots.append(node)
        return roots

    def turn(self) -> Node:
        """The one turn (``chat ...``) tree."""
        turns = [r for r in self.roots() if r.name.startswith("chat ")]
        assert len(turns) == 1, [r.name for r in self.roots()]
        return turns[0]

    def clear(self) -> None:
        self.exporter.clear()


def everything(node: Node) -> str:
    """Every attribute, event and status text of a tree, as one string."""
    span = node.span
    parts = [repr(dict(span.attributes or {})), span.status.description or ""]
    parts += [f"{e.name} {dict(e.attributes or {})}" for e in span.events]
    return " ".join(parts + [everything(c) for c in node.children])
