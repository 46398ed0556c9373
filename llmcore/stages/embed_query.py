"""embed_query: embed the user's message for retrieval (when RAG is on)."""

from __future__ import annotations

from llmcore.turn import Turn

__all__ = ["EmbedQuery"]


class EmbedQuery:
    """Embed the message into ``turn.query_embedding`` when ``enable_rag`` is set.

    Retrieval-augmented generation arrives with the RAG work; until then the
    stage returns at once when RAG is off, and says so when it is asked for.
    """

    name = "embed_query"

    async def __call__(self, turn: Turn) -> None:
        """Do nothing unless RAG is enabled for this turn."""
        if not turn.rag.enabled:
            return
        turn.note("RAG is not available in this version; no documents retrieved")
