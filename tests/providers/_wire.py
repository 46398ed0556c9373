"""What a turn noted: a helper of the issue-18 provider tests.

What the fakes received is theirs to say: ``server.chat_bodies()``.
"""

from __future__ import annotations

from llmcore import Turn

__all__ = ["notes"]


def notes(turn: Turn) -> list[str]:
    """What ``call_provider`` noted on the turn (what it compiled, ignored, ran)."""
    return [n for t in turn.trace if t.name == "call_provider" for n in t.notes]
