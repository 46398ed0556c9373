"""retrieve: search the vector store with the query embedding (when RAG is on)."""

from __future__ import annotations

from llmcore.turn import Turn

__all__ = ["Retrieve"]


class Retrieve:
    """Fill ``turn.documents`` from the vector store when ``enable_rag`` is set."""

    name = "retrieve"

    async def __call__(self, turn: Turn) -> None:
        """Do nothing unless RAG is enabled and a query embedding exists."""
        if not turn.rag.enabled or turn.query_embedding is None:
            return
