"""One log line per turn for what the context stages dropped or summarised."""

from __future__ import annotations

import logging

from llmcore.turn import Turn

__all__ = ["decide", "log_decisions"]

logger = logging.getLogger("llmcore.context")


def decide(turn: Turn, reason: str) -> None:
    """Record a context decision on the Turn (its reasons and the stage's trace)."""
    turn.context.reasons.append(reason)
    turn.note(reason)


def log_decisions(turn: Turn) -> None:
    """Log the turn's context decisions once, at INFO, if there were any."""
    if turn.context.reasons:
        logger.info("Session %s: %s", turn.session_id, "; ".join(turn.context.reasons))
