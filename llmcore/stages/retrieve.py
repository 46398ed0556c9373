"""retrieve: fill turn.documents from the vector store and from MCP resources."""

from __future__ import annotations

from llmcore.context.settings import context_setting
from llmcore.services import Services
from llmcore.turn import Turn

__all__ = ["Retrieve"]


class Retrieve:
    """Fill ``turn.documents`` (best first, with scores) from the vector store.

    Searches ``rag_collection_name`` (default: ``storage.vector.default_collection``)
    for the ``rag_retrieval_k`` documents closest to ``turn.query_embedding``
    (default: ``context_management.rag_retrieval_k``). The context stages
    then place them in the payload. MCP resources asked for with
    ``chat(mcp_resources=["server:uri"])`` are read here too and join the
    documents with score 1.0. Returns at once when RAG is off and no
    resource was asked for.

    Options:
        min_score: drop documents whose cosine similarity is below this.
        filter: a metadata filter (``{key = value}``) every document must match.
    """

    name = "retrieve"
    reads = ()
    optional_reads = ("query_embedding",)
    provides = ("documents",)

    def __init__(
        self,
        services: Services,
        *,
        min_score: float | None = None,
        filter: dict[str, str | int | float | bool] | None = None,
    ):
        if min_score is not None and (
            isinstance(min_score, bool)
            or not isinstance(min_score, int | float)
            or not -1 <= min_score <= 1
        ):
            raise ValueError(f"min_score must be a number from -1 to 1, not {min_score!r}")
        from llmcore.storage.vectors.base import check_filter

        self.filter = check_filter(filter)
        self.services = services
        self.min_score = min_score

    async def __call__(self, turn: Turn) -> None:
        """Read the requested MCP resources and search the collection."""
        if turn.mcp_resources:
            from llmcore.mcp.context import read_resources

            resources = await read_resources(self.services.mcp, turn.mcp_resources)
            turn.documents = [*resources, *turn.documents]
            turn.note(f"{len(resources)} MCP resources")
        if not turn.rag.enabled or turn.query_embedding is None:
            return
        k = turn.rag.k or context_setting(
            turn, self.services.config.context_management, "rag_retrieval_k"
        )
        collection = turn.rag.collection or self.services.config.storage.vector.default_collection
        model = turn.state.get("llmcore.embedding_model") or self.services.embedder().name
        store = await self.services.vector_store()
        documents = await store.similarity_search(
            turn.query_embedding,
            k=k,
            collection_name=collection,
            embedding_model=model,
            filter=self.filter or None,
        )
        if self.min_score is not None:
            documents = [d for d in documents if (d.score or 0.0) >= self.min_score]
        turn.documents = [*turn.documents, *documents]
        scores = ", ".join(f"{d.score:.3f}" for d in documents if d.score is not None)
        turn.note(f"{len(documents)} documents from {collection!r} (scores {scores or '-'})")
