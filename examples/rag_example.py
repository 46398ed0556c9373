"""RAG: add documents to a collection, search it, then chat with retrieval.

Needs a vector store and an embedder: ``pip install "llmcore[openai,chromadb,fastembed]"``
(Chroma embedded in ``~/.llmcore/chroma_db`` and the fastembed default model
by default; see docs/concepts/rag.md for pgvector and other embedders)::

    OPENAI_API_KEY=sk-... python examples/rag_example.py
"""

from __future__ import annotations

import sys

import anyio

from llmcore import LLMCore, LLMCoreError

COLLECTION = "my_documents"
DOCUMENTS = [
    {
        "id": "doc1",
        "content": "The Eiffel Tower is located in Paris, France.",
        "metadata": {"source": "wiki/eiffel"},
    },
    {
        "id": "doc2",
        "content": "Paris is known for its museums, like the Louvre.",
        "metadata": {"source": "wiki/paris"},
    },
    {
        "id": "doc3",
        "content": "The primary programming language used in LLMCore is Python.",
        "metadata": {"source": "llmcore/readme"},
    },
]


async def main() -> None:
    async with LLMCore() as llm:
        print(f"Adding {len(DOCUMENTS)} documents to collection '{COLLECTION}'...")
        ids = await llm.add_documents_to_vector_store(DOCUMENTS, collection_name=COLLECTION)
        print(f"Added document IDs: {ids}")  # the same ids again replace, not duplicate

        query = "What language is used for LLMCore?"
        print(f"\nDirect search results for '{query}':")
        for doc in await llm.search_vector_store(query, k=1, collection_name=COLLECTION):
            print(f"- ID: {doc.id}, Score: {doc.score or 0:.4f}, Content: {doc.content[:50]}...")

        print("\n--- Chatting with RAG enabled ---")
        reply = await llm.chat(
            "What programming language is mentioned in the documents?",
            enable_rag=True,
            rag_collection_name=COLLECTION,
            rag_retrieval_k=1,
            system_message="Answer based *only* on the provided context documents.",
        )
        print(f"RAG Response: {reply}")


if __name__ == "__main__":
    try:
        anyio.run(main)
    except LLMCoreError as exc:
        sys.exit(f"Error: {exc}")
