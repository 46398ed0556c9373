"""The one DEBUG line per turn: who answered, for which session, the tokens, where the time went.

Logged on ``llmcore.turn`` when the turn ends (for a streamed turn, when its
stream ends or is closed), e.g.::

    Turn openai/gpt-4o-mini, session 'notes': 812 in / 64 out tokens, 27.9 ms
    in stages: load_session 0.4, persist 1.9, select_history 2.1,
    call_provider 23.5 (ms, each stage's own time)

It is built only when DEBUG is enabled for that logger.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llmcore.turn import Turn

__all__ = ["describe_turn", "log_turn"]

logger = logging.getLogger("llmcore.turn")


def log_turn(turn: Turn) -> None:
    """Log the turn's line at DEBUG, if DEBUG is on."""
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("%s", describe_turn(turn))


def describe_turn(turn: Turn) -> str:
    """The turn in one line: provider/model, session, tokens in/out, outcome, stage times."""
    model = turn.response.model or turn.model
    session = f"session {turn.session_id!r}" if turn.session_id is not None else "no session"
    usage = turn.response.usage
    tokens = (
        f"{usage.input_tokens} in / {usage.output_tokens} out tokens"
        if usage is not None
        else "no usage reported"
    )
    outcome = ""
    if turn.error is not None:
        outcome = f", failed with {type(turn.error).__name__}"
    elif turn.response.interrupted:
        outcome = ", interrupted"
    stages = ", ".join(f"{t.name} {t.duration * 1000:.1f}" for t in turn.trace)
    return (
        f"Turn {turn.provider_name}/{model}, {session}: {tokens}{outcome}, "
        f"{turn.duration * 1000:.1f} ms in stages: {stages} (ms, each stage's own time)"
    )
