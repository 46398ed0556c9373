"""What the fakes received, and what a turn noted: helpers of the issue-18 provider tests."""

from __future__ import annotations

from typing import Any

from llmcore import Turn

__all__ = ["chat_bodies", "notes"]


def chat_bodies(server: Any) -> list[dict[str, Any]]:
    """The bodies of the chat requests a fake received (no counts, model lookups or lists)."""
    return [
        r.json
        for r in server.requests
        if r.method == "POST"
        and "count" not in r.path.lower()
        and not r.path.endswith(("/api/show", "/api/tags", "/models"))
    ]


def notes(turn: Turn) -> list[str]:
    """What ``call_provider`` noted on the turn (what it compiled, ignored, ran)."""
    return [n for t in turn.trace if t.name == "call_provider" for n in t.notes]
