"""What the context stages left out, counted exactly: the INFO line, and errors that say it.

``select_history`` reads a session newest first and stops once the window
is full, so the messages it never read are left out without being seen.
They are counted from ``turn.context.history_stored`` (what the session
held, from ``load_session``): left out = stored - sent - in the summary.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from llmcore.turn import Turn

if TYPE_CHECKING:
    from llmcore.exceptions import ContextLengthError

__all__ = ["decide", "dropped_so_far", "explain_context_error", "left_out", "log_decisions"]

logger = logging.getLogger("llmcore.context")


def decide(turn: Turn, reason: str) -> None:
    """Record a context decision on the Turn (its reasons and the stage's trace)."""
    turn.context.reasons.append(reason)
    turn.note(reason)


def in_summary(turn: Turn) -> int:
    """How many history messages the summary sent with this turn stands for."""
    if turn.summary is None or turn.session is None:
        return 0
    record = turn.session.metadata.get("summary")  # context.summary.SUMMARY_KEY
    covers = record.get("covers", 0) if isinstance(record, dict) else 0
    return covers if isinstance(covers, int) else 0


def left_out(turn: Turn) -> int:
    """How many stored history messages this turn does not send, summarised ones excepted."""
    report = turn.context
    seen = len(report.dropped)  # read and not kept: a floor when the count is unknown
    if report.history_stored is None:
        return seen
    return max(report.history_stored - len(turn.history) - in_summary(turn), seen)


def dropped_so_far(turn: Turn) -> list[str]:
    """What the context stages left out of this turn, one description per kind."""
    dropped = []
    history = left_out(turn)
    if history:
        dropped.append(f"{history} older history message{_s(history)}")
    summarized = len(turn.context.summarized)
    if summarized:
        dropped.append(f"{summarized} older history message{_s(summarized)}, summarised")
    documents = turn.context.dropped_documents
    if documents:
        ids = ", ".join(documents)
        dropped.append(f"{len(documents)} retrieved document{_s(len(documents))} ({ids})")
    return dropped


def explain_context_error(error: ContextLengthError, turn: Turn) -> None:
    """Fill ``error.dropped`` (if empty) with what the context stages had already left out."""
    if not error.dropped:
        error.dropped = dropped_so_far(turn)


def log_decisions(turn: Turn) -> None:
    """Log, once per turn at INFO, what the context stages left out or summarised."""
    report = turn.context
    if not report.reasons:
        return
    history = left_out(turn)
    parts = []
    stored = report.history_stored
    if history:
        of = f" of {stored}" if stored is not None else ""
        parts.append(
            f"sent {len(turn.history)}{of} history messages, dropped the {history} older "
            f"one{_s(history)} to fit {turn.budget.available} tokens"
        )
    summarized = in_summary(turn)
    if summarized:
        parts.append(f"the summary stands for {summarized} older message{_s(summarized)}")
    if report.summarized:
        parts.append(f"{len(report.summarized)} of them summarised in this turn")
    documents = report.dropped_documents
    if documents:
        sent = len(turn.documents)
        parts.append(f"dropped {len(documents)} of {sent + len(documents)} retrieved documents")
    if parts:
        logger.info("Session %s: %s", turn.session_id, "; ".join(parts))


def _s(count: int) -> str:
    return "" if count == 1 else "s"
