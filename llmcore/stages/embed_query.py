"""embed_query: embed the user's message for retrieval (when RAG is on)."""

from __future__ import annotations

from llmcore.services import Services
from llmcore.turn import Turn

__all__ = ["EmbedQuery"]


class EmbedQuery:
    """Embed ``turn.message`` into ``turn.query_embedding`` when ``enable_rag`` is set.

    Uses ``llmcore.default_embedding_model``, the model the collections are
    built with. Returns at once when RAG is off, or when an earlier stage
    already set the embedding.

    Options:
        embedding_model: another ``KIND:MODEL`` identifier to embed with (the
            collection searched must have been built with it).
    """

    name = "embed_query"
    reads = ()
    provides = ("query_embedding",)

    def __init__(self, services: Services, *, embedding_model: str | None = None):
        if embedding_model is not None:
            from llmcore.embedding import parse_identifier

            parse_identifier(embedding_model)
        self.services = services
        self.embedding_model = embedding_model

    async def __call__(self, turn: Turn) -> None:
        """Embed the message."""
        if not turn.rag.enabled or turn.query_embedding is not None:
            return
        embedder = self.services.embedder(self.embedding_model)
        turn.query_embedding = await embedder.generate_embedding(turn.message)
        turn.state["llmcore.embedding_model"] = embedder.name
        turn.note(f"{embedder.name}, {len(turn.query_embedding)} dimensions")
